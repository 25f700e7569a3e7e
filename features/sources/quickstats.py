"""USDA NASS Quick Stats in its three shapes: web export CSV, API CSV/JSON, bulk TSV.gz.

All shapes are normalised to the API's lower-case column names, filtered to one commodity
and its annual survey series, and returned as three tidy tables:

- ``counties``: one row per county-year (``region_id`` = 5-character FIPS, ``year``), a
  column per series (``yield``, ``harvested_acres``, ``production``, ``planted_acres``)
  and beside each a ``<series>_code`` column holding the suppression code when NASS
  withheld the value (``(D)``, ``(NA)``, ...). A code is missing data, never 0.
- ``others``: the "OTHER (COMBINED) COUNTIES" rows (one per agricultural district) and the
  state-level "OTHER COUNTIES" rows (district 99), keyed by ``state_fips``, ``asd_code``,
  ``year``: they reconcile state totals and are never counties.
- ``states``: state and national series in long form, with ``reference_period`` (``YEAR``,
  ``YEAR - JUN ACREAGE``, ``YEAR - AUG FORECAST``, ...).

The bulk file (~1 GB gzipped) is streamed in chunks with the filters applied; it is never
loaded whole.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cropcast.errors import CropcastError

__all__ = [
    "API_COLUMNS",
    "CODES",
    "SERIES",
    "QuickStatsData",
    "QuickStatsSource",
    "parse_value",
    "parse_values",
    "read_quickstats",
]

# Suppression and flag codes NASS puts in the Value column.
CODES = ("(D)", "(Z)", "(NA)", "(X)", "(S)", "(H)", "(L)")
_NUMBER = re.compile(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")

# commodity -> series name -> short_desc
SERIES: dict[str, dict[str, str]] = {
    "CORN": {
        "yield": "CORN, GRAIN - YIELD, MEASURED IN BU / ACRE",
        "harvested_acres": "CORN, GRAIN - ACRES HARVESTED",
        "production": "CORN, GRAIN - PRODUCTION, MEASURED IN BU",
        "planted_acres": "CORN - ACRES PLANTED",
    },
    "SOYBEANS": {
        "yield": "SOYBEANS - YIELD, MEASURED IN BU / ACRE",
        "harvested_acres": "SOYBEANS - ACRES HARVESTED",
        "production": "SOYBEANS - PRODUCTION, MEASURED IN BU",
        "planted_acres": "SOYBEANS - ACRES PLANTED",
    },
}

# The 39 fields of an API record, in the API's order (the bulk file: upper case, CV_%).
API_COLUMNS = (
    "source_desc", "sector_desc", "group_desc", "commodity_desc", "class_desc",
    "prodn_practice_desc", "util_practice_desc", "statisticcat_desc", "unit_desc",
    "short_desc", "domain_desc", "domaincat_desc", "agg_level_desc", "state_ansi",
    "state_fips_code", "state_alpha", "state_name", "asd_code", "asd_desc", "county_ansi",
    "county_code", "county_name", "region_desc", "zip_5", "watershed_code", "watershed_desc",
    "congr_district_code", "country_code", "country_name", "location_desc", "year",
    "freq_desc", "begin_code", "end_code", "reference_period_desc", "week_ending",
    "load_time", "Value", "CV (%)",
)

# Web-export display headers -> API names.
_WEB_HEADERS = {
    "Program": "source_desc", "Year": "year", "Period": "reference_period_desc",
    "Week Ending": "week_ending", "Geo Level": "agg_level_desc", "State": "state_name",
    "State ANSI": "state_fips_code", "Ag District": "asd_desc",
    "Ag District Code": "asd_code", "County": "county_name", "County ANSI": "county_code",
    "Commodity": "commodity_desc", "Data Item": "short_desc", "Domain": "domain_desc",
    "Domain Category": "domaincat_desc", "Value": "value", "CV (%)": "cv",
}
_REQUIRED = ("year", "agg_level_desc", "state_fips_code", "county_code", "county_name",
             "commodity_desc", "short_desc", "value")
_OPTIONAL = ("source_desc", "reference_period_desc", "freq_desc", "domain_desc", "asd_code",
             "asd_desc", "state_name", "load_time", "cv")
_CHUNK_ROWS = 250_000
_FIRST_YEAR = 1850
_OTHER_COUNTY_CODES = {"998", "999", ""}


def parse_value(text: object) -> tuple[float, str | None]:
    """Parse one Quick Stats value.

    Parameters
    ----------
    text : object
        The Value field: a number with optional thousands separators (``"87,230"``), or a
        code such as ``"(D)"``, possibly padded with spaces.

    Returns
    -------
    tuple
        ``(value, None)`` for a number, ``(nan, code)`` for a code.

    Raises
    ------
    ValueError
        For anything else (empty text, words, malformed numbers).
    """
    stripped = str(text).strip() if text is not None else ""
    if stripped in CODES:
        return float("nan"), stripped
    if _NUMBER.fullmatch(stripped):
        return float(stripped.replace(",", "")), None
    raise ValueError(f"{text!r} is neither a number (e.g. 87,230 or 152.5) nor a Quick Stats "
                     f"code ({', '.join(CODES)})")


def parse_values(texts: pd.Series) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Vectorised :func:`parse_value`: values, codes (``<NA>`` for numbers), bad-row mask."""
    stripped = texts.astype("string").str.strip()
    is_code = stripped.isin(CODES)
    is_number = stripped.str.fullmatch(_NUMBER.pattern).fillna(False).astype(bool)
    numbers = pd.to_numeric(stripped.where(is_number).str.replace(",", "", regex=False),
                            errors="coerce")
    codes = stripped.where(is_code)
    bad = ~(is_code | is_number)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan), codes, bad


@dataclass
class QuickStatsData:
    """The tidy tables of one or more Quick Stats files (see the module docstring)."""

    counties: pd.DataFrame
    others: pd.DataFrame
    states: pd.DataFrame
    files: list[str] = field(default_factory=list)


def _fail(path: Path, line: object, message: str) -> CropcastError:
    where = f"{path}" + (f", {line}" if line is not None else "")
    return CropcastError(f"{where}: {message}")


def _shape(path: Path) -> str:
    """Which Quick Stats shape a file has: 'web', 'api_csv', 'api_json' or 'bulk'."""
    name = path.name.lower()
    if name.endswith(".json") or name.endswith(".json.gz"):
        return "api_json"
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise _fail(path, None, f"cannot be read ({error}); download it again or check the "
                                "path") from None
    if not header.strip():
        raise _fail(path, None, "is empty; expected a Quick Stats file with a header row")
    if "\t" in header and "SHORT_DESC" in header.upper():
        return "bulk"
    if "Data Item" in header:
        return "web"
    if "short_desc" in header:
        return "api_csv"
    raise _fail(path, "line 1", "is not a Quick Stats file: its header has none of 'Data "
                                "Item' (web export), 'short_desc' (API CSV) or tab-separated "
                                f"'SHORT_DESC' (bulk file); got {header.strip()[:120]!r}")


def _column_name(column: str, shape: str) -> str:
    """The API name of a column of a file of this shape."""
    if shape == "web":
        return _WEB_HEADERS.get(column, column)
    if shape == "bulk":
        return {"CV_%": "cv", "VALUE": "value"}.get(column, column.lower())
    return {"Value": "value", "CV (%)": "cv"}.get(column, column)


def _normalise_columns(frame: pd.DataFrame, shape: str) -> pd.DataFrame:
    return frame.rename(columns=lambda c: _column_name(c, shape))


def _check_columns(frame: pd.DataFrame, path: Path, shape: str) -> None:
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise _fail(path, "header", f"is missing the column(s) {missing} needed from a "
                                    f"Quick Stats {shape} file; found {list(frame.columns)[:25]}."
                                    " Check the delimiter and that the file was not edited")


def _chunks(path: Path, shape: str) -> Iterator[pd.DataFrame]:
    """Normalised chunks with a ``_line`` column (file line or JSON record number)."""
    try:
        if shape == "api_json":
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as handle:
                payload = json.load(handle)
            records = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(records, list):
                raise _fail(path, None, "is not a Quick Stats API JSON answer: expected "
                                        "{\"data\": [records...]}")
            frame = pd.DataFrame.from_records(records).astype("string")
            frame = _normalise_columns(frame, shape)
            _check_columns(frame, path, "API JSON")
            frame["_line"] = [f"record {i + 1}" for i in range(len(frame))]
            yield frame
            return
        wanted = set(_REQUIRED) | set(_OPTIONAL)
        reader = pd.read_csv(path, sep="\t" if shape == "bulk" else ",", dtype=str,
                             keep_default_na=False, chunksize=_CHUNK_ROWS,
                             encoding="utf-8-sig", compression="infer",
                             usecols=lambda c: _column_name(c, shape) in wanted)
        with reader:
            for chunk in reader:
                chunk = _normalise_columns(chunk, shape)
                _check_columns(chunk, path, shape)
                chunk["_line"] = [f"line {i + 2}" for i in chunk.index]
                yield chunk
    except CropcastError:
        raise
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError,
            pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise _fail(path, None, f"cannot be read ({type(error).__name__}: {error}); the file "
                                "looks truncated or corrupt: download it again") from None


def _filtered(frame: pd.DataFrame, commodity: str, wanted: dict[str, str]) -> pd.DataFrame:
    keep = (frame["commodity_desc"].str.strip().str.upper() == commodity) & frame[
        "short_desc"].isin(wanted)
    if "source_desc" in frame:
        keep &= frame["source_desc"].str.upper() == "SURVEY"
    if "domain_desc" in frame:
        keep &= frame["domain_desc"].str.upper() == "TOTAL"
    if "freq_desc" in frame:
        keep &= frame["freq_desc"].str.upper().isin(["ANNUAL", ""])
    keep &= frame["agg_level_desc"].str.upper().isin(["COUNTY", "STATE", "NATIONAL"])
    out = frame[keep].copy()
    for column in _OPTIONAL:
        if column not in out:
            out[column] = ""
    out["variable"] = out["short_desc"].map(wanted)
    return out


def _parse_rows(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    values, codes, bad = parse_values(frame["value"])
    if bad.any():
        row = frame[bad.to_numpy()].iloc[0]
        raise _fail(path, row["_line"], f"Value {row['value']!r} of {row['short_desc']!r} is "
                                        f"neither a number nor a Quick Stats code "
                                        f"({', '.join(CODES)}); fix or remove the row")
    frame = frame.assign(value=values, code=codes.to_numpy())
    years = pd.to_numeric(frame["year"].str.strip(), errors="coerce")
    this_year = dt.date.today().year
    wrong = years.isna() | (years < _FIRST_YEAR) | (years > this_year) | (years % 1 != 0)
    if wrong.any():
        row = frame[wrong.to_numpy()].iloc[0]
        raise _fail(path, row["_line"], f"Year {row['year']!r} is not a year between "
                                        f"{_FIRST_YEAR} and {this_year}")
    frame["year"] = years.astype(int)
    state = frame["state_fips_code"].str.strip()
    level = frame["agg_level_desc"].str.upper()
    bad_state = ~state.str.fullmatch(r"\d{1,2}") & (level != "NATIONAL")
    if bad_state.any():
        row = frame[bad_state.to_numpy()].iloc[0]
        raise _fail(path, row["_line"], f"state code {row['state_fips_code']!r} is not a "
                                        "1-2 digit FIPS code")
    frame["state_fips"] = np.where(level == "NATIONAL", "US", state.str.zfill(2))
    frame["level"] = level.str.lower()
    frame["reference_period"] = frame["reference_period_desc"].str.strip().str.upper().replace(
        "", "YEAR")
    return frame


def _county_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split county-level rows into counties and "other" rows (never counties)."""
    county = frame["county_code"].str.strip()
    name = frame["county_name"].str.strip().str.upper()
    other = name.str.startswith("OTHER") | county.isin(_OTHER_COUNTY_CODES - {""})
    bad = ~other & ~county.str.fullmatch(r"\d{1,3}")
    if bad.any():
        row = frame[bad.to_numpy()].iloc[0]
        raise _fail(Path(row["_file"]), row["_line"],
                    f"county code {row['county_code']!r} of {row['county_name']!r} is not a "
                    "1-3 digit FIPS code (only OTHER rows may have none)")
    frame = frame.assign(region_id=frame["state_fips"] + county.str.zfill(3))
    annual = frame["reference_period"] == "YEAR"
    return frame[~other & annual], frame[other & annual]


def _resolve_duplicates(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Resolve repeated records of one key, group by group.

    Identical repeats collapse. Differing records resolve to the latest ``load_time`` when
    every one of them has a readable stamp and the latest is unique; anything else (no
    stamp, an unreadable stamp, a tie) is an error naming both rows.
    """
    if frame.empty:
        return frame
    frame = frame[~frame.duplicated([*key, "value", "code"], keep="first")]
    dup = frame.duplicated(key, keep=False)
    if not dup.any():
        return frame
    repeated = frame[dup]
    stamp = pd.to_datetime(repeated["load_time"].str.strip().replace("", pd.NA),
                           errors="coerce", format="mixed")
    unreadable = stamp.isna() & repeated["load_time"].str.strip().ne("")
    if unreadable.any():
        row = repeated[unreadable.to_numpy()].iloc[0]
        raise CropcastError(f"{row['_file']}, {row['_line']}: load_time "
                            f"{row['load_time']!r} is not a date and time; fix or remove it")
    repeated = repeated.assign(_stamp=stamp)
    groups = [repeated[k] for k in key]
    latest = repeated.groupby(groups, sort=False)["_stamp"].transform("max")
    is_latest = repeated["_stamp"] == latest
    undated = repeated["_stamp"].isna().groupby(groups, sort=False).transform("any")
    winners = is_latest.groupby(groups, sort=False).transform("sum")
    bad = undated | (winners > 1)
    if bad.any():
        first_bad = repeated[bad.to_numpy()].iloc[0]
        same = (repeated[key] == first_bad[key]).all(axis=1).to_numpy()
        group = repeated[same]
        first, second = group.iloc[0], group.iloc[1]
        why = ("they have the same load_time" if group["_stamp"].notna().all() else
               "files without load_time cannot tell which is newer")
        raise CropcastError(
            f"conflicting duplicate records for {second['variable']} of "
            f"{'/'.join(str(second[k]) for k in key if k != 'variable')}: "
            f"{first['_file']}, {first['_line']} says {_shown(first)} but "
            f"{second['_file']}, {second['_line']} says {_shown(second)}; keep one of "
            f"them ({why})")
    return pd.concat([frame[~dup], repeated[is_latest.to_numpy()].drop(columns="_stamp")])


def _shown(row: pd.Series) -> str:
    return str(row["code"]) if pd.notna(row["code"]) else f"{row['value']:g}"


def _wide(frame: pd.DataFrame, key: list[str], variables: Sequence[str]) -> pd.DataFrame:
    if frame.empty:
        columns = key + [c for v in variables for c in (v, f"{v}_code")]
        return pd.DataFrame(columns=columns)
    values = frame.pivot(index=key, columns="variable", values="value")
    codes = frame.pivot(index=key, columns="variable", values="code")
    out = pd.DataFrame(index=values.index)
    for variable in variables:
        out[variable] = values[variable] if variable in values else np.nan
        out[f"{variable}_code"] = (codes[variable] if variable in codes
                                   else pd.Series(pd.NA, index=out.index)).astype("string")
    return out.reset_index()


def read_quickstats(paths: Path | str | Sequence[Path | str], commodity: str = "CORN",
                    series: dict[str, str] | None = None) -> QuickStatsData:
    """Read Quick Stats files of any shape into tidy county, other and state tables.

    Parameters
    ----------
    paths : path or list of paths
        Web-export CSVs, API CSV/JSON answers or bulk ``qs.*.txt.gz`` files, in any mix
        (e.g. one export for yield and one for harvested acres).
    commodity : str
        ``commodity_desc`` to keep (``CORN``, ``SOYBEANS`` or any with ``series`` given).
    series : dict, optional
        ``{series name: short_desc}``; defaults to :data:`SERIES` for the commodity.

    Returns
    -------
    QuickStatsData

    Raises
    ------
    CropcastError
        For a missing, unreadable or malformed file, naming the file, line and value.
    """
    commodity = commodity.strip().upper()
    wanted_by_name = series or SERIES.get(commodity)
    if not wanted_by_name:
        raise CropcastError(f"commodity {commodity!r} has no built-in series; choose one of "
                            f"{sorted(SERIES)} or give series={{name: short_desc}}")
    wanted = {desc: name for name, desc in wanted_by_name.items()}
    paths = [Path(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    if not paths:
        raise CropcastError("no Quick Stats files given; set the paths of your downloads")
    parts: list[pd.DataFrame] = []
    for path in paths:
        if not path.is_file():
            raise CropcastError(f"{path}: no such file; check the path in your data config")
        shape = _shape(path)
        for chunk in _chunks(path, shape):
            kept = _filtered(chunk, commodity, wanted)
            if len(kept):
                parts.append(_parse_rows(kept, path).assign(_file=str(path)))
    if not parts:
        raise CropcastError(
            f"none of {[str(p) for p in paths]} holds {commodity} rows of the series "
            f"{sorted(wanted)} (annual SURVEY, domain TOTAL); check the commodity and files")
    rows = pd.concat(parts, ignore_index=True)
    variables = list(wanted_by_name)

    county_level = rows[rows["level"] == "county"]
    counties, others = _county_rows(county_level)
    counties = _resolve_duplicates(counties, ["variable", "region_id", "year"])
    names = _county_names(counties)
    counties = _wide(counties, ["region_id", "year"], variables).merge(names, on="region_id",
                                                                       how="left")
    others = others.assign(asd_code=others["asd_code"].str.strip(),
                           county_name=others["county_name"].str.strip().str.upper())
    others = _resolve_duplicates(others, ["variable", "state_fips", "asd_code", "county_name",
                                          "year"])
    others = _wide(others, ["state_fips", "asd_code", "county_name", "year"], variables)

    states = rows[rows["level"] != "county"]
    states = _resolve_duplicates(states, ["variable", "state_fips", "year", "reference_period"])
    states = states[["state_fips", "year", "reference_period", "variable", "value", "code"]]
    states = states.astype({"code": "string"}).sort_values(
        ["state_fips", "year", "reference_period", "variable"], ignore_index=True)
    counties = counties.sort_values(["region_id", "year"], ignore_index=True)
    others = others.sort_values(["state_fips", "year", "asd_code"], ignore_index=True)
    return QuickStatsData(counties, others, states, [str(p) for p in paths])


def _county_names(counties: pd.DataFrame) -> pd.DataFrame:
    """region_id -> state_fips, county_name, asd_code (the most recent row's)."""
    latest = counties.sort_values("year").drop_duplicates("region_id", keep="last")
    return latest[["region_id", "state_fips", "county_name", "asd_code"]].assign(
        county_name=lambda f: f["county_name"].str.strip().str.upper(),
        asd_code=lambda f: f["asd_code"].str.strip())


@dataclass
class QuickStatsSource:
    """A configured set of Quick Stats files (``_target_`` of a data config).

    Parameters
    ----------
    paths : list of str
        The files (any shape, any mix).
    commodity : str
        ``CORN`` (default) or ``SOYBEANS``, or any other with ``series``.
    series : dict, optional
        ``{name: short_desc}`` overriding the built-in series of the commodity.
    """

    paths: list[str]
    commodity: str = "CORN"
    series: dict[str, str] | None = None

    def load(self) -> QuickStatsData:
        """Read and validate the files."""
        return read_quickstats(self.paths, self.commodity, self.series)
