"""Weather columns of the as-of matrix: the daily record, its season sums, final values.

:func:`daily_weather` turns the store's weather rows into one daily table with degree
days and water stress, computed once for a record that
:func:`cropcast.features.store.matrix.as_of_matrix` cuts at many dates;
:func:`weather_block` sums a cut table into the ``wx_`` columns;
:func:`final_weather` gives the end-of-season values of chosen columns, which the matrix
joins for seasons complete by its day (``final_<column>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cropcast.errors import CropcastError
from cropcast.features.weather.indices import (
    DEFAULT_PERIODS,
    DEFAULT_THERMAL_PERIODS,
    THERMAL_START,
    daily_indices,
    thermal_features,
    weather_features,
)
from cropcast.features.weather.phenology import PlantingRule

__all__ = ["FINAL_PREFIX", "daily_weather", "final_weather", "weather_block"]

_KEY = ["region_id", "year"]
FINAL_PREFIX = "final_"  # end-of-season values of earlier seasons (final_columns)


def daily_weather(rows: pd.DataFrame, planting: PlantingRule | None = None) -> pd.DataFrame:
    """Store weather rows as a daily table with degree days, water balance and water stress,
    computed once for a record that :func:`~cropcast.features.store.matrix.as_of_matrix`
    then cuts at many dates (``weather=``).

    ``planting``: the sowing rule whose planting days the water-stress bucket's crop
    coefficient counts from (:func:`~cropcast.features.weather.indices.daily_indices`);
    None counts from May 1. A cut record gives the same values up to the cut either way.

    Returns
    -------
    DataFrame
        ``region_id, date, obs_date, tmax, tmin, pr, gdd, edd, pet, water_balance,
        water_stress``.
    """
    rows = rows[rows["product"] == "weather"]
    daily = (rows.set_index(["region_id", "date", "obs_date", "variable"])["value"]
             .unstack("variable").reset_index())
    daily.columns.name = None
    daily["region_id"] = daily["region_id"].astype(object).astype(str)
    if daily.empty:
        return daily
    return daily_indices(daily, planting=planting)


def weather_block(daily: pd.DataFrame, periods: dict, thermal: dict, through: str | None,
                  thermal_start: str, planting: PlantingRule | None) -> pd.DataFrame:
    """The ``wx_`` columns of a daily table already cut at the as-of day ``through``
    (``MM-DD``; None: the end of season): calendar periods that begin after it are left
    out, crop phases go as far as the table does."""
    if daily.empty:
        return pd.DataFrame({"region_id": pd.Series(dtype=str), "year": pd.Series(dtype=int)})
    if through is not None:  # periods that begin after D hold nothing yet
        periods = {k: v for k, v in periods.items() if v[0] <= through}
    daily = daily.drop(columns="obs_date")
    table = weather_features(daily, periods)
    if thermal:
        table = table.merge(thermal_features(daily, thermal, start=thermal_start,
                                             planting=planting), on=_KEY, how="left")
    return table.rename(columns={c: f"wx_{c}" for c in table.columns if c not in _KEY})


def final_weather(weather: pd.DataFrame, columns: Sequence[str], periods: dict | None = None,
                  thermal_periods: dict | None = None, thermal_start: str = THERMAL_START,
                  planting: PlantingRule | None = None) -> pd.DataFrame:
    """End-of-season values of weather features, for seasons before a forecast's own.

    Parameters
    ----------
    weather : DataFrame
        :func:`daily_weather` of a record (with ``obs_date``), not cut at a day of season.
    columns : sequence of str
        Weather feature names of the as-of matrix, e.g. ``wx_edd_tt_flowering``.
    periods, thermal_periods, thermal_start, planting
        The weather settings, as ``MatrixSpec.weather_settings()`` gives them
        (:class:`~cropcast.features.store.matrix.MatrixSpec`).

    Returns
    -------
    DataFrame
        ``region_id``, ``year``, ``final_<column>`` for each column and ``complete_on``
        (the latest ``obs_date`` of the region-year's weather): the as-of matrix
        (:func:`~cropcast.features.store.matrix.as_of_matrix`) takes a season only when it
        precedes the as-of season and was complete by the as-of day.
    """
    keys = {"region_id": pd.Series(dtype=str), "year": pd.Series(dtype="int64")}
    names = [FINAL_PREFIX + c for c in columns]
    if weather.empty:
        return pd.DataFrame({**keys, **{c: pd.Series(dtype=float) for c in names},
                             "complete_on": pd.Series(dtype="datetime64[ns]")})
    block = weather_block(weather, dict(DEFAULT_PERIODS if periods is None else periods),
                           dict(DEFAULT_THERMAL_PERIODS if thermal_periods is None
                                else thermal_periods), None, thermal_start,
                           planting or PlantingRule())
    missing = [c for c in columns if c not in block.columns]
    if missing:
        raise CropcastError(f"features.final_columns {missing} are not weather features; "
                            f"they are e.g. {[c for c in block.columns if c not in _KEY][:6]}")
    complete = weather.groupby([weather["region_id"], weather["date"].dt.year.rename("year")])[
        "obs_date"].max().rename("complete_on").reset_index()
    out = block[[*_KEY, *columns]].rename(columns=dict(zip(columns, names, strict=True)))
    return out.merge(complete, on=_KEY, how="left")
