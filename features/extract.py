"""One unit of feature work: a composite's (or a weather year's) statistics per region.

:func:`composite_rows` reads one product's composite (every tile) through the imagery
readers, applies the quality mask, weights pixels by the in-season crop fraction and runs
the zonal engine over every tile, combining tiles exactly. :func:`weather_rows` averages a
season of daily weather over each region's cropland. Both return rows of the feature
store's long schema (:data:`features.store.LONG_COLUMNS`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.transform import Affine

from features.cropmask import TargetGrid, crop_fraction
from features.errors import CropcastError
from features.sources.catalog import CropMaskSource
from features.sources.imagery import read_scenes
from features.sources.products import Product
from features.sources.weather import WeatherSource, region_daily
from features.zonal import region_labels, zonal_stats

__all__ = ["IMAGERY_STATS", "NO_MASK", "composite_rows", "mask_paths", "weather_rows"]

IMAGERY_STATS = ("mean", "weighted_mean", "std", "p10", "p50", "p90", "valid_fraction")
NO_MASK = "no crop mask for this season's weights (frequency mode needs earlier seasons)"


def mask_paths(cropmask: CropMaskSource | None, year: int) -> dict[int, str]:
    """The crop-mask files behind ``year``'s in-season weights (by the source's mode)."""
    if cropmask is None:
        return {}
    paths = cropmask.paths()
    if cropmask.mode == "same_year":
        years = [year]
    elif cropmask.mode == "frequency":
        years = list(range(year - cropmask.years_back, year))
    else:
        years = [year - 1]
    return {y: paths[y] for y in years if y in paths}


@lru_cache(maxsize=16)
def _fraction(masks: tuple, year: int, grid: TargetGrid, mode: str, classes: tuple,
              years_back: int) -> np.ndarray:
    return crop_fraction(dict(masks), year, grid, mode, classes, years_back)


def _weights(cropmask: CropMaskSource | None, year: int, grid: TargetGrid) -> np.ndarray | None:
    """In-season crop weights on ``grid``; None without a mask for the season."""
    masks = mask_paths(cropmask, year)
    if not masks:
        return None
    return _fraction(tuple(masks.items()), year, grid, cropmask.mode, tuple(cropmask.classes),
                     cropmask.years_back)


_LABELS: dict[tuple, object] = {}


def _labels(regions: gpd.GeoDataFrame, grid: TargetGrid, labels_dir) -> object:
    """:func:`region_labels`, remembered per process for these regions and this grid (a
    season's composites share their tiles' grids)."""
    digest = hashlib.sha256(str(regions.crs).encode())
    digest.update(regions["region_id"].astype(str).str.cat(sep=",").encode())
    digest.update(b"".join(regions.geometry.to_wkb()))
    key = (digest.hexdigest(), grid, str(labels_dir))
    if key not in _LABELS:
        if len(_LABELS) >= 32:
            _LABELS.clear()
        _LABELS[key] = region_labels(regions, grid, "centre", labels_dir)
    return _LABELS[key]


def composite_rows(files: pd.DataFrame, product: Product, date: dt.date,
                   regions: gpd.GeoDataFrame, cropmask: CropMaskSource | None = None,
                   labels_dir: str | Path | None = None) -> pd.DataFrame:
    """Statistics of every variable of one composite over the regions, in the long schema.

    Parameters
    ----------
    files : DataFrame
        The imagery catalog (rows of other dates are ignored).
    product : Product
        How to decode the layers.
    date : date
        The composite's window start.
    regions : GeoDataFrame
        ``region_id`` and polygons (any CRS).
    cropmask : CropMaskSource, optional
        Crop masks: pixels are weighted by the in-season crop fraction for
        ``weighted_mean`` (the source's mode, multi-year corn frequency by default). A
        season without the masks its mode needs gets NaN weighted means and the reason
        :data:`NO_MASK`.
    labels_dir : path, optional
        The zonal engine's label cache.

    Returns
    -------
    DataFrame
        One row per region, variable and statistic of :data:`IMAGERY_STATS`. A region no
        tile covers, or with no valid pixel, gets NaN and a ``reason``.
    """
    bounds = tuple(regions.total_bounds)
    scenes = read_scenes(files, product, date, bounds, regions.crs)
    if not scenes:
        raise CropcastError(f"{product.name} {date}: no tile covers the regions (bounds "
                            f"{bounds} in {regions.crs}); check the imagery's extent")
    accumulators: dict[str, object] = {}
    weighted = True
    for scene in scenes:
        grid = TargetGrid(scene.crs, scene.transform, scene.shape)
        labels = _labels(regions, grid, labels_dir)
        weights = _weights(cropmask, date.year, grid)
        weighted &= weights is not None
        for variable, values in scene.values.items():
            acc = zonal_stats(regions, values, transform=scene.transform, crs=scene.crs,
                              nodata=None, good=scene.good, weights=weights, labels=labels,
                              accumulate_only=True)
            if variable in accumulators:
                accumulators[variable].add(acc)
            else:
                accumulators[variable] = acc
    frames = []
    for variable, acc in accumulators.items():
        table = acc.result()
        long = table.melt(id_vars=["region_id", "count", "reason"],
                          value_vars=list(IMAGERY_STATS), var_name="stat", value_name="value")
        long["variable"] = variable
        if not weighted:
            unweighted = long["stat"] == "weighted_mean"
            long.loc[unweighted, "value"] = np.nan
            long.loc[unweighted, "reason"] = NO_MASK
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)
    out["n_valid"] = out.pop("count").astype(float)
    out["year"] = date.year
    out["product"] = product.name
    out["date"] = pd.Timestamp(date)
    out["obs_date"] = pd.Timestamp(scenes[0].obs_date)
    return out


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
    weights = _weights(cropmask, year, _weather_grid(weather)) if cropmask else None
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
