"""Our state forecasts beside USDA's monthly Crop Production forecasts (August-November).

USDA NASS forecasts the corn yield of each major state in the Crop Production reports of
August, September, October and November, around the 10th-12th of the month; Quick Stats
publishes them with reference periods ``YEAR - AUG FORECAST`` ... ``YEAR - NOV FORECAST``
(read into :attr:`cropcast.features.sources.quickstats.QuickStatsData.states`). The fair
comparison pits each USDA forecast against ours from the latest forecast date on or
before its release, both scored against the same final yield.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cropcast.checks import require_columns
from cropcast.days import month_day
from cropcast.errors import CropcastError

__all__ = ["USDA_RELEASES", "compare_with_usda", "usda_forecasts", "usda_summary"]

# Release day (MM-DD) of each month's Crop Production report: the usual day; the exact
# one moves by a few days from year to year, so pass the real calendar when it matters.
USDA_RELEASES = {"AUG": "08-12", "SEP": "09-12", "OCT": "10-10", "NOV": "11-09"}

COMPARISON_COLUMNS = [
    "model", "region_id", "year", "usda_month", "usda_release", "usda_forecast",
    "forecast_date", "y_pred", "y_final", "final_source", "usda_error_pct", "error_pct",
]


def usda_forecasts(states: pd.DataFrame | None, variable: str = "yield") -> pd.DataFrame:
    """USDA's in-season state forecasts of ``variable`` from a Quick Stats states table.

    Parameters
    ----------
    states : DataFrame or None
        ``state_fips, year, reference_period, variable, value`` (Quick Stats ``states``).
    variable : str
        The series (``yield``, bu/acre).

    Returns
    -------
    DataFrame
        ``region_id`` (state FIPS or ``US``), ``year``, ``usda_month`` (``AUG`` ...),
        ``usda_forecast``; empty when the table has no forecast rows.
    """
    columns = ["region_id", "year", "usda_month", "usda_forecast"]
    if states is None or states.empty:
        return pd.DataFrame(columns=columns)
    require_columns(states, ("state_fips", "year", "reference_period", "variable", "value"),
                    "usda_forecasts", "states", hint="pass QuickStatsData.states")
    month = states["reference_period"].astype(str).str.extract(
        r"^YEAR - ([A-Z]{3}) FORECAST$", expand=False)
    wanted = month.notna() & (states["variable"] == variable) & states["value"].notna()
    rows = states.assign(usda_month=month)[wanted]
    return pd.DataFrame({
        "region_id": rows["state_fips"].astype(str), "year": rows["year"].astype("int64"),
        "usda_month": rows["usda_month"].astype(str),
        "usda_forecast": rows["value"].astype("float64"),
    }).reset_index(drop=True)


def _finals(aggregated: pd.DataFrame, states: pd.DataFrame | None,
            variable: str) -> pd.DataFrame:
    """The final yield per state-year: USDA's published annual value, else ours."""
    ours = aggregated.groupby(["region_id", "year"], as_index=False)["y_true"].first()
    ours = ours.rename(columns={"y_true": "y_final"}).assign(final_source="counties")
    if states is None or states.empty:
        return ours
    annual = states[(states["reference_period"] == "YEAR") & (states["variable"] == variable)
                    & states["value"].notna()]
    usda = pd.DataFrame({"region_id": annual["state_fips"].astype(str),
                         "year": annual["year"].astype("int64"),
                         "y_final": annual["value"].astype("float64"), "final_source": "usda"})
    merged = ours.merge(usda, on=["region_id", "year"], how="left", suffixes=("_ours", ""))
    use_usda = merged["y_final"].notna()
    merged["y_final"] = merged["y_final"].where(use_usda, merged["y_final_ours"])
    merged["final_source"] = merged["final_source"].where(use_usda, merged["final_source_ours"])
    return merged[["region_id", "year", "y_final", "final_source"]]


def compare_with_usda(aggregated: pd.DataFrame, states: pd.DataFrame | None,
                      releases: Mapping[str, str] = USDA_RELEASES,
                      variable: str = "yield") -> pd.DataFrame:
    """Each USDA state forecast beside ours from the latest forecast date before its release.

    Parameters
    ----------
    aggregated : DataFrame
        State aggregates of a backtest: ``model, forecast_date`` (``MM-DD``; ``end`` is
        never used), ``region_id`` (state FIPS), ``year, y_pred, y_true`` (bu/acre).
    states : DataFrame or None
        The Quick Stats states table holding USDA's forecasts and final values.
    releases : mapping of str to str
        Release day ``MM-DD`` of each forecast month (default :data:`USDA_RELEASES`).
    variable : str
        The series compared (``yield``).

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`, one row per model and USDA forecast that has one of
        ours before it; errors in % of the final yield (USDA's annual value when
        published, else the one rebuilt from county yields: ``final_source``). Empty
        when the data holds no USDA forecasts.
    """
    for month, day in releases.items():
        try:
            month_day(day)
        except ValueError:
            raise CropcastError(f"usda_releases.{month} must be a day MM-DD, e.g. '08-12'; "
                                f"got {day!r}") from None
    usda = usda_forecasts(states, variable)
    usda = usda[usda["region_id"].isin(aggregated["region_id"].astype(str).unique())]
    unknown = sorted(set(usda["usda_month"]) - set(releases))
    if unknown:
        raise CropcastError(f"compare_with_usda: no release day for USDA forecast months "
                            f"{unknown}; pass releases={{month: 'MM-DD'}} for them")
    if usda.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    usda = usda.assign(usda_release=usda["usda_month"].map(dict(releases)))
    ours = aggregated[aggregated["forecast_date"] != "end"].astype({"region_id": "str"})
    rows = []
    for (model, region, year), group in ours.groupby(["model", "region_id", "year"]):
        group = group.sort_values("forecast_date")
        wanted = usda[(usda["region_id"] == region) & (usda["year"] == year)]
        for forecast in wanted.itertuples(index=False):
            before = group[group["forecast_date"] <= forecast.usda_release]
            if before.empty:
                continue
            last = before.iloc[-1]
            rows.append({"model": model, "region_id": region, "year": int(year),
                         "usda_month": forecast.usda_month,
                         "usda_release": forecast.usda_release,
                         "usda_forecast": forecast.usda_forecast,
                         "forecast_date": last["forecast_date"], "y_pred": last["y_pred"]})
    if not rows:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    table = pd.DataFrame(rows).merge(_finals(aggregated.astype({"region_id": "str"}), states,
                                             variable), on=["region_id", "year"], how="left")
    table["usda_error_pct"] = 100 * (table["usda_forecast"] - table["y_final"]) / table["y_final"]
    table["error_pct"] = 100 * (table["y_pred"] - table["y_final"]) / table["y_final"]
    table["order"] = table["usda_month"].map({m: i for i, m in enumerate(releases)})
    table = table.sort_values(["model", "order", "region_id", "year"], ignore_index=True)
    return table[COMPARISON_COLUMNS]


def usda_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """RMSE (% of final) of ours and USDA's per model and forecast month.

    Returns
    -------
    DataFrame
        ``model, usda_month, n, rmse_pct, usda_rmse_pct, closer_share`` (the share of
        state-years where ours was closer to the final yield than USDA's).
    """
    if comparison.empty:
        return pd.DataFrame(columns=["model", "usda_month", "n", "rmse_pct", "usda_rmse_pct",
                                     "closer_share"])
    scored = comparison.dropna(subset=["error_pct", "usda_error_pct"])
    return scored.groupby(["model", "usda_month"], sort=False, as_index=False).apply(
        lambda g: pd.Series({
            "n": len(g),
            "rmse_pct": float(np.sqrt(np.mean(g["error_pct"] ** 2))),
            "usda_rmse_pct": float(np.sqrt(np.mean(g["usda_error_pct"] ** 2))),
            "closer_share": float(np.mean(g["error_pct"].abs() < g["usda_error_pct"].abs())),
        }), include_groups=False)
