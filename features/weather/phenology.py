"""Corn phenology from daily weather: corn growing degree days and an estimated planting day.

Crop phases (flowering, grain fill) are reached after a number of growing degree days
since *planting*, and planting moves by weeks with each spring: a phase counted from a
fixed day drifts early in a late spring. Where planting dates are not observed (NASS
publishes crop progress by state and week, not by county), crop models estimate them with
a sowing rule on air temperature, as here: the first day, on or after ``earliest``, whose
trailing week averages at least ``threshold_c`` (the air temperature at which soils hold
the ~10 C corn needs to germinate), plus a few days of field work; by ``latest`` at the
latest. The rule looks only at past days, so a record cut at an as-of date gives the same
day, or none yet.

Corn degree days use the US "modified 86/50" convention of growth-stage tables (Iowa
State, Purdue, NDAWN): ``(min(tmax, 30) + clip(tmin, 10, 30)) / 2 - 10`` (degrees C).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cropcast.checks import check_int
from cropcast.days import month_day
from cropcast.errors import CropcastError

__all__ = ["PlantingRule", "corn_degree_days", "planting_dates"]

CORN_BASE_C, CORN_CAP_C = 10.0, 30.0  # 50 and 86 degrees F


def corn_degree_days(tmax, tmin) -> np.ndarray:
    """Corn growing degree days per day, modified 86/50 method (degrees C, NaN stays NaN).

    Both temperatures are capped at 30 C and the minimum is raised to 10 C before
    averaging, so a cold night does not cut a warm day's growth and heat adds none.
    """
    tmax = np.asarray(tmax, dtype=float)
    tmin = np.asarray(tmin, dtype=float)
    high = np.minimum(tmax, CORN_CAP_C)
    low = np.clip(tmin, CORN_BASE_C, CORN_CAP_C)
    return np.maximum((high + low) / 2 - CORN_BASE_C, 0.0)


@dataclass(frozen=True)
class PlantingRule:
    """A sowing rule on air temperature (the ``features.planting`` config).

    Parameters
    ----------
    threshold_c : float
        Mean air temperature (degrees C) of the trailing ``window_days`` that allows planting.
    window_days : int
        Days of the trailing mean (>= 1), the day itself included; every one must have
        weather.
    earliest, latest : str
        ``MM-DD``: no planting before ``earliest``; a season whose rule has not fired
        plants on ``latest`` (crop insurance final planting dates fall in early June).
    delay_days : int
        Days from the rule firing to planting (>= 0): fields must be worked and sown.
    """

    threshold_c: float = 12.5
    window_days: int = 7
    earliest: str = "04-15"
    latest: str = "06-09"
    delay_days: int = 3

    def __post_init__(self) -> None:
        check_int(self.window_days, "planting.window_days", 1)
        check_int(self.delay_days, "planting.delay_days", 0)
        if not isinstance(self.threshold_c, int | float) or not np.isfinite(self.threshold_c):
            raise CropcastError(f"planting.threshold_c must be a temperature in degrees C, "
                                f"e.g. 12.5; got {self.threshold_c!r}")
        days = []
        for name in ("earliest", "latest"):
            try:
                days.append(month_day(getattr(self, name)))
                if days[-1] == 229:  # a rule for every season, not only leap years
                    raise ValueError(name)
            except ValueError:
                raise CropcastError(f"planting.{name} must be a day 'MM-DD', e.g. '04-15'; "
                                    f"got {getattr(self, name)!r}") from None
        if days[0] >= days[1]:
            raise CropcastError(f"planting.earliest ({self.earliest}) must come before "
                                f"planting.latest ({self.latest})")


def planting_dates(daily: pd.DataFrame, rule: PlantingRule | None = None) -> pd.DataFrame:
    """The estimated planting day of every region-year of a daily weather table.

    Parameters
    ----------
    daily : DataFrame
        ``region_id`` (str), ``date`` (datetime64, one row per region and day), ``tmax`` and
        ``tmin`` (degrees C, NaN where missing), cut at the as-of date if any.
    rule : PlantingRule, optional
        The sowing rule (default ``PlantingRule()``).

    Returns
    -------
    DataFrame
        ``region_id``, ``year``, ``planting_date`` (datetime64): the first day ``d`` on or
        after ``earliest`` whose trailing ``window_days`` (``d`` included) all have weather
        and average at least ``threshold_c``, plus ``delay_days``, and no later than
        ``latest``. NaT where the rule has not fired and the table ends before ``latest``
        (not planted yet as far as anyone knew).

    Raises
    ------
    CropcastError
        When a region-year's weather begins after the first day the rule needs (``earliest``
        less ``window_days - 1``): its planting could not be told from a late one. The
        message names the region, the year and the day.
    """
    rule = PlantingRule() if rule is None else rule
    columns = ["region_id", "year", "planting_date"]
    if daily.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(columns, (str, "int64", "datetime64[ns]"), strict=True)})
    table = daily[["region_id", "date", "tmax", "tmin"]].assign(year=daily["date"].dt.year)
    rows = []
    for year, season in table.groupby("year", sort=True):
        earliest = pd.Timestamp(f"{year}-{rule.earliest}")
        latest = pd.Timestamp(f"{year}-{rule.latest}")
        needed = earliest - pd.Timedelta(days=rule.window_days - 1)
        first = season.groupby("region_id")["date"].min()
        late = first[first > needed]
        if len(late):
            raise CropcastError(
                f"weather of region {late.index[0]} in {year} begins on "
                f"{late.iloc[0]:%Y-%m-%d}; the planting rule needs every day from "
                f"{needed:%Y-%m-%d} ({rule.window_days} days before {rule.earliest}) "
                f"({len(late)} region(s) start late). Give weather from that day, or count "
                "thermal time from a fixed day (features.thermal_start: '05-01')")
        window = season[(season["date"] >= needed) & (season["date"] <= latest)]
        grid = window.pivot(index="region_id", columns="date",
                            values=["tmax", "tmin"])
        days = pd.date_range(needed, window["date"].max())
        mean = ((grid["tmax"] + grid["tmin"]) / 2).reindex(columns=days)
        warm = (mean.T.rolling(rule.window_days, min_periods=rule.window_days).mean().T
                >= rule.threshold_c) & (days >= earliest)[None, :]
        fired = warm.to_numpy().any(axis=1)
        trigger = days[np.where(fired, warm.to_numpy().argmax(axis=1), 0)]
        planting = np.minimum(trigger + pd.Timedelta(days=rule.delay_days), latest)
        seen = pd.Series(window.groupby("region_id")["date"].max()).reindex(mean.index)
        known = fired | (seen >= latest).to_numpy()
        planting = np.where(fired, planting, np.datetime64(latest))
        rows.append(pd.DataFrame({
            "region_id": mean.index.astype(str), "year": int(year),
            "planting_date": pd.to_datetime(np.where(known, planting, np.datetime64("NaT")))}))
    out = pd.concat(rows, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    return out
