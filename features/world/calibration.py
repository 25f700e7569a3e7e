"""County calibration of the simulated world, derived from real USDA NASS history.

The world's yield levels, technology trends, corn acreage and agricultural districts come
from a small table shipped with the package (``data/county_calibration.csv``, ~3,000 rows).
It is rebuilt from the NASS files in ``../shared/data/nass/`` with::

    python -m cropcast.features.world.calibration ../shared/data/nass \
        features/world/data/county_calibration.csv
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from cropcast.regions import county_state_fips

__all__ = ["TREND_REFERENCE_YEAR", "build_calibration_table", "load_calibration_table"]

TREND_REFERENCE_YEAR = 2016
_TREND_YEARS = (1995, 2025)
_ACRE_YEARS = (2008, 2025)
# Prior weight, in years of record, of the state trend slope on a county's slope.
_SLOPE_SHRINKAGE_YEARS = 10
_COLUMNS = ["region_id", "state_fips", "level_bu_ac", "slope_bu_ac_yr", "residual_sd_bu_ac",
            "n_years", "mean_harvested_ac", "ag_district", "ag_district_code"]


def _county_trends(history: pd.DataFrame) -> pd.DataFrame:
    """Least-squares line of yield on year per county, slope shrunk to the state's."""
    h = history[history["year"].between(*_TREND_YEARS) & history["yield_bu_ac"].notna()].copy()
    h["t"] = h["year"] - TREND_REFERENCE_YEAR

    def fit(group: pd.DataFrame) -> pd.Series:
        t, y = group["t"].to_numpy(float), group["yield_bu_ac"].to_numpy(float)
        if len(t) < 3 or np.ptp(t) == 0:
            return pd.Series({"level": np.nan, "slope": np.nan, "sd": np.nan, "n": len(t)})
        slope, level = np.polyfit(t, y, 1)
        sd = float(np.std(y - (level + slope * t), ddof=2)) if len(t) > 2 else np.nan
        return pd.Series({"level": level, "slope": slope, "sd": sd, "n": len(t)})

    counties = h.groupby("fips")[["t", "yield_bu_ac"]].apply(fit)
    counties["state_fips"] = county_state_fips(counties.index.to_series()).to_numpy()
    states = h.groupby(county_state_fips(h["fips"]))[["t", "yield_bu_ac"]].apply(fit)
    prior = counties["state_fips"].map(states["slope"])
    n = counties["n"]
    counties["slope"] = (n * counties["slope"] + _SLOPE_SHRINKAGE_YEARS * prior) / (
        n + _SLOPE_SHRINKAGE_YEARS
    )
    return counties


def _districts(export_csv: Path) -> pd.DataFrame:
    """County -> agricultural district (name and code) from a Quick Stats web export."""
    df = pd.read_csv(export_csv, dtype=str, keep_default_na=False)
    df = df[(df["County ANSI"] != "") & (df["Ag District"] != "")]
    df["region_id"] = df["State ANSI"].str.zfill(2) + df["County ANSI"].str.zfill(3)
    df = df.sort_values("Year").drop_duplicates("region_id", keep="last")
    return df.set_index("region_id")[["Ag District", "Ag District Code"]].rename(
        columns={"Ag District": "ag_district", "Ag District Code": "ag_district_code"}
    )


def build_calibration_table(nass_dir: Path) -> pd.DataFrame:
    """Build the calibration table from the shared NASS files.

    Parameters
    ----------
    nass_dir : Path
        Folder holding ``nass_county_corn_grain_1926_2025.csv`` and the Quick Stats
        export ``quickstats_export_county_corn_yield_2012_2021.csv``.

    Returns
    -------
    DataFrame
        One row per county: ``region_id, state_fips, level_bu_ac`` (trend yield in
        2016), ``slope_bu_ac_yr, residual_sd_bu_ac, n_years, mean_harvested_ac,
        ag_district, ag_district_code``.
    """
    history = pd.read_csv(nass_dir / "nass_county_corn_grain_1926_2025.csv",
                          dtype={"fips": str, "state_fips": str, "county_code": str})
    trends = _county_trends(history)
    recent = history[history["year"].between(*_ACRE_YEARS)]
    acres = recent.groupby("fips")["area_harvested_ac"].mean()
    table = trends.join(acres.rename("mean_harvested_ac"), how="outer")
    table["state_fips"] = county_state_fips(table.index.to_series()).to_numpy()
    table = table.join(_districts(nass_dir / "quickstats_export_county_corn_yield_2012_2021.csv"))
    table = table.rename(columns={"level": "level_bu_ac", "slope": "slope_bu_ac_yr",
                                  "sd": "residual_sd_bu_ac", "n": "n_years"})
    table.index.name = "region_id"
    table = table.reset_index()[_COLUMNS].sort_values("region_id", ignore_index=True)
    for column in ("level_bu_ac", "slope_bu_ac_yr", "residual_sd_bu_ac", "mean_harvested_ac"):
        table[column] = table[column].round(3)
    table["n_years"] = table["n_years"].fillna(0).astype(int)
    return table


def load_calibration_table() -> pd.DataFrame:
    """The calibration table shipped with the package (see :func:`build_calibration_table`)."""
    source = resources.files("cropcast.features.world") / "data" / "county_calibration.csv"
    with source.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={"region_id": str, "state_fips": str,
                                          "ag_district": str, "ag_district_code": str},
                           keep_default_na=False, na_values=[""])


if __name__ == "__main__":  # pragma: no cover - maintenance script
    nass, out = Path(sys.argv[1]), Path(sys.argv[2])
    build_calibration_table(nass).to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
