"""Generic tables: yields, region-level time series, precomputed features (CSV or Parquet).

What a user brings from their own Earth Engine exports or a peer benchmark. Region ids are
strings of any administrative level (read as text, so "01001" keeps its zero); years are
integers; dates are ISO (``2019-07-12``) or ``YYYYMMDD``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cropcast.checks import check_int
from cropcast.errors import CropcastError

__all__ = [
    "BUSHEL_KG",
    "FeatureTable",
    "RegionTimeSeries",
    "YieldTable",
    "read_table",
]

# Kilograms in a bushel, by commodity: 1 bu/ac of corn = 25.4012 kg / 4046.86 m2 = 0.0628 t/ha.
BUSHEL_KG = {"CORN": 25.40117272, "SOYBEANS": 27.21554, "WHEAT": 27.21554}
_ACRE_HA = 0.40468564224
UNITS = ("bu/ac", "t/ha")


def read_table(path: str | Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a CSV or Parquet table, keeping every column as written (text for CSV).

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    columns : dict
        ``{role: column name}`` that must be present (roles name them in errors).

    Returns
    -------
    DataFrame
        The table; CSV columns as text, Parquet columns as stored.

    Raises
    ------
    CropcastError
        For a missing, unreadable or unknown-format file, or missing columns.
    """
    path = Path(path)
    if not path.is_file():
        raise CropcastError(f"{path}: no such file; check the path in your data config")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            table = pd.read_parquet(path)
        elif ".csv" in suffixes or suffixes.endswith(".txt"):
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            raise CropcastError(f"{path}: unknown table format {suffixes or '(no suffix)'!r};"
                                " use .csv, .csv.gz or .parquet")
    except CropcastError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, ValueError,
            pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise CropcastError(f"{path}: cannot be read ({type(error).__name__}: {error}); check "
                            "that it is a complete CSV or Parquet file") from None
    missing = {role: name for role, name in columns.items() if name not in table.columns}
    if missing:
        found = list(table.columns)[:20]
        hint = " (one column only: is the delimiter ';' or a tab?)" if len(found) == 1 else ""
        raise CropcastError(
            f"{path}: missing column(s) {missing} (setting: name); found {found}{hint}. "
            "Set the column names in the data config, e.g. region_column=GEOID")
    return table


def _line(table: pd.DataFrame, position: int, path: Path) -> str:
    kind = "row" if "".join(path.suffixes).lower().endswith(".parquet") else "line"
    return f"{kind} {position + (2 if kind == 'line' else 1)}"


def _region_ids(table: pd.DataFrame, column: str, path: Path, width: int | None) -> pd.Series:
    raw = table[column]
    if raw.dtype.kind in "if":
        raise CropcastError(
            f"{path}: column {column!r} holds numbers, not text: region ids such as '01001' "
            "lose their leading zeros that way. Store them as text (quote them, or write the "
            "Parquet column as string)")
    ids = raw.astype("string").str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        position = int(np.flatnonzero(empty.to_numpy())[0])
        raise CropcastError(f"{path}, {_line(table, position, path)}: empty region id in "
                            f"column {column!r}")
    if width is not None:
        short = ids.str.len() != width
        if short.any():
            position = int(np.flatnonzero(short.to_numpy())[0])
            value = ids.iloc[position]
            hint = (f"; it looks like {value.zfill(width)!r} lost its leading zero(s) (a "
                    "spreadsheet does that): restore them, or set pad_region_id=true"
                    if value.isdigit() and len(value) < width else "")
            raise CropcastError(f"{path}, {_line(table, position, path)}: region id {value!r} "
                                f"in {column!r} is not {width} characters{hint}")
    return ids


def _numbers(table: pd.DataFrame, column: str, path: Path, what: str) -> np.ndarray:
    raw = table[column]
    if raw.dtype.kind in "if":
        return raw.to_numpy(dtype=np.float64)
    text = raw.astype("string").str.strip()
    values = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
    bad = values.isna() & text.ne("") & text.notna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise CropcastError(f"{path}, {_line(table, position, path)}: {what} "
                            f"{text.iloc[position]!r} in column {column!r} is not a number")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _years(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    years = _numbers(table, column, path, "year")
    this_year = dt.date.today().year
    bad = np.isnan(years) | (years % 1 != 0) | (years < 1850) | (years > this_year)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise CropcastError(f"{path}, {_line(table, position, path)}: year "
                            f"{table[column].iloc[position]!r} is not a year between 1850 and "
                            f"{this_year}")
    return years.astype(int)


def _check_unique(frame: pd.DataFrame, key: list[str], path: Path) -> None:
    repeated = frame.duplicated(key, keep="first")
    if repeated.any():
        second = int(np.flatnonzero(repeated.to_numpy())[0])
        value = tuple(frame[k].iloc[second] for k in key)
        same = (frame[key] == pd.Series(value, index=key)).all(axis=1).to_numpy()
        first = int(np.flatnonzero(same)[0])
        raise CropcastError(
            f"{path}: duplicate key {dict(zip(key, map(str, value), strict=True))} at "
            f"{_line(frame, first, path)} and {_line(frame, second, path)}; keep one row per "
            "key")


def _conversion(units: str, output_units: str, commodity: str) -> float:
    for name, value in (("units", units), ("output_units", output_units)):
        if value not in UNITS:
            raise CropcastError(f"{name} must be one of {list(UNITS)}; got {value!r}")
    if units == output_units:
        return 1.0
    kg = BUSHEL_KG.get(commodity.upper())
    if kg is None:
        raise CropcastError(f"converting {units} to {output_units} needs the bushel weight of "
                            f"{commodity!r}; known: {sorted(BUSHEL_KG)}")
    bu_ac_in_t_ha = kg / 1000 / _ACRE_HA
    return bu_ac_in_t_ha if units == "bu/ac" else 1 / bu_ac_in_t_ha


@dataclass
class YieldTable:
    """A yields table: region id, year, yield, optional harvested area.

    Parameters
    ----------
    path : str
        CSV or Parquet file.
    region_column, year_column, yield_column : str
        Column names in the file.
    area_column : str, optional
        Harvested area column, returned as ``harvested_acres`` (the name Quick Stats and the
        roll-up to states use) in the file's own units, not converted: acres for US data.
    units : {"bu/ac", "t/ha"}
        Units of the yield column in the file.
    output_units : {"bu/ac", "t/ha"}
        Units cropcast works in (bu/ac for US corn); the conversion is explicit.
    commodity : str
        Sets the bushel weight for the conversion (corn: 1 bu/ac = 0.0628 t/ha).
    region_id_width : int, optional
        Expected length of every region id (5 for US county FIPS).
    pad_region_id : bool
        Left-pad numeric ids with zeros to ``region_id_width`` instead of failing.
    first_year : int, optional
        Keep the seasons from this year on (e.g. 1990 for a modern-era trend).
    zero_yield_without_area : {"missing", "keep", "error"}
        What a yield of exactly 0 with no harvested area (missing or 0) is. Such rows are
        "not published" placeholders in NASS-derived county files, not crop failures
        (a failed crop has no harvested acres, so no yield). ``missing`` (default with
        ``area_column``) reads them as NaN and counts them in ``placeholder_rows_``;
        ``keep`` keeps the 0; ``error`` refuses the file naming the first row. Without
        ``area_column`` zeros are kept.
    """

    path: str
    region_column: str = "region_id"
    year_column: str = "year"
    yield_column: str = "yield"
    area_column: str | None = None
    units: str = "bu/ac"
    output_units: str = "bu/ac"
    commodity: str = "CORN"
    region_id_width: int | None = None
    pad_region_id: bool = False
    first_year: int | None = None
    zero_yield_without_area: str = "missing"
    placeholder_rows_: int = field(default=0, init=False, repr=False)

    def load(self) -> pd.DataFrame:
        """``region_id, year, yield`` (and ``harvested_acres``) in ``output_units``."""
        path = Path(self.path)
        factor = _conversion(self.units, self.output_units, self.commodity)
        columns = {"region_column": self.region_column, "year_column": self.year_column,
                   "yield_column": self.yield_column}
        if self.area_column:
            columns["area_column"] = self.area_column
        table = read_table(path, columns)
        if self.pad_region_id and not self.region_id_width:
            raise CropcastError("pad_region_id=true needs region_id_width (e.g. 5 for US "
                                "county FIPS): the width to pad to")
        check_int(self.region_id_width, "region_id_width", 1, allow_none=True,
                  hint="5 for US county FIPS, null for ids of any width")
        if self.pad_region_id:
            table[self.region_column] = table[self.region_column].astype("string").str.strip(
            ).str.zfill(self.region_id_width)
        out = pd.DataFrame({
            "region_id": _region_ids(table, self.region_column, path, self.region_id_width),
            "year": _years(table, self.year_column, path),
            "yield": _numbers(table, self.yield_column, path, "yield") * factor,
        })
        if self.area_column:
            out["harvested_acres"] = _numbers(table, self.area_column, path, "area")
        wrong = (out["yield"] < 0) | np.isinf(out["yield"])
        if wrong.any():
            position = int(np.flatnonzero(wrong.to_numpy())[0])
            raise CropcastError(f"{path}, {_line(table, position, path)}: yield "
                                f"{table[self.yield_column].iloc[position]!r} is negative or "
                                "infinite")
        out = self._placeholders(out, table, path)
        if self.first_year is not None:
            check_int(self.first_year, "first_year", allow_none=True,
                      hint="a year such as 1990, or null for every season")
            out = out[out["year"] >= self.first_year]
        _check_unique(out, ["region_id", "year"], path)
        return out.sort_values(["region_id", "year"], ignore_index=True)

    def _placeholders(self, out: pd.DataFrame, table: pd.DataFrame,
                      path: Path) -> pd.DataFrame:
        """Zero yields without harvested area: NaN, kept or refused (see the class)."""
        rule = self.zero_yield_without_area
        if rule not in ("missing", "keep", "error"):
            raise CropcastError(f"zero_yield_without_area must be one of ['missing', 'keep', "
                                f"'error']; got {rule!r}")
        if not self.area_column or rule == "keep":
            return out
        area = out["harvested_acres"]
        placeholder = (out["yield"] == 0) & (area.isna() | (area == 0))
        if placeholder.any() and rule == "error":
            position = int(np.flatnonzero(placeholder.to_numpy())[0])
            raise CropcastError(
                f"{path}, {_line(table, position, path)}: yield 0 with no harvested area "
                f"({self.area_column!r} empty or 0) for region {out['region_id'].iloc[position]!r} "
                f"{int(out['year'].iloc[position])}: a 'not published' placeholder, not a crop "
                "failure; set zero_yield_without_area=missing to read such rows as missing")
        self.placeholder_rows_ = int(placeholder.sum())
        return out.assign(**{"yield": out["yield"].mask(placeholder)})


def _dates(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = table[column].astype("string").str.strip()
    compact = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
    iso = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
    parsed = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    parsed[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    parsed[iso] = pd.to_datetime(text[iso], format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() | (parsed > pd.Timestamp(dt.date.today()))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise CropcastError(f"{path}, {_line(table, position, path)}: date "
                            f"{text.iloc[position]!r} in {column!r} is not a past date as "
                            "YYYY-MM-DD or YYYYMMDD")
    return parsed


@dataclass
class RegionTimeSeries:
    """A region-level time series (an Earth Engine ``reduceRegions`` export, a peer set).

    Parameters
    ----------
    path : str
        CSV or Parquet file.
    value_columns : list of str
        The value columns to keep (e.g. ``[NDVI, EVI]``).
    region_column, date_column : str
        Column names in the file.
    name : str
        A name for reports (e.g. ``modis_ndvi``).
    """

    path: str
    value_columns: list[str] = field(default_factory=list)
    region_column: str = "region_id"
    date_column: str = "date"
    name: str = "series"

    def load(self) -> pd.DataFrame:
        """``region_id, date, year`` and the value columns (float)."""
        path = Path(self.path)
        if isinstance(self.value_columns, str):
            self.value_columns = [self.value_columns]
        if not self.value_columns:
            raise CropcastError(f"{path}: value_columns is empty; name the value columns to "
                                "read, e.g. value_columns=[NDVI]")
        columns = {"region_column": self.region_column, "date_column": self.date_column}
        columns |= {f"value_columns[{i}]": c for i, c in enumerate(self.value_columns)}
        table = read_table(path, columns)
        out = pd.DataFrame({"region_id": _region_ids(table, self.region_column, path, None),
                            "date": _dates(table, self.date_column, path)})
        out["year"] = out["date"].dt.year.astype(int)
        for column in self.value_columns:
            out[column] = _numbers(table, column, path, "value")
        _check_unique(out, ["region_id", "date"], path)
        return out.sort_values(["region_id", "date"], ignore_index=True)


@dataclass
class FeatureTable:
    """Precomputed features per region-year: no dates, so end-of-season runs only.

    Parameters
    ----------
    path : str
        CSV or Parquet file.
    region_column, year_column : str
        Column names; every other column is a feature.
    name : str
        A name for reports.
    """

    path: str
    region_column: str = "region_id"
    year_column: str = "year"
    name: str = "features"

    def load(self) -> pd.DataFrame:
        """``region_id, year`` and the feature columns (float)."""
        path = Path(self.path)
        table = read_table(path, {"region_column": self.region_column,
                                  "year_column": self.year_column})
        out = pd.DataFrame({"region_id": _region_ids(table, self.region_column, path, None),
                            "year": _years(table, self.year_column, path)})
        for column in table.columns:
            if column not in (self.region_column, self.year_column):
                out[column] = _numbers(table, column, path, "feature value")
        _check_unique(out, ["region_id", "year"], path)
        return out.sort_values(["region_id", "year"], ignore_index=True)

    def require_end_of_season(self, as_of: dt.date | None) -> None:
        """Refuse an in-season as-of date: the table cannot say when its values were known.

        Raises
        ------
        CropcastError
            When ``as_of`` is given: only end-of-season runs (``as_of=None``) may use it.
        """
        if as_of is not None:
            raise CropcastError(
                f"feature table {self.name!r} ({self.path}) has no dates, so it cannot be "
                f"filtered to what was known on {as_of}; use it for end-of-season runs only "
                "(as_of=end), or supply a dated region time series instead")
