"""Crop fractions: the share of a crop-mask's fine pixels of chosen classes in each pixel of
another grid (an imagery tile, a weather grid).

Corn and soybeans rotate, so last season's corn layer is mostly this season's soybeans and
a poor in-season corn mask. The default in-season weight is therefore a multi-year corn
frequency over the seasons before the target one; a corn-or-soy cropland share and the
previous season alone are the alternatives. A season's own layer appears only after the
season (CDL is published early the next year): ``same_year`` exists for hindcasts and for
measuring the other modes, never for in-season forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.transform import Affine
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from cropcast.checks import check_int
from cropcast.errors import CropcastError
from cropcast.features.sources.catalog import CROPMASK_MODES, CropMaskSource
from cropcast.grid import TargetGrid, centre_lattice, pixel_index

__all__ = ["crop_fraction", "crop_weights"]

_CROPLAND = (1, 5)  # corn, soybeans


@numba.njit(cache=True, nogil=True)
def _count_classes(codes, tx, ty, step, c, a, f, e, rows_t, cols_t, counted, wanted, total,
                   hits):
    """:func:`pixel_index` and the two bincounts of :func:`_class_shares` in one pass, with
    the same arithmetic in the same order (so the same pixel lands in the same cell)."""
    height, width = codes.shape
    for r in range(height):
        top = r // step
        frac = (r % step) / step
        for k in range(width):
            code = codes[r, k]
            if not counted[code]:
                continue
            px = tx[top, k] * (1 - frac) + tx[top + 1, k] * frac
            py = ty[top, k] * (1 - frac) + ty[top + 1, k] * frac
            col = np.int64(np.floor((px - c) / a))
            row = np.int64(np.floor((py - f) / e))
            if col < 0 or col >= cols_t or row < 0 or row >= rows_t:
                continue
            cell = row * cols_t + col
            total[cell] += 1
            if wanted[code]:
                hits[cell] += 1


def _cached_shares(path: str, target: TargetGrid, classes: Sequence[int]) -> np.ndarray:
    """:func:`_class_shares`, remembered per file version: a season's mask serves the
    frequency weights of several later seasons, and every date of a season shares them."""
    try:
        stat = Path(path).stat()
    except OSError as error:
        raise CropcastError(f"{path}: cannot be read as a crop mask ({error})") from None
    return _remembered_shares(path, stat.st_mtime_ns, stat.st_size, target, tuple(classes))


@lru_cache(maxsize=64)
def _remembered_shares(path: str, mtime_ns: int, size: int, target: TargetGrid,
                       classes: tuple[int, ...]) -> np.ndarray:
    shares = _class_shares(path, target, classes)
    shares.flags.writeable = False  # shared by every caller
    return shares


def _class_shares(path: str, target: TargetGrid, classes: Sequence[int]) -> np.ndarray:
    """Share of ``classes`` among the non-background mask pixels in each target pixel
    (NaN where the mask has none), reading only the window that covers the target."""
    try:
        src = rasterio.open(path)
    except RasterioIOError as error:
        raise CropcastError(f"{path}: cannot be opened as a crop mask ({error}); download it "
                            "again") from None
    with src:
        if src.crs is None:
            raise CropcastError(f"{path}: has no CRS; CDL files are EPSG:5070 (set it with "
                                "gdal_edit.py -a_srs EPSG:5070)")
        rows, cols = target.shape
        t = target.transform
        bounds = (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
        west, south, east, north = transform_bounds(target.crs, src.crs, *bounds,
                                                    densify_pts=21)
        st = src.transform
        c0 = max(int(np.floor((west - st.c) / st.a)), 0)
        c1 = min(int(np.ceil((east - st.c) / st.a)), src.width)
        r0 = max(int(np.floor((north - st.f) / st.e)), 0)
        r1 = min(int(np.ceil((south - st.f) / st.e)), src.height)
        shares = np.full(rows * cols, np.nan, dtype=np.float32)
        if c1 <= c0 or r1 <= r0:
            return shares.reshape(target.shape)
        window = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            codes = src.read(1, window=window)
        except rasterio.errors.RasterioError as error:
            raise CropcastError(f"{path}: cannot be read ({error}); the file looks truncated: "
                                "download it again") from None
        window_transform = st @ Affine.translation(c0, r0)
        nodata = src.nodata
        if codes.dtype == np.uint8:  # CDL: one compiled pass, no per-pixel index array
            counted = np.ones(256, dtype=bool)
            counted[0] = False
            if nodata is not None and 0 <= nodata <= 255:
                counted[int(nodata)] = False
            wanted = np.zeros(256, dtype=bool)
            wanted[[k for k in classes if 0 <= k <= 255]] = True
            tx, ty = centre_lattice(src.crs, window_transform, codes.shape, target, 8)
            total = np.zeros(rows * cols, dtype=np.int64)
            hits = np.zeros(rows * cols, dtype=np.int64)
            _count_classes(codes, tx, ty, 8, t.c, t.a, t.f, t.e, rows, cols, counted, wanted,
                           total, hits)
            np.divide(hits, total, out=shares, where=total > 0)
            return shares.reshape(target.shape)
        index = pixel_index(src.crs, window_transform, codes.shape, target)
    valid = (index >= 0) & (codes != 0)
    if nodata is not None:
        valid &= codes != nodata
    total = np.bincount(index[valid], minlength=rows * cols)
    hits = np.bincount(index[valid & np.isin(codes, classes)], minlength=rows * cols)
    np.divide(hits, total, out=shares, where=total > 0)
    return shares.reshape(target.shape)


def crop_fraction(masks: Mapping[int, str], year: int, target: TargetGrid,
                  mode: str = "frequency", classes: Sequence[int] = (1,),
                  years_back: int = 4) -> np.ndarray:
    """Crop weight of each pixel of ``target`` for ``year``'s season.

    Parameters
    ----------
    masks : mapping of int to str
        Crop-mask (CDL) GeoTIFF path by season.
    year : int
        The season the weights are for.
    target : TargetGrid
        The grid to aggregate onto (an imagery tile, a weather grid).
    mode : {"frequency", "previous_year", "cropland", "same_year"}
        ``frequency``: mean share of ``classes`` over the ``years_back`` seasons before
        ``year`` (those available); ``previous_year``: last season's share;
        ``cropland``: last season's corn-or-soybean share; ``same_year``: the season's own
        layer (after the season only).
    classes : sequence of int
        Crop-mask classes counted (CDL corn = 1).
    years_back : int
        Seasons averaged by ``frequency``.

    Returns
    -------
    ndarray of float32, shape ``target.shape``
        Fractions in [0, 1]; NaN where the mask has no data.
    """
    if mode not in CROPMASK_MODES:
        raise CropcastError(f"mode must be one of {list(CROPMASK_MODES)}; got {mode!r}")
    check_int(years_back, "years_back", 1)
    if mode == "same_year":
        years, classes = [year], classes
    elif mode == "frequency":
        years = [y for y in range(year - years_back, year) if y in masks]
    else:
        years = [year - 1] if year - 1 in masks else []
        classes = _CROPLAND if mode == "cropland" else classes
    if not years:
        have = sorted(masks)
        raise CropcastError(
            f"crop mask mode {mode!r} for {year} needs the mask of "
            f"{'the same season' if mode == 'same_year' else 'earlier seasons'}; masks exist "
            f"for {have[0] if have else 'no'}-{have[-1] if have else 'year'}. Add earlier CDL "
            "years or choose another mode")
    stack = np.stack([_cached_shares(masks[y], target, classes) for y in years])
    with np.errstate(invalid="ignore"):
        counted = np.isfinite(stack).sum(axis=0)
        out = np.where(counted > 0, np.nansum(stack, axis=0) / np.maximum(counted, 1), np.nan)
    return out.astype(np.float32)


@lru_cache(maxsize=16)
def _fraction(masks: tuple, year: int, grid: TargetGrid, mode: str, classes: tuple,
              years_back: int) -> np.ndarray:
    return crop_fraction(dict(masks), year, grid, mode, classes, years_back)


def crop_weights(cropmask: CropMaskSource | None, year: int,
                 grid: TargetGrid) -> np.ndarray | None:
    """In-season crop weights of ``year`` on ``grid`` (the source's mode, classes and
    seasons; remembered per process); None without a mask for the season.

    Parameters
    ----------
    cropmask : CropMaskSource, optional
        The crop masks; None: no weights.
    year : int
        The season.
    grid : TargetGrid
        The grid to weight (an imagery tile, a weather grid).

    Returns
    -------
    ndarray of float32 or None
        :func:`crop_fraction` on ``grid``.
    """
    masks = cropmask.season_paths(year) if cropmask is not None else {}
    if not masks:
        return None
    return _fraction(tuple(masks.items()), year, grid, cropmask.mode, tuple(cropmask.classes),
                     cropmask.years_back)
