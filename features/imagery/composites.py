"""One composite's statistics per region: a unit of the feature store's work.

:func:`composite_rows` reads one product's composite (every tile) through the imagery
readers, applies the quality mask, weights pixels by the in-season crop fraction and runs
the zonal engine over every tile, combining tiles exactly. It returns rows of the feature
store's long schema (:data:`cropcast.schema.LONG_COLUMNS`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cropcast.errors import CropcastError
from cropcast.features.cropmask import crop_weights
from cropcast.features.sources.catalog import CropMaskSource
from cropcast.features.sources.imagery import read_scenes
from cropcast.features.sources.products import Product
from cropcast.features.zonal import region_labels, zonal_stats
from cropcast.grid import TargetGrid
from cropcast.regions import regions_digest

__all__ = ["IMAGERY_STATS", "NO_MASK", "composite_rows"]

IMAGERY_STATS = ("mean", "weighted_mean", "std", "p10", "p50", "p90", "valid_fraction")
NO_MASK = "no crop mask for this season's weights (frequency mode needs earlier seasons)"


_LABELS: dict[tuple, object] = {}


def _labels(regions: gpd.GeoDataFrame, grid: TargetGrid, labels_dir) -> object:
    """:func:`region_labels`, remembered per process for these regions and this grid (a
    season's composites share their tiles' grids)."""
    key = (regions_digest(regions), grid, str(labels_dir))
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
        weights = crop_weights(cropmask, date.year, grid)
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
