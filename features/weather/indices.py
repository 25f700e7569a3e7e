"""Season weather features from daily region weather: degree days, PET, water balance.

Input is the table of :func:`cropcast.features.sources.weather.region_daily`: ``region_id`` (str),
``date``, ``tmax``, ``tmin`` (degrees C) and ``pr`` (mm/day), NaN where missing. Everything
here is a pure function of that table; the caller cuts it at the as-of date first (no
look-ahead), so a period only partly in the table gets a season-to-date sum.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cropcast.days import month_day
from cropcast.errors import CropcastError
from cropcast.features.weather.phenology import PlantingRule, corn_degree_days, planting_dates
from cropcast.features.weather.soil_water import water_stress

__all__ = ["DEFAULT_LATITUDE", "DEFAULT_PERIODS", "DEFAULT_THERMAL_PERIODS", "THERMAL_START",
           "check_thermal_periods", "daily_indices", "degree_days",
           "extraterrestrial_radiation", "thermal_features", "weather_features"]

DEFAULT_LATITUDE = 40.0  # degrees north: the middle of the US Corn Belt
DEFAULT_PERIODS: dict[str, tuple[str, str]] = {
    "may": ("05-01", "05-31"), "jun": ("06-01", "06-30"), "jul": ("07-01", "07-31"),
    "aug": ("08-01", "08-31"), "sep": ("09-01", "09-30"),
    "vegetative": ("05-01", "06-30"), "silking": ("07-01", "07-31"),
    "grainfill": ("08-01", "09-15"), "season": ("05-01", "09-30"),
}
# Crop phases in thermal time: corn degree days (modified 86/50,
# cropcast.features.weather.phenology) accumulated from planting (estimated from spring
# temperatures), so a phase moves with each season's planting and warmth (a calendar month
# does not). Corn silks at about 700-800 degree days after planting; 550-1050 brackets
# flowering; maturity near 1500.
DEFAULT_THERMAL_PERIODS: dict[str, tuple[float, float]] = {
    "tt_vegetative": (250.0, 550.0), "tt_flowering": (550.0, 1050.0),
    "tt_grainfill": (1050.0, 1500.0), "tt_season": (0.0, 1500.0),
}
THERMAL_START = "planting"  # or a fixed day "MM-DD"
REQUIRED = ("region_id", "date", "tmax", "tmin", "pr")
_INDICES = ("gdd", "edd", "water_balance", "water_stress")  # what daily_indices adds
_TOLERANCE = 1e-6  # degrees C: tmax below tmin by less than this is rounding, not an error
_SOLAR_CONSTANT = 0.0820  # MJ m-2 min-1 (FAO-56 eq. 21)
_MJ_TO_MM = 0.408  # MJ m-2 day-1 -> mm/day of evaporation (FAO-56 eq. 20)


def degree_days(tmax, tmin, base) -> np.ndarray:
    """Degree days above ``base`` per day with a single-sine day (Schlenker & Roberts 2009).

    Parameters
    ----------
    tmax, tmin : array_like
        Daily maximum and minimum temperature (degrees C), broadcast together.
    base : float or array_like
        Threshold b (degrees C), broadcast with the temperatures.

    Returns
    -------
    ndarray
        ``M - b`` where ``tmin >= b``, 0 where ``tmax <= b``, else
        ``((M - b)(pi/2 - theta) + W cos(theta)) / pi`` with ``M = (tmax + tmin) / 2``,
        ``W = (tmax - tmin) / 2`` and ``theta = asin((b - M) / W)``. NaN where an input
        is NaN.

    Raises
    ------
    CropcastError
        Where ``tmax < tmin`` (by more than 1e-6 degrees, which counts as rounding and is
        treated as ``tmax == tmin``); the message counts the days and gives the first index.
    """
    tmax, tmin, base = np.broadcast_arrays(np.asarray(tmax, dtype=float),
                                           np.asarray(tmin, dtype=float),
                                           np.asarray(base, dtype=float))
    swapped = tmax < tmin - _TOLERANCE
    if swapped.any():
        first = tuple(int(i) for i in np.argwhere(swapped)[0])
        raise CropcastError(f"{int(swapped.sum())} days have tmax < tmin (first at index "
                            f"{first}: tmax {tmax[first]}, tmin {tmin[first]}); tmax must be "
                            ">= tmin: are the two swapped?")
    mean, half = (tmax + tmin) / 2, np.maximum(tmax - tmin, 0.0) / 2
    out = np.where(tmin >= base, mean - base, 0.0)
    out[np.isnan(tmax) | np.isnan(tmin)] = np.nan
    crossing = (tmin < base) & (tmax > base)  # here half > 0
    m, w, b = mean[crossing], half[crossing], base[crossing]
    theta = np.arcsin(np.clip((b - m) / w, -1.0, 1.0))
    out[crossing] = ((m - b) * (np.pi / 2 - theta) + w * np.cos(theta)) / np.pi
    return out


def extraterrestrial_radiation(latitude, day_of_year) -> np.ndarray:
    """Daily extraterrestrial radiation Ra (MJ m-2 day-1), FAO-56 equations 21 to 25.

    ``latitude`` in degrees (south negative) and ``day_of_year`` (1..366) broadcast
    together. Polar day and night are handled by clipping the sunset hour angle.
    """
    phi = np.radians(np.asarray(latitude, dtype=float))
    day = np.asarray(day_of_year, dtype=float)
    inverse_distance = 1 + 0.033 * np.cos(2 * np.pi * day / 365)  # eq. 23
    declination = 0.409 * np.sin(2 * np.pi * day / 365 - 1.39)  # eq. 24
    sunset = np.arccos(np.clip(-np.tan(phi) * np.tan(declination), -1.0, 1.0))  # eq. 25
    return (24 * 60 / np.pi * _SOLAR_CONSTANT * inverse_distance
            * (sunset * np.sin(phi) * np.sin(declination)
               + np.cos(phi) * np.cos(declination) * np.sin(sunset)))


def daily_indices(daily: pd.DataFrame, latitude: Mapping[str, float] | None = None, *,
                  gdd_base: float = 10.0, gdd_cap: float = 29.0,
                  edd_base: float = 29.0, planting: PlantingRule | None = None) -> pd.DataFrame:
    """The daily table plus ``gdd``, ``edd``, ``pet`` and ``water_balance`` columns.

    Parameters
    ----------
    daily : DataFrame
        ``region_id`` (str), ``date`` (datetime64), ``tmax``, ``tmin`` (degrees C) and
        ``pr`` (mm/day); other columns are kept.
    latitude : mapping, optional
        ``{region_id: degrees north}`` for the radiation term of PET; every region of the
        table must be in it. Without it every region is at 40 N (``DEFAULT_LATITUDE``).
    gdd_base, gdd_cap, edd_base : float
        ``gdd = DD(gdd_base) - DD(gdd_cap)``, ``edd = DD(edd_base)`` (degrees C).
    planting : PlantingRule, optional
        When given, the crop coefficient of the water-stress bucket follows corn degree
        days since each region-year's planting day estimated by this rule
        (:func:`cropcast.features.weather.phenology.planting_dates`; 0 before it and while
        not planted); otherwise ``gdd`` since May 1. Needs weather from a week before the
        rule's earliest day. Either way a day's stress uses only that day and earlier ones.

    Returns
    -------
    DataFrame
        A copy with ``gdd`` and ``edd`` (degree days, single sine), ``pet`` (Hargreaves &
        Samani 1985, FAO-56 eq. 52, mm/day, floored at 0), ``water_balance = pr - pet``
        and ``water_stress`` (a maize root-zone bucket from May 1,
        :func:`cropcast.features.weather.soil_water.water_stress`; NaN before May 1). NaN
        weather gives NaN indices.
    """
    if not gdd_base < gdd_cap:
        raise CropcastError(f"gdd_base={gdd_base} must be below gdd_cap={gdd_cap} "
                            "(e.g. 10 and 29 degrees C)")
    out = _validated(daily)
    tmax, tmin = out["tmax"].to_numpy(), out["tmin"].to_numpy()
    out["gdd"] = degree_days(tmax, tmin, gdd_base) - degree_days(tmax, tmin, gdd_cap)
    out["edd"] = degree_days(tmax, tmin, edd_base)
    if latitude is None:
        lat = np.full(len(out), DEFAULT_LATITUDE)
    else:
        lat = out["region_id"].map(dict(latitude)).astype(float).to_numpy()
        unknown = out.loc[np.isnan(lat), "region_id"].unique().tolist()
        if unknown:
            raise CropcastError(f"latitude has no value for regions {unknown[:5]} "
                                f"({len(unknown)} in all); give every region its latitude in "
                                "degrees north, or no mapping for 40 N everywhere")
        if (np.abs(lat) > 90).any():
            raise CropcastError(f"latitude values must be degrees in [-90, 90]; got "
                                f"{lat[np.abs(lat) > 90][:5].tolist()}")
    radiation = extraterrestrial_radiation(lat, out["date"].dt.day_of_year.to_numpy())
    pet = (0.0023 * ((tmax + tmin) / 2 + 17.8) * np.sqrt(np.maximum(tmax - tmin, 0.0))
           * _MJ_TO_MM * radiation)
    out["pet"] = np.maximum(pet, 0.0)  # NaN stays NaN
    out["water_balance"] = out["pr"] - out["pet"]
    development = None if planting is None else _degree_days_since_planting(out, planting)
    out["water_stress"] = water_stress(out, crop_degree_days=development)
    return out


def _degree_days_since_planting(table: pd.DataFrame, rule: PlantingRule) -> np.ndarray:
    """Corn degree days accumulated from each region-year's planting day (0 before)."""
    year = table["date"].dt.year.astype("int64")
    sown = planting_dates(table, rule)
    day = table[["region_id"]].assign(year=year).merge(
        sown, on=["region_id", "year"], how="left")["planting_date"].to_numpy()
    growing = table["date"].to_numpy() >= day  # NaT (not planted yet): False
    daily = np.where(growing, np.nan_to_num(corn_degree_days(table["tmax"], table["tmin"])), 0.0)
    order = np.lexsort((table["date"].to_numpy(), year.to_numpy(),
                        table["region_id"].to_numpy()))
    keys = pd.DataFrame({"region_id": table["region_id"].to_numpy()[order],
                         "year": year.to_numpy()[order]})
    accumulated = np.empty(len(table))
    accumulated[order] = pd.Series(daily[order]).groupby(
        [keys["region_id"], keys["year"]], sort=False).cumsum().to_numpy()
    return accumulated


def weather_features(daily: pd.DataFrame,
                     periods: Mapping[str, tuple[str, str]] = DEFAULT_PERIODS,
                     latitude: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Season weather features, one row per (region_id, year).

    Parameters
    ----------
    daily : DataFrame
        As for :func:`daily_indices`, already cut at the as-of date; or its output (with
        ``gdd``, ``edd`` and ``water_balance``), used as it is, so that the indices of a
        long record are computed once and cut at many dates.
    periods : mapping
        ``{name: ("MM-DD", "MM-DD")}``: inclusive day ranges within a year (start <= end).
    latitude : mapping, optional
        As for :func:`daily_indices`.

    Returns
    -------
    DataFrame
        ``region_id`` (str), ``year`` (int), then per period ``gdd_<p>``, ``edd_<p>``,
        ``pr_<p>``, ``wb_<p>``, ``ws_<p>`` (sums of gdd, edd, pr, water balance and daily
        water stress, i.e. stress-days), ``tmax_<p>`` (mean)
        and ``days_<p>``. Each sum and mean is over the days of the table in the period
        where that variable is not missing; ``days_<p>`` counts the days with complete
        weather (tmax, tmin and pr). A period with no such value (no day in the table,
        e.g. after the as-of date) is NaN, never 0; its ``days_<p>`` is 0.
    """
    ranges = _parse_periods(periods)
    indexed = set(_INDICES) <= set(daily.columns)
    table = daily.copy() if indexed else daily_indices(daily, latitude)
    table["year"] = table["date"].dt.year.astype("int64")
    day = (table["date"].dt.month * 100 + table["date"].dt.day).to_numpy()
    table["complete"] = table[["tmax", "tmin", "pr"]].notna().all(axis=1)
    keys = table[["region_id", "year"]].drop_duplicates().sort_values(["region_id", "year"])
    index = pd.MultiIndex.from_frame(keys)
    sums = {"gdd": "gdd", "edd": "edd", "pr": "pr", "wb": "water_balance",
            "ws": "water_stress"}
    columns: dict[str, pd.Series] = {}
    for name, (start, end) in ranges.items():
        group = table[(day >= start) & (day <= end)].groupby(["region_id", "year"])
        for prefix, column in sums.items():
            columns[f"{prefix}_{name}"] = group[column].sum(min_count=1).reindex(index)
        columns[f"tmax_{name}"] = group["tmax"].mean().reindex(index)
        columns[f"days_{name}"] = (group["complete"].sum().reindex(index, fill_value=0)
                                   .astype("int64"))
    out = pd.DataFrame(columns, index=index).reset_index()
    out["region_id"] = out["region_id"].astype(str)
    return out


def check_thermal_periods(periods: Mapping[str, tuple[float, float]]) -> None:
    """Raise unless every period is two degree-day bounds ``0 <= a < b``."""
    for name, bounds in periods.items():
        try:
            low, high = (float(v) for v in bounds)
        except (TypeError, ValueError):
            low, high = np.nan, np.nan
        if not 0 <= low < high:
            raise CropcastError(f"thermal period {name!r}={bounds!r} must be two degree-day "
                                "bounds 0 <= a < b, e.g. (550, 1050)")


def thermal_features(daily: pd.DataFrame,
                     periods: Mapping[str, tuple[float, float]] = DEFAULT_THERMAL_PERIODS,
                     start: str = THERMAL_START,
                     latitude: Mapping[str, float] | None = None,
                     planting: PlantingRule | None = None) -> pd.DataFrame:
    """Weather summed over crop phases defined in thermal time, one row per (region_id, year).

    Each day from the season's start on belongs to phase ``p = (a, b)`` when the corn
    degree days (:func:`cropcast.features.weather.phenology.corn_degree_days`) accumulated
    from the start through that day lie in ``[a, b)``. The start is each region-year's
    estimated planting day (:func:`cropcast.features.weather.phenology.planting_dates`) or a
    fixed day. Only days in the table count, so a table cut at an as-of date gives the
    phases as far as they had gone then.

    Parameters
    ----------
    daily : DataFrame
        As for :func:`weather_features` (raw or already indexed).
    periods : mapping
        ``{name: (a, b)}`` degree-day bounds, ``0 <= a < b``.
    start : str
        ``"planting"`` (the default), or ``MM-DD`` from which degree days accumulate.
    latitude : mapping, optional
        As for :func:`daily_indices`.
    planting : PlantingRule, optional
        The sowing rule for ``start="planting"`` (default ``PlantingRule()``).

    Returns
    -------
    DataFrame
        ``region_id``, ``year``, then per phase ``edd_<p>``, ``pr_<p>``, ``wb_<p>``, ``ws_<p>``
        (sums) and ``days_<p>`` (days with complete weather in the phase). A phase not
        reached (or a season not planted yet) is NaN (``days_<p>`` 0), never 0.
    """
    check_thermal_periods(periods)
    if start != "planting":
        try:
            first = month_day(start)
        except (TypeError, ValueError):
            raise CropcastError(f"thermal start {start!r} must be 'planting' or a day "
                                "'MM-DD', e.g. '05-01'") from None
    indexed = set(_INDICES) <= set(daily.columns)
    table = daily.copy() if indexed else daily_indices(daily, latitude)
    table["year"] = table["date"].dt.year.astype("int64")
    keys = table[["region_id", "year"]].drop_duplicates().sort_values(["region_id", "year"])
    index = pd.MultiIndex.from_frame(keys)
    if start == "planting":
        sown = planting_dates(table, planting).dropna(subset=["planting_date"])
        table = table.merge(sown, on=["region_id", "year"], how="inner")
        table = table[table["date"] >= table["planting_date"]]
    else:
        day = (table["date"].dt.month * 100 + table["date"].dt.day).to_numpy()
        table = table[day >= first]
    table = table.sort_values(["region_id", "date"])
    table["complete"] = table[["tmax", "tmin", "pr"]].notna().all(axis=1)
    table["corn_gdd"] = corn_degree_days(table["tmax"], table["tmin"])
    # NaN days add nothing
    thermal = table.groupby(["region_id", "year"])["corn_gdd"].cumsum()
    columns: dict[str, pd.Series] = {}
    for name, (low, high) in periods.items():
        inside = (thermal >= float(low)) & (thermal < float(high))
        group = table[inside.to_numpy()].groupby(["region_id", "year"])
        for prefix, column in (("edd", "edd"), ("pr", "pr"), ("wb", "water_balance"),
                               ("ws", "water_stress")):
            columns[f"{prefix}_{name}"] = group[column].sum(min_count=1).reindex(index)
        columns[f"days_{name}"] = (group["complete"].sum().reindex(index, fill_value=0)
                                   .astype("int64"))
    out = pd.DataFrame(columns, index=index).reset_index()
    out["region_id"] = out["region_id"].astype(str)
    return out


def _validated(daily: pd.DataFrame) -> pd.DataFrame:
    """A float copy of the table, after checking columns, keys and tmax >= tmin."""
    missing = [c for c in REQUIRED if c not in daily.columns]
    if missing:
        raise CropcastError(f"the daily weather table lacks columns {missing}; it has "
                            f"{list(daily.columns)}. Use "
                            "cropcast.features.sources.weather.region_daily "
                            f"or rename the columns to {list(REQUIRED)}")
    out = daily.copy()
    not_str = ~out["region_id"].map(lambda v: isinstance(v, str)).astype(bool)
    if not_str.any():
        value = out.loc[not_str, "region_id"].iloc[0]
        raise CropcastError(f"region_id must be strings such as '19153'; got {value} "
                            f"({type(value).__name__}). Convert with "
                            "df['region_id'].astype(str).str.zfill(5) for county FIPS")
    if not pd.api.types.is_datetime64_any_dtype(out["date"]) or out["date"].isna().any():
        raise CropcastError(f"date must be datetime64 without missing values; got dtype "
                            f"{out['date'].dtype}. Convert with pd.to_datetime(df['date'])")
    duplicated = out.duplicated(["region_id", "date"])
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        raise CropcastError(f"{int(duplicated.sum())} duplicated (region_id, date) rows, the "
                            f"first region {first['region_id']} on {first['date']:%Y-%m-%d};"
                            " keep one row per region and day")
    for column in ("tmax", "tmin", "pr"):
        try:
            out[column] = out[column].astype(float)
        except (TypeError, ValueError):
            raise CropcastError(f"{column} must be numbers (NaN for missing); got dtype "
                                f"{out[column].dtype}") from None
    swapped = (out["tmax"] < out["tmin"] - _TOLERANCE).to_numpy()
    if swapped.any():
        first = out.loc[swapped].iloc[0]
        raise CropcastError(f"{int(swapped.sum())} days have tmax < tmin, the first region "
                            f"{first['region_id']} on {first['date']:%Y-%m-%d} (tmax "
                            f"{first['tmax']}, tmin {first['tmin']}); tmax must be >= tmin: "
                            "are the two columns swapped?")
    return out


def _parse_periods(periods: Mapping[str, tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """``{name: (MMDD start, MMDD end)}`` as integers month * 100 + day."""
    if not periods:
        raise CropcastError("periods is empty; give e.g. {'season': ('05-01', '09-30')}")
    parsed = {}
    for name, bounds in periods.items():
        try:
            start, end = (month_day(text) for text in bounds)
        except (TypeError, ValueError):
            raise CropcastError(f"period {name!r}={bounds!r} must be two days of the form "
                                "'MM-DD', e.g. ('05-01', '09-30')") from None
        if start > end:
            raise CropcastError(f"period {name!r}={tuple(bounds)!r} ends before it starts; "
                                "periods lie within one calendar year")
        parsed[str(name)] = (start, end)
    return parsed
