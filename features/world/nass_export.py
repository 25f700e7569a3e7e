"""The world's yields and acreage as USDA NASS Quick Stats web-interface CSV exports.

Written as a user downloads them: display headers, values as text with thousands
separators, unpadded State and County ANSI, suppression codes in the Value column, and
"other" rows that are not counties: one "OTHER (COMBINED) COUNTIES" per agricultural
district up to 2019, one state-level "OTHER COUNTIES" row (district 99) from 2020, as
NASS published them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HEADER", "quickstats_rows", "state_planted_rows", "write_quickstats"]

HEADER = ["Program", "Year", "Period", "Week Ending", "Geo Level", "State", "State ANSI",
          "Ag District", "Ag District Code", "County", "County ANSI", "Zip Code", "Region",
          "watershed_code", "Watershed", "Commodity", "Data Item", "Domain",
          "Domain Category", "Value", "CV (%)"]
YIELD_ITEM = "CORN, GRAIN - YIELD, MEASURED IN BU / ACRE"
HARVESTED_ITEM = "CORN, GRAIN - ACRES HARVESTED"
PLANTED_ITEM = "CORN - ACRES PLANTED"
FIRST_STATE_LEVEL_OTHER_YEAR = 2020


def _number(value: float, decimals: int) -> str:
    """NASS display text: thousands separators, no trailing '.0'."""
    text = f"{value:,.{decimals}f}"
    return text[:-2] if decimals and text.endswith(".0") else text


def _row(year: int, state: str, state_ansi: str, district: str, district_code: str,
         county: str, county_ansi: str, item: str, value: str, cv: str,
         geo: str = "COUNTY", period: str = "YEAR") -> list[str]:
    return ["SURVEY", str(year), period, "", geo, state, state_ansi, district, district_code,
            county, county_ansi, "", "", "0", "", "CORN", item, "TOTAL", "NOT SPECIFIED",
            value, cv]


def quickstats_rows(counties: pd.DataFrame, rng: np.random.Generator) -> dict[str, list[list]]:
    """County yield and harvested-acres rows, with codes and "other" rows.

    Parameters
    ----------
    counties : DataFrame
        One row per county-year: ``year, state_name, state_ansi, ag_district,
        ag_district_code, county_name, county_ansi, yield, harvested_acres, code``
        where ``code`` is ``""``, ``"(D)"`` (withheld: folded into the "other" row) or
        ``"(NA)"`` (yield not available).
    rng : Generator
        Draws the published coefficients of variation.

    Returns
    -------
    dict
        ``{"yield": rows, "harvested": rows}`` without the header.
    """
    out: dict[str, list[list]] = {"yield": [], "harvested": []}
    frame = counties.copy()
    frame["production"] = frame["yield"] * frame["harvested_acres"]
    for (year, state), group in frame.groupby(["year", "state_name"], sort=True):
        state_ansi = group["state_ansi"].iloc[0]
        withheld = group[group["code"] == "(D)"]
        with_cv = year >= FIRST_STATE_LEVEL_OTHER_YEAR
        others = []
        if year >= FIRST_STATE_LEVEL_OTHER_YEAR:
            parts = [("", "99", withheld)] if len(withheld) else []
        else:
            parts = [(d, c, g) for (d, c), g in withheld.groupby(["ag_district",
                                                                  "ag_district_code"])]
        for district, code, part in parts:
            acres = part["harvested_acres"].sum()
            value = part["production"].sum() / acres
            county = "OTHER COUNTIES" if district == "" else "OTHER (COMBINED) COUNTIES"
            others.append((district, code, county, "", value, acres))
        listed = [
            (r.ag_district, r.ag_district_code, r.county_name, r.county_ansi, r.yield_,
             r.harvested_acres, r.code)
            for r in group.rename(columns={"yield": "yield_"}).itertuples()
        ]
        rows = [(*o, "") for o in others] + listed
        rows.sort(key=lambda r: (r[0] != "", r[0], r[2]))
        for district, code, county, ansi, value, acres, flag in rows:
            cv_yield = f"{rng.uniform(2, 15):.1f}" if with_cv and not flag else ""
            cv_acres = f"{rng.uniform(0.2, 8):.1f}" if with_cv and not flag else ""
            yield_text = f" {flag}" if flag else _number(value, 1)
            acres_text = " (D)" if flag == "(D)" else _number(acres, 0)
            out["yield"].append(_row(year, state, state_ansi, district, code, county, ansi,
                                     YIELD_ITEM, yield_text, cv_yield))
            out["harvested"].append(_row(year, state, state_ansi, district, code, county,
                                         ansi, HARVESTED_ITEM, acres_text, cv_acres))
    return out


def state_planted_rows(states: pd.DataFrame) -> list[list]:
    """State planted acres as the June Acreage report gives them.

    ``states`` has one row per state-year: ``year, state_name, state_ansi, planted_june``.
    """
    return [
        _row(r.year, r.state_name, r.state_ansi, "", "", "", "", PLANTED_ITEM,
             _number(r.planted_june, 0), "", geo="STATE", period="YEAR - JUN ACREAGE")
        for r in states.sort_values(["year", "state_name"]).itertuples()
    ]


def write_quickstats(rows: list[list], path: Path) -> None:
    """Write rows under the Quick Stats header, newest year first as the site exports."""
    ordered = sorted(rows, key=lambda r: -int(r[1]))  # stable: keeps state/district order
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(ordered)
