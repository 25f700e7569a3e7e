"""A season's daily weather per region: a unit of the feature store's work.

:func:`weather_rows` averages a season of gridded daily weather over each region's cells,
weighted toward cropland by the in-season crop fraction, and returns rows of the feature
store's long schema (:data:`cropcast.schema.LONG_COLUMNS`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.transform import Affine

from cropcast.features.cropmask import crop_weights
from cropcast.features.sources.catalog import CropMaskSource
from cropcast.features.sources.weather import WeatherSource, region_daily
from cropcast.grid import TargetGrid

__all__ = ["weather_rows"]


def _weather_grid(weather) -> TargetGrid:
    lat, lon = weather["lat"].values, weather["lon"].values
    dlat, dlon = float(lat[1] - lat[0]), float(lon[1] - lon[0])
    transform = Affine(dlon, 0, lon[0] - dlon / 2, 0, dlat, lat[0] - dlat / 2)
    return TargetGrid("EPSG:4326", transform, (lat.size, lon.size))


def weather_rows(source: WeatherSource, year: int, regions: gpd.GeoDataFrame,
                 cropmask: CropMaskSource | None = None, lag_days: int = 0) -> pd.DataFrame:
    """A season's daily weather per region (cropland-weighted), in the long schema.

    Parameters
    ----------
    source : WeatherSource
        Gridded daily weather.
    year : int
        The season.
    regions : GeoDataFrame
        ``region_id`` and polygons.
    cropmask : CropMaskSource, optional
        Cells are weighted by the in-season crop fraction (every cell counts a little).
    lag_days : int
        Days between a day and the publication of its weather (``obs_date``).

    Returns
    -------
    DataFrame
        ``stat="value"``, one row per region, variable (``tmax``, ``tmin``, ``pr``) and day.
    """
    weather = source.load_year(year)
    weights = crop_weights(cropmask, year, _weather_grid(weather)) if cropmask else None
    daily = region_daily(weather, regions, weights)
    variables = [c for c in daily.columns if c not in ("region_id", "date")]
    out = daily.melt(id_vars=["region_id", "date"], value_vars=variables, var_name="variable",
                     value_name="value")
    out["date"] = pd.to_datetime(out["date"])
    out["year"] = year
    out["product"] = "weather"
    out["stat"] = "value"
    out["obs_date"] = out["date"] + pd.Timedelta(days=lag_days)
    out["n_valid"] = np.where(out["value"].notna(), 1.0, 0.0)
    out["reason"] = np.where(out["value"].notna(), "", "no weather on this day")
    return out
