"""Zonal statistics over regions in one compiled pass over the raster.

Every raster on a grid is aggregated in one pass over row strips (numba, threads over
strips with ``workers``): count of valid pixels, valid fraction, mean, standard deviation,
p10/p50/p90 and the weighted (crop-fraction) mean. Percentiles of integer rasters come from
exact per-region histograms of the raw values (numpy's linear interpolation), so memory
stays bounded whatever the raster size; float rasters keep their valid values for them.
Several grids (MODIS tiles) combine exactly: :class:`Accumulator` objects add up.

Under the ``coverage`` rule every sum is weighted by the pixel's coverage fraction: the
mean is exactextract's coverage-weighted mean, ``count`` and ``pixels`` are in pixel
areas, and percentiles are not computed (NaN).

Regions are reprojected to the raster's CRS, never the raster to theirs. A region with no
valid pixel on a date gets NaN statistics and a ``reason``, never a silent drop.
``engine="rasterstats"`` runs :func:`rasterstats.zonal_stats` on the same inputs: the
reference the fast engine is tested against, and the fallback for inputs it does not take.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import rasterio
from pyproj import CRS
from rasterio.transform import Affine

from cropcast.checks import check_int
from cropcast.errors import CropcastError
from cropcast.features.zonal.labels import Labels, region_labels
from cropcast.grid import TargetGrid

__all__ = ["NO_PIXEL", "NO_VALID", "STATS", "Accumulator", "zonal_stats"]

STATS = ("count", "pixels", "valid_fraction", "mean", "std", "p10", "p50", "p90",
         "weighted_mean")
_STRIP_ROWS = 1024
_GDAL_CACHE_BYTES = 64 * 2**20
_UNSET = object()
NO_VALID = "no valid pixel on this date (all fill, masked or cloudy)"
NO_PIXEL = "no pixel of the grid falls in the region (smaller than a pixel: use rule=coverage)"


@numba.njit(cache=True, nogil=True)
def _accumulate(labels, raw, fill, has_fill, low, high, good, has_good, weights, has_weights,
                scale, offset, count, total, squares, wsum, wvsum, hist, has_hist):
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
            if not (value >= low and value <= high):  # also drops NaN
                continue
            physical = value * scale + offset
            count[region] += 1.0
            total[region] += physical
            squares[region] += physical * physical
            if has_weights:
                weight = weights[r, c]
                if weight == weight and weight > 0:
                    wsum[region] += weight
                    wvsum[region] += weight * physical
            if has_hist:
                hist[region, np.int64(value) - np.int64(low)] += 1


@numba.njit(cache=True, nogil=True)
def _histogram_only(labels, raw, fill, has_fill, low, high, good, has_good, hist):
    """The lean pass: count each valid pixel's raw value in its region's histogram; the
    moments come from the histogram afterwards (:func:`_histogram_moments`).

    The pixel tests repeat :func:`_accumulate`'s on purpose: a shared inlined helper made
    this loop about 40% slower (measured at 250 m).
    """
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
            if value < low or value > high:
                continue
            hist[region, np.int64(value) - np.int64(low)] += 1


@numba.njit(cache=True)
def _histogram_moments(hist, low, scale, offset, count, total, squares):
    regions, bins = hist.shape
    for region in range(regions):
        for b in range(bins):
            n = hist[region, b]
            if n:
                physical = (b + low) * scale + offset
                count[region] += n
                total[region] += n * physical
                squares[region] += n * physical * physical


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
            seen, a, upper = 0, -1, -1
            for b in range(bins):
                size = hist[region, b]
                if size == 0:
                    continue
                if a < 0 and seen + size > lower:
                    a = b
                if seen + size > lower + 1:
                    upper = b
                    break
                seen += size
            if upper < 0:
                upper = a
            out[region, k] = (a + low) + frac * (upper - a)


@dataclass
class Accumulator:
    """Running sums of one raster over regions; tiles (and strips) add up exactly."""

    region_ids: np.ndarray
    pixels: np.ndarray
    scale: float
    offset: float
    low: float
    high: float
    count: np.ndarray = field(init=False)
    total: np.ndarray = field(init=False)
    squares: np.ndarray = field(init=False)
    wsum: np.ndarray = field(init=False)
    wvsum: np.ndarray = field(init=False)
    hist: np.ndarray | None = None
    kept: list = field(default_factory=list)
    percentiles: bool = True
    moments_in_hist: bool = False  # count/total/squares still to be read from `hist`

    def __post_init__(self) -> None:
        n = len(self.region_ids)
        for name in ("count", "total", "squares", "wsum", "wvsum"):
            setattr(self, name, np.zeros(n))

    def spawn(self) -> Accumulator:
        """An empty accumulator of the same shape (for another thread or tile)."""
        other = Accumulator(self.region_ids, np.zeros_like(self.pixels), self.scale,
                            self.offset, self.low, self.high, percentiles=self.percentiles,
                            moments_in_hist=self.moments_in_hist)
        if self.hist is not None:
            other.hist = np.zeros_like(self.hist)
        return other

    def add(self, other: Accumulator) -> None:
        """Combine another strip's or grid's (tile's) sums for the same regions."""
        if not np.array_equal(self.region_ids, other.region_ids):
            raise CropcastError("accumulators of different region sets cannot be combined")
        if ((self.hist is None) != (other.hist is None) or self.low != other.low
                or self.moments_in_hist != other.moments_in_hist):
            raise CropcastError("rasters of different value types cannot be combined")
        for name in ("pixels", "count", "total", "squares", "wsum", "wvsum"):
            getattr(self, name)[:] += getattr(other, name)
        if self.hist is not None:
            self.hist += other.hist
        self.kept += other.kept
        self.percentiles &= other.percentiles

    def result(self) -> pd.DataFrame:
        """The tidy statistics, one row per region, with a reason where missing."""
        count, total, squares = self.count.copy(), self.total.copy(), self.squares.copy()
        if self.moments_in_hist:
            _histogram_moments(self.hist, np.int64(self.low), self.scale, self.offset, count,
                               total, squares)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
            weighted = self.wvsum / self.wsum
            fraction = count / self.pixels
        percentiles = np.full((len(mean), 3), np.nan)
        if self.percentiles and self.hist is not None:
            raw = np.full((len(mean), 3), np.nan)
            _histogram_percentiles(self.hist, np.int64(self.low), np.array([10.0, 50.0, 90.0]),
                                   raw)
            percentiles = raw * self.scale + self.offset
        elif self.percentiles and self.kept:
            percentiles = _sorted_percentiles(self.kept, len(mean))
        reason = np.where(self.pixels == 0, NO_PIXEL, np.where(count == 0, NO_VALID, ""))
        counts = count if not np.all(count % 1 == 0) else count.astype(np.int64)
        return pd.DataFrame({
            "region_id": self.region_ids, "count": counts, "pixels": self.pixels,
            "valid_fraction": fraction, "mean": mean, "std": std, "p10": percentiles[:, 0],
            "p50": percentiles[:, 1], "p90": percentiles[:, 2], "weighted_mean": weighted,
            "reason": reason,
        })


def _sorted_percentiles(kept: list, n: int) -> np.ndarray:
    """p10/p50/p90 per region from kept (region, value) pairs, as numpy.percentile does."""
    regions = np.concatenate([k[0] for k in kept]).astype(np.int64)
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
        a, b = values[starts[has] + lower], values[starts[has] + upper]
        out[has, k] = a + (position - lower) * (b - a)
    return out


@dataclass
class _Inputs:
    raster: object  # ndarray or an open rasterio dataset
    band: int
    dtype: np.dtype
    fill: float | None
    scale: float
    offset: float
    good: np.ndarray | None
    weights: np.ndarray | None


def _strip(inputs: _Inputs, rows: slice) -> np.ndarray:
    if isinstance(inputs.raster, np.ndarray):
        return np.ascontiguousarray(inputs.raster[rows])
    return inputs.raster.read(inputs.band, window=((rows.start, rows.stop),
                                                   (0, inputs.raster.width)))


def _read_ahead(inputs: _Inputs, slices: list[slice]) -> Iterator[tuple[slice, np.ndarray]]:
    """The strips in order; a file's next strip is read in the background (GDAL releases
    the GIL, as do the compiled kernels) while the caller aggregates the current one."""
    if isinstance(inputs.raster, np.ndarray):
        for rows in slices:
            yield rows, _strip(inputs, rows)
        return
    with ThreadPoolExecutor(1) as reader:  # one thread: a dataset is not shared for reading
        pending = reader.submit(_strip, inputs, slices[0])
        for k, rows in enumerate(slices):
            raw = pending.result()
            if k + 1 < len(slices):
                pending = reader.submit(_strip, inputs, slices[k + 1])
            yield rows, raw


def _run_strip(inputs: _Inputs, labels: Labels, acc: Accumulator, rows: slice,
               raw: np.ndarray) -> None:
    width = raw.shape[1]
    good = inputs.good[rows] if inputs.good is not None else np.zeros((1, 1), bool)
    weights = inputs.weights[rows] if inputs.weights is not None else np.zeros((1, 1))
    hist = acc.hist if acc.hist is not None else np.zeros((1, 1), np.int32)
    # Compare in the raster's own type (the range is within it, see _accumulator), so the
    # compiled kernel never converts every pixel.
    low, high = acc.low, acc.high
    as_raw = raw.dtype.type
    fill = as_raw(inputs.fill) if inputs.fill is not None else as_raw(0)
    region = np.asarray(labels.raster[rows])
    if acc.moments_in_hist:
        _histogram_only(region, raw, fill, inputs.fill is not None, as_raw(low), as_raw(high),
                        good, inputs.good is not None, hist)
        return
    _accumulate(region, raw, fill, inputs.fill is not None, as_raw(low), as_raw(high),
                good, inputs.good is not None, weights, inputs.weights is not None,
                inputs.scale, inputs.offset, acc.count, acc.total, acc.squares, acc.wsum,
                acc.wvsum, hist, acc.hist is not None)
    if acc.hist is None and acc.percentiles:
        valid = _valid(region, raw, inputs, acc, rows)
        physical = raw[valid].astype(np.float64) * inputs.scale + inputs.offset
        acc.kept.append((region[valid], physical))
    if labels.sparse_pixel.size:
        _sparse(labels, acc, inputs, rows, raw, width)


def _valid(region, raw, inputs, acc, rows) -> np.ndarray:
    valid = (region >= 0) & (raw >= acc.low) & (raw <= acc.high)
    if inputs.fill is not None:
        valid &= raw != inputs.fill
    if inputs.good is not None:
        valid &= inputs.good[rows]
    return valid


def _sparse(labels: Labels, acc: Accumulator, inputs: _Inputs, rows: slice, raw: np.ndarray,
            width: int) -> None:
    """Boundary pixels of the coverage rule: sums weighted by coverage fractions."""
    first, last = np.searchsorted(labels.sparse_pixel, [rows.start * width, rows.stop * width])
    pixel = labels.sparse_pixel[first:last] - rows.start * width
    region = labels.sparse_region[first:last]
    fraction = labels.sparse_fraction[first:last]
    value = raw.ravel()[pixel]
    valid = (value >= acc.low) & (value <= acc.high)
    if inputs.fill is not None:
        valid &= value != inputs.fill
    if inputs.good is not None:
        valid &= inputs.good[rows].ravel()[pixel]
    physical = value[valid].astype(np.float64) * inputs.scale + inputs.offset
    f, r = fraction[valid], region[valid]
    n = len(acc.count)
    acc.count += np.bincount(r, weights=f, minlength=n)
    acc.total += np.bincount(r, weights=f * physical, minlength=n)
    acc.squares += np.bincount(r, weights=f * physical**2, minlength=n)
    if inputs.weights is not None:
        w = inputs.weights[rows].ravel()[pixel][valid]
        w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
        acc.wsum += np.bincount(r, weights=f * w, minlength=n)
        acc.wvsum += np.bincount(r, weights=f * w * physical, minlength=n)


def zonal_stats(regions: gpd.GeoDataFrame, raster: str | Path | np.ndarray, *, band: int = 1,
                transform: Affine | None = None, crs: str | None = None,
                nodata: float | None | object = _UNSET, scale: float | None = None,
                offset: float | None = None, valid_range: tuple[float, float] | None = None,
                good: np.ndarray | None = None, weights: np.ndarray | None = None,
                rule: str = "centre", engine: str = "cropcast", workers: int = 1,
                cache_dir: str | Path | None = None, labels: Labels | None = None,
                accumulate_only: bool = False) -> pd.DataFrame | Accumulator:
    """Statistics of a raster over regions, as a tidy DataFrame.

    Parameters
    ----------
    regions : GeoDataFrame
        ``region_id`` and polygons in any CRS (reprojected to the raster's).
    raster : path or ndarray
        A GeoTIFF of any size (read in row strips), or a 2-D array with ``transform`` and
        ``crs``.
    band : int
        Band of a file.
    transform, crs : optional
        Georeferencing of an array (required then).
    nodata : number or None
        Fill value: a file's own nodata by default; an array must say (``None`` when it has
        none), since a silent default is how -3000 fills get averaged in.
    scale, offset : float, optional
        value = raw * scale + offset: a file's own scale/offset tags by default (1 and 0
        for arrays); statistics are in these physical units.
    valid_range : (low, high), optional
        Raw values outside are invalid (MOD13Q1 NDVI: -2000, 10000). For 16-bit rasters it
        also sizes the percentile histograms (the whole type's range otherwise).
    good : ndarray of bool, optional
        Quality mask on the raster's grid (False: excluded), e.g. ``Scene.good``.
    weights : ndarray, optional
        Per-pixel weights (a crop fraction) for ``weighted_mean``.
    rule : {"centre", "coverage"}
        Pixel rule (see :mod:`cropcast.features.zonal.labels`).
    engine : {"cropcast", "rasterstats"}
        The fast engine, or :func:`rasterstats.zonal_stats` (centre rule; no quality
        mask, weights or valid range).
    workers : int
        Threads aggregating row strips. A file's next strip is always read in the
        background while the current one is aggregated.
    cache_dir : path, optional
        Folder of the label cache.
    labels : Labels, optional
        Labels from :func:`cropcast.features.zonal.region_labels` for this grid, to reuse across
        dates (skips reprojecting and hashing the regions on every call).
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
    check_int(workers, "workers", 1)
    if isinstance(raster, np.ndarray):
        if raster.ndim != 2:
            raise CropcastError(f"raster array must be 2-D; got shape {raster.shape}")
        if transform is None or crs is None:
            raise CropcastError("an array raster needs transform= and crs= (its grid)")
        if nodata is _UNSET:
            raise CropcastError("an array raster needs nodata= (its fill value, or None if it "
                                "has none): guessing it is how -3000 fills get averaged in")
        inputs = _Inputs(raster, band, raster.dtype, nodata, 1.0 if scale is None else scale,
                         0.0 if offset is None else offset, good, weights)
        return _run(regions, inputs, TargetGrid(crs, transform, raster.shape), valid_range,
                    rule, engine, workers, cache_dir, labels, accumulate_only)
    # Strips are read once each: GDAL's block cache (5% of RAM by default) would only hold
    # a copy of what was already aggregated.
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_BYTES):
        return _run_file(regions, raster, band, nodata, scale, offset, valid_range, good,
                         weights, rule, engine, workers, cache_dir, labels, accumulate_only)


def _run_file(regions, raster, band, nodata, scale, offset, valid_range, good, weights, rule,
              engine, workers, cache_dir, labels, accumulate_only):
    try:
        src = rasterio.open(raster)
    except rasterio.errors.RasterioIOError as error:
        raise CropcastError(f"{raster}: cannot be opened as a raster ({error})") from None
    with src:
        if src.crs is None:
            raise CropcastError(f"{raster}: has no CRS; regions cannot be placed on it")
        inputs = _Inputs(src, band, np.dtype(src.dtypes[band - 1]),
                         src.nodata if nodata is _UNSET else nodata,
                         src.scales[band - 1] if scale is None else scale,
                         src.offsets[band - 1] if offset is None else offset, good, weights)
        return _run(regions, inputs, TargetGrid(src.crs, src.transform, src.shape),
                    valid_range, rule, engine, workers, cache_dir, labels, accumulate_only)


def _run(regions, inputs: _Inputs, grid: TargetGrid, valid_range, rule, engine, workers,
         cache_dir, labels, accumulate_only):
    for name, array in (("good", inputs.good), ("weights", inputs.weights)):
        if array is not None and array.shape != tuple(grid.shape):
            raise CropcastError(f"{name} has shape {array.shape}; the raster is "
                                f"{tuple(grid.shape)}")
    if engine == "rasterstats":
        return _rasterstats(regions, inputs, grid)
    if labels is None:
        labels = region_labels(regions, grid, rule, cache_dir)
    elif labels.raster.shape != tuple(grid.shape) or labels.rule != rule:
        raise CropcastError(f"labels are for a {labels.raster.shape} grid under the "
                            f"{labels.rule!r} rule; the raster is {tuple(grid.shape)} under "
                            f"{rule!r}: build them with region_labels for this grid")
    acc = _accumulator(labels, inputs, valid_range, rule)
    starts = range(0, grid.shape[0], _STRIP_ROWS)
    slices = [slice(s, min(s + _STRIP_ROWS, grid.shape[0])) for s in starts]
    strips = _read_ahead(inputs, slices)
    if workers == 1:
        for rows, raw in strips:
            _run_strip(inputs, labels, acc, rows, raw)
    else:
        # Strips are read in order and aggregated by the pool; each worker owns an
        # accumulator and at most `workers` + 2 strips are in memory at once.
        parts = [acc.spawn() for _ in range(workers)]
        with ThreadPoolExecutor(workers) as pool:
            futures = []
            for i, (rows, raw) in enumerate(strips):
                if i >= workers:
                    futures[i - workers].result()
                futures.append(pool.submit(_run_strip, inputs, labels, parts[i % workers],
                                           rows, raw))
            for future in futures:
                future.result()
        for part in parts:
            part.pixels[:] = 0  # the regions' sizes are counted once, in `acc`
            acc.add(part)
    return acc if accumulate_only else acc.result()


def _accumulator(labels: Labels, inputs: _Inputs, valid_range, rule: str) -> Accumulator:
    dtype = inputs.dtype
    if valid_range is not None:
        low, high = valid_range
        if not low <= high:
            raise CropcastError(f"valid_range must be (low, high) with low <= high; got "
                                f"{valid_range!r}")
    else:
        low, high = -np.inf, np.inf
    if dtype.kind in "iu":  # integers: the range within the type, in whole numbers
        info = np.iinfo(dtype)
        low, high = int(max(np.ceil(low), info.min)), int(min(np.floor(high), info.max))
    acc = Accumulator(labels.region_ids, np.asarray(labels.pixels, dtype=np.float64).copy(),
                      float(inputs.scale), float(inputs.offset), low, high,
                      percentiles=rule == "centre")
    if dtype.kind in "iu" and dtype.itemsize <= 2 and rule == "centre":
        acc.hist = np.zeros((len(labels.region_ids), int(high) - int(low) + 1), np.int32)
        # Without weights, the histogram alone gives every statistic: the lean pass.
        acc.moments_in_hist = inputs.weights is None
    return acc


def _rasterstats(regions, inputs: _Inputs, grid: TargetGrid) -> pd.DataFrame:
    from rasterstats import zonal_stats as reference

    local = regions.to_crs(CRS.from_user_input(grid.crs))
    data = inputs.raster if isinstance(inputs.raster, np.ndarray) else inputs.raster.read(
        inputs.band)
    stats = pd.DataFrame(reference(local, data, affine=grid.transform, nodata=inputs.fill,
                                   stats=["count", "mean", "std", "percentile_10",
                                          "percentile_50", "percentile_90"]))
    out = pd.DataFrame({"region_id": local["region_id"].astype(str).to_numpy(),
                        "count": stats["count"].astype(np.int64)})
    out["pixels"] = np.nan
    out["valid_fraction"] = np.nan
    for ours, theirs in (("mean", "mean"), ("std", "std"), ("p10", "percentile_10"),
                         ("p50", "percentile_50"), ("p90", "percentile_90")):
        values = stats[theirs].astype(float) * inputs.scale
        out[ours] = values if ours == "std" else values + inputs.offset
    out["weighted_mean"] = np.nan
    out["reason"] = np.where(out["count"] == 0, NO_VALID, "")
    return out
