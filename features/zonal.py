"""Zonal statistics over regions at the speed of reading the raster.

For a set of regions and a raster grid, which pixel belongs to which region is computed
once (pixel-centre rule, the ``rasterstats`` default) and cached on disk, keyed by the
regions' content and the grid (CRS, transform, shape). Every raster on that grid is then
aggregated in one compiled pass over row strips: count of valid pixels, valid fraction,
mean, standard deviation, p10/p50/p90 and the weighted (crop-fraction) mean. Percentiles
of integer rasters come from exact per-region histograms of the raw values, so memory stays
bounded whatever the raster size. Several grids (MODIS tiles) each get their own labels,
and a region spanning tiles combines them exactly (:class:`Accumulator` adds up).

Regions are reprojected to the raster's CRS (never the raster to the regions'). A region
with no valid pixel on a date gets NaN statistics and a ``reason``, never a silent drop.

``engine="rasterstats"`` runs :func:`rasterstats.zonal_stats` on the same inputs: the
reference the fast engine is tested against, and the fallback for inputs it does not take.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import rasterio
from pyproj import CRS
from rasterio.features import rasterize
from rasterio.transform import Affine

from features.cropmask import TargetGrid
from features.errors import CropcastError

__all__ = ["STATS", "Accumulator", "Labels", "region_labels", "zonal_stats"]

STATS = ("count", "pixels", "valid_fraction", "mean", "std", "p10", "p50", "p90",
         "weighted_mean")
_STRIP_ROWS = 1024
_UNSET = object()
NO_VALID = "no valid pixel on this date (all fill, masked or cloudy)"
NO_PIXEL = "no pixel centre falls in the region (smaller than a pixel)"


@dataclass
class Labels:
    """Which region each pixel of a grid belongs to (pixel-centre rule).

    ``raster`` holds the region index (``-1``: none) of every pixel; ``pixels`` the number
    of pixels of each region.
    """

    region_ids: np.ndarray
    raster: np.ndarray
    pixels: np.ndarray
    key: str


def _grid_key(regions: gpd.GeoDataFrame, grid: TargetGrid) -> str:
    digest = hashlib.sha256()
    digest.update(b"centre-v1")
    digest.update("\x1f".join(regions["region_id"].astype(str)).encode())
    for wkb in regions.geometry.to_wkb():
        digest.update(wkb)
    digest.update(CRS.from_user_input(grid.crs).to_wkt().encode())
    digest.update(np.asarray(tuple(grid.transform)[:6], dtype=np.float64).tobytes())
    digest.update(np.asarray(grid.shape, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def region_labels(regions: gpd.GeoDataFrame, grid: TargetGrid,
                  cache_dir: str | Path | None = None) -> Labels:
    """Label every pixel of ``grid`` with the region holding its centre; cached on disk.

    Parameters
    ----------
    regions : GeoDataFrame
        ``region_id`` and polygons, in any CRS (reprojected to the grid's).
    grid : TargetGrid
        The raster grid.
    cache_dir : path, optional
        Folder of the label cache (``labels-<key>.npz``); None computes without caching.
    """
    if regions.crs is None:
        raise CropcastError("regions have no CRS; set it (e.g. EPSG:4269 for Census "
                            "counties) so they can be reprojected to the raster's CRS")
    if "region_id" not in regions:
        raise CropcastError("regions need a 'region_id' column")
    local = regions.to_crs(CRS.from_user_input(grid.crs))
    key = _grid_key(local, grid)
    path = Path(cache_dir) / f"labels-{key}.npz" if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            return Labels(cached["region_ids"].astype(str), cached["raster"], cached["pixels"],
                          key)
    shapes = ((geom, i + 1) for i, geom in enumerate(local.geometry) if not geom.is_empty)
    burned = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                       dtype="int32")
    raster = burned - 1
    pixels = np.bincount(raster[raster >= 0], minlength=len(local)).astype(np.int64)
    labels = Labels(local["region_id"].astype(str).to_numpy(), raster, pixels, key)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".labels-", suffix=".npz", dir=path.parent)
        os.close(handle)
        try:
            np.savez(temporary, region_ids=labels.region_ids.astype("U"), raster=raster,
                     pixels=pixels)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
    return labels


@numba.njit(cache=True, nogil=True)
def _accumulate(labels, raw, fill, has_fill, good, has_good, weights, has_weights, scale,
                offset, low, count, total, squares, wsum, wvsum, hist, has_hist):
    rows, cols = raw.shape
    for r in range(rows):
        for c in range(cols):
            region = labels[r, c]
            if region < 0:
                continue
            value = raw[r, c]
            if has_fill and value == fill:
                continue
            if has_good and not good[r, c]:
                continue
            physical = value * scale + offset
            if physical != physical:  # NaN
                continue
            count[region] += 1
            total[region] += physical
            squares[region] += physical * physical
            if has_weights:
                weight = weights[r, c]
                if weight == weight and weight > 0:
                    wsum[region] += weight
                    wvsum[region] += weight * physical
            if has_hist:
                hist[region, np.int64(value) - low] += 1


@numba.njit(cache=True)
def _histogram_percentiles(hist, low, qs, out):
    regions, bins = hist.shape
    for region in range(regions):
        n = 0
        for b in range(bins):
            n += hist[region, b]
        if n == 0:
            continue
        for k in range(qs.size):
            position = qs[k] / 100.0 * (n - 1)  # numpy's linear interpolation
            lower = np.int64(np.floor(position))
            frac = position - lower
            seen, a, bval = 0, -1, -1
            for b in range(bins):
                count = hist[region, b]
                if count == 0:
                    continue
                if a < 0 and seen + count > lower:
                    a = b
                if seen + count > lower + 1:
                    bval = b
                    break
                seen += count
            if bval < 0:
                bval = a
            out[region, k] = (a + low) + frac * (bval - a)


@dataclass
class Accumulator:
    """Running sums of one raster date over regions; tiles add up exactly."""

    region_ids: np.ndarray
    count: np.ndarray
    pixels: np.ndarray
    total: np.ndarray
    squares: np.ndarray
    wsum: np.ndarray
    wvsum: np.ndarray
    hist: np.ndarray | None
    low: int
    scale: float
    offset: float
    kept: list | None = None  # (region, value) arrays for rasters without a histogram

    @classmethod
    def empty(cls, region_ids: np.ndarray, dtype: np.dtype, scale: float,
              offset: float) -> Accumulator:
        n = len(region_ids)
        zeros = np.zeros(n, dtype=np.float64)
        hist, low = None, 0
        if np.issubdtype(dtype, np.integer) and np.iinfo(dtype).bits <= 16:
            low = int(np.iinfo(dtype).min)
            hist = np.zeros((n, int(np.iinfo(dtype).max) - low + 1), dtype=np.int64)
        return cls(np.asarray(region_ids), np.zeros(n, np.int64), np.zeros(n, np.int64),
                   zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), hist, low, scale,
                   offset)

    def add(self, other: Accumulator) -> None:
        """Combine another grid's (tile's) sums for the same regions."""
        if not np.array_equal(self.region_ids, other.region_ids):
            raise CropcastError("accumulators of different region sets cannot be combined")
        for name in ("count", "pixels", "total", "squares", "wsum", "wvsum"):
            getattr(self, name)[:] += getattr(other, name)
        if (self.hist is None) != (other.hist is None):
            raise CropcastError("rasters of integer and float types cannot be combined")
        if self.hist is not None:
            self.hist += other.hist
        else:
            self.kept = [*(self.kept or []), *(other.kept or [])]

    def result(self) -> pd.DataFrame:
        """The tidy statistics, one row per region, with a reason where missing."""
        with np.errstate(invalid="ignore", divide="ignore"):
            count = self.count.astype(np.float64)
            mean = self.total / count
            std = np.sqrt(np.maximum(self.squares / count - mean**2, 0.0))
            weighted = self.wvsum / self.wsum
            fraction = count / self.pixels
        percentiles = np.full((len(count), 3), np.nan)
        if self.hist is not None:
            raw = np.full((len(count), 3), np.nan)
            _histogram_percentiles(self.hist, self.low, np.array([10.0, 50.0, 90.0]), raw)
            percentiles = raw * self.scale + self.offset
        elif self.kept:
            percentiles = _sorted_percentiles(self.kept, len(count))
        reason = np.where(self.pixels == 0, NO_PIXEL, np.where(self.count == 0, NO_VALID, ""))
        return pd.DataFrame({
            "region_id": self.region_ids, "count": self.count, "pixels": self.pixels,
            "valid_fraction": fraction, "mean": mean, "std": std, "p10": percentiles[:, 0],
            "p50": percentiles[:, 1], "p90": percentiles[:, 2], "weighted_mean": weighted,
            "reason": reason,
        })


def _sorted_percentiles(kept: list, n: int) -> np.ndarray:
    """p10/p50/p90 per region from kept (region, value) pairs, as numpy.percentile does."""
    regions = np.concatenate([k[0] for k in kept])
    values = np.concatenate([k[1] for k in kept])
    order = np.lexsort((values, regions))
    regions, values = regions[order], values[order]
    starts = np.searchsorted(regions, np.arange(n), side="left")
    sizes = np.bincount(regions, minlength=n)
    out = np.full((n, 3), np.nan)
    has = sizes > 0
    for k, q in enumerate((10.0, 50.0, 90.0)):
        position = q / 100.0 * (sizes[has] - 1)
        lower = np.floor(position).astype(np.int64)
        upper = np.minimum(lower + 1, sizes[has] - 1)
        a = values[starts[has] + lower]
        b = values[starts[has] + upper]
        out[has, k] = a + (position - lower) * (b - a)
    return out


def _strips(raster, band: int, height: int):
    """Row strips of a path's band or an array: (row slice, raw array)."""
    if isinstance(raster, np.ndarray):
        for start in range(0, height, _STRIP_ROWS):
            rows = slice(start, min(start + _STRIP_ROWS, height))
            yield rows, raster[rows]
        return
    for start in range(0, height, _STRIP_ROWS):
        rows = slice(start, min(start + _STRIP_ROWS, height))
        window = ((rows.start, rows.stop), (0, raster.width))
        yield rows, raster.read(band, window=window)


def zonal_stats(regions: gpd.GeoDataFrame, raster: str | Path | np.ndarray, *, band: int = 1,
                transform: Affine | None = None, crs: str | None = None,
                nodata: float | None | object = _UNSET, scale: float | None = None,
                offset: float | None = None, good: np.ndarray | None = None,
                weights: np.ndarray | None = None, engine: str = "cropcast",
                cache_dir: str | Path | None = None,
                accumulate_only: bool = False) -> pd.DataFrame | Accumulator:
    """Statistics of a raster over regions (pixel-centre rule), as a tidy DataFrame.

    Parameters
    ----------
    regions : GeoDataFrame
        ``region_id`` and polygons in any CRS (reprojected to the raster's).
    raster : path or ndarray
        A GeoTIFF (any size: read in row strips), or a 2-D array with ``transform`` and
        ``crs``.
    band : int
        Band of a file.
    transform, crs : optional
        Georeferencing of an array (required then).
    nodata : number or None
        Fill value. A file's own nodata by default; an array must say (``None`` when it has
        no fill): a silent default is how fill values get averaged in.
    scale, offset : float, optional
        value = raw * scale + offset. A file's own scale/offset tags by default, 1 and 0
        for arrays. Statistics are in these physical units.
    good : ndarray of bool, optional
        Quality mask on the raster's grid (False: excluded), e.g. ``Scene.good``.
    weights : ndarray, optional
        Per-pixel weights (crop fraction) for ``weighted_mean``.
    engine : {"cropcast", "rasterstats"}
        The fast engine, or :func:`rasterstats.zonal_stats` (reference and fallback; no
        quality mask or weights).
    cache_dir : path, optional
        Folder of the label cache.
    accumulate_only : bool
        Return the :class:`Accumulator` (to combine tiles) instead of the table.

    Returns
    -------
    DataFrame
        ``region_id, count, pixels, valid_fraction, mean, std, p10, p50, p90,
        weighted_mean, reason``.
    """
    if engine not in ("cropcast", "rasterstats"):
        raise CropcastError(f"engine must be 'cropcast' or 'rasterstats'; got {engine!r}")
    if isinstance(raster, np.ndarray):
        if raster.ndim != 2:
            raise CropcastError(f"raster array must be 2-D; got shape {raster.shape}")
        if transform is None or crs is None:
            raise CropcastError("an array raster needs transform= and crs= (its grid)")
        if nodata is _UNSET:
            raise CropcastError("an array raster needs nodata= (its fill value, or None if it "
                                "has none): guessing it is how -3000 fills get averaged in")
        return _run(regions, raster, raster.shape, transform, crs, nodata, scale or 1.0,
                    offset or 0.0, band, good, weights, engine, cache_dir, accumulate_only)
    try:
        src = rasterio.open(raster)
    except rasterio.errors.RasterioIOError as error:
        raise CropcastError(f"{raster}: cannot be opened as a raster ({error})") from None
    with src:
        if src.crs is None:
            raise CropcastError(f"{raster}: has no CRS; regions cannot be placed on it")
        fill = src.nodata if nodata is _UNSET else nodata
        return _run(regions, src, src.shape, src.transform, src.crs, fill,
                    src.scales[band - 1] if scale is None else scale,
                    src.offsets[band - 1] if offset is None else offset, band, good, weights,
                    engine, cache_dir, accumulate_only)


def _run(regions, raster, shape, transform, crs, fill, scale, offset, band, good, weights,
         engine, cache_dir, accumulate_only):
    for name, array in (("good", good), ("weights", weights)):
        if array is not None and array.shape != tuple(shape):
            raise CropcastError(f"{name} has shape {array.shape}; the raster is {tuple(shape)}")
    if engine == "rasterstats":
        return _rasterstats(regions, raster, shape, transform, crs, fill, scale, offset, band)
    grid = TargetGrid(crs, transform, tuple(shape))
    labels = region_labels(regions, grid, cache_dir)
    dtype = raster.dtype if isinstance(raster, np.ndarray) else np.dtype(raster.dtypes[band - 1])
    acc = Accumulator.empty(labels.region_ids, dtype, float(scale), float(offset))
    acc.pixels[:] = labels.pixels
    hist = acc.hist if acc.hist is not None else np.zeros((1, 1), np.int64)
    dummy_bool, dummy_float = np.zeros((1, 1), bool), np.zeros((1, 1), np.float64)
    for rows, raw in _strips(raster, band, shape[0]):
        _accumulate(labels.raster[rows], raw, raw.dtype.type(fill) if fill is not None else 0,
                    fill is not None, good[rows] if good is not None else dummy_bool,
                    good is not None, weights[rows] if weights is not None else dummy_float,
                    weights is not None, float(scale), float(offset), acc.low, acc.count,
                    acc.total, acc.squares, acc.wsum, acc.wvsum, hist, acc.hist is not None)
        if acc.hist is None:  # float raster: keep the valid values for exact percentiles
            region = labels.raster[rows]
            physical = raw.astype(np.float64) * scale + offset
            valid = (region >= 0) & np.isfinite(physical)
            if fill is not None:
                valid &= raw != fill
            if good is not None:
                valid &= good[rows]
            acc.kept = [*(acc.kept or []), (region[valid], physical[valid])]
    return acc if accumulate_only else acc.result()


def _rasterstats(regions, raster, shape, transform, crs, fill, scale, offset, band):
    from rasterstats import zonal_stats as reference

    local = regions.to_crs(CRS.from_user_input(crs))
    data = raster if isinstance(raster, np.ndarray) else raster.read(band)
    stats = reference(local, data, affine=transform, nodata=fill,
                      stats=["count", "mean", "std", "percentile_10", "percentile_50",
                             "percentile_90"])
    table = pd.DataFrame(stats)
    out = pd.DataFrame({"region_id": local["region_id"].astype(str).to_numpy(),
                        "count": table["count"].astype(np.int64)})
    out["pixels"] = np.nan
    out["valid_fraction"] = np.nan
    for ours, theirs in (("mean", "mean"), ("std", "std"), ("p10", "percentile_10"),
                         ("p50", "percentile_50"), ("p90", "percentile_90")):
        values = table[theirs].astype(float) * scale
        out[ours] = values + offset if ours != "std" else values
    out["weighted_mean"] = np.nan
    out["reason"] = np.where(out["count"] == 0, NO_VALID, "")
    return out
