"""Which pixels belong to which region, computed once per regions and grid, cached on disk.

Two pixel rules:

- ``centre``: a pixel belongs to the region holding its centre (the ``rasterstats``
  default). One label raster, so regions must not overlap (counties do not); overlapping
  regions need the coverage rule.
- ``coverage``: a pixel belongs to every region it overlaps, weighted by the share of its
  area inside (exactextract's coverage fractions, computed by exactextract itself). Pixels
  fully inside one region go to a label raster; boundary pixels to a small sparse table
  ``(pixel, region, fraction)``. A region smaller than a pixel still has its fraction.

(An all-touched label raster is not offered: burning all touched pixels into one raster
gives each boundary pixel to the last region burned, which is not all-touched.)

The cache is keyed by the regions' content (ids and geometry in the grid's CRS), the grid
(CRS, transform, shape) and the rule. Label rasters are ``.npy`` files opened memory-mapped,
so a CONUS grid costs pages, not gigabytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS
from rasterio.features import rasterize

from cropcast.errors import CropcastError
from cropcast.grid import TargetGrid
from cropcast.regions import regions_digest

__all__ = ["RULES", "Labels", "region_labels"]

RULES = ("centre", "coverage")


@dataclass
class Labels:
    """The pixel membership of regions on one grid.

    ``raster`` holds the index of the region each pixel wholly belongs to (-1: none or a
    boundary pixel under the coverage rule). ``sparse_pixel``, ``sparse_region`` and
    ``sparse_fraction`` hold the coverage rule's boundary pixels (empty for the centre
    rule), sorted by pixel. ``pixels`` is each region's size in pixels (coverage-weighted).
    """

    rule: str
    region_ids: np.ndarray
    raster: np.ndarray
    pixels: np.ndarray
    sparse_pixel: np.ndarray
    sparse_region: np.ndarray
    sparse_fraction: np.ndarray
    key: str


def _key(regions: gpd.GeoDataFrame, grid: TargetGrid, rule: str) -> str:
    digest = hashlib.sha256(f"labels-v3-{rule}".encode())
    digest.update(regions_digest(regions).encode())
    digest.update(CRS.from_user_input(grid.crs).to_wkt().encode())
    digest.update(np.asarray(tuple(grid.transform)[:6], dtype=np.float64).tobytes())
    digest.update(np.asarray(grid.shape, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def _label_dtype(n: int) -> np.dtype:
    return np.dtype(np.int16) if n < np.iinfo(np.int16).max else np.dtype(np.int32)


def _centre(regions: gpd.GeoDataFrame, grid: TargetGrid) -> dict:
    dtype = _label_dtype(len(regions))
    shapes = ((g, i + 1) for i, g in enumerate(regions.geometry) if not g.is_empty)
    burned = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                       dtype="int32")
    raster = (burned - 1).astype(dtype)
    pixels = np.bincount(raster[raster >= 0], minlength=len(regions)).astype(np.float64)
    empty = np.zeros(0, dtype=np.int64)
    return {"raster": raster, "pixels": pixels, "sparse_pixel": empty,
            "sparse_region": empty.astype(np.int32), "sparse_fraction": empty.astype(float)}


def _coverage(regions: gpd.GeoDataFrame, grid: TargetGrid, batch: int = 100) -> dict:
    """Coverage fractions from exactextract, a batch of regions at a time (bounded memory):
    whole pixels of one region go to the label raster, the rest to the sparse table."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    rows, cols = grid.shape
    t = grid.transform
    # The grid only: exactextract reads no values for cell_id and coverage, and untouched
    # zero pages cost no memory.
    source = NumPyRasterSource(np.zeros(grid.shape, dtype=np.uint8), t.c, t.f + rows * t.e,
                               t.c + cols * t.a, t.f,
                               srs_wkt=CRS.from_user_input(grid.crs).to_wkt())
    raster = np.full(rows * cols, -1, dtype=_label_dtype(len(regions)))
    pixels = np.zeros(len(regions))
    sparse: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(regions), batch):
        found = exact_extract(source, regions.iloc[start: start + batch][["geometry"]],
                              ["cell_id", "coverage"], output="pandas")
        for offset, (cells, fractions) in enumerate(zip(found["cell_id"], found["coverage"],
                                                        strict=True)):
            index = start + offset
            cells = np.asarray(cells, dtype=np.int64)
            fractions = np.asarray(fractions, dtype=np.float64)
            cells, fractions = cells[fractions > 0], fractions[fractions > 0]
            pixels[index] = fractions.sum()
            whole = fractions == 1.0
            owner = raster[cells[whole]]
            shared = owner >= 0  # overlapping regions: both keep the pixel, in the table
            if shared.any():
                both = cells[whole][shared]
                sparse.append((both, owner[shared].astype(np.int32), np.ones(both.size)))
                raster[both] = -1
                whole[np.flatnonzero(whole)[shared]] = False
            raster[cells[whole]] = index
            sparse.append((cells[~whole], np.full((~whole).sum(), index, np.int32),
                           fractions[~whole]))
    pixel = np.concatenate([p for p, _, _ in sparse]) if sparse else np.zeros(0, np.int64)
    region = np.concatenate([r for _, r, _ in sparse]) if sparse else np.zeros(0, np.int32)
    fraction = np.concatenate([f for _, _, f in sparse]) if sparse else np.zeros(0)
    order = np.argsort(pixel, kind="stable")
    return {"raster": raster.reshape(grid.shape), "pixels": pixels,
            "sparse_pixel": pixel[order], "sparse_region": region[order],
            "sparse_fraction": fraction[order]}


def region_labels(regions: gpd.GeoDataFrame, grid: TargetGrid, rule: str = "centre",
                  cache_dir: str | Path | None = None) -> Labels:
    """The pixel membership of ``regions`` on ``grid``, from the cache or computed.

    Parameters
    ----------
    regions : GeoDataFrame
        ``region_id`` and polygons, in any CRS (reprojected to the grid's).
    grid : TargetGrid
        The raster grid.
    rule : {"centre", "coverage"}
        Pixel rule (see the module docstring).
    cache_dir : path, optional
        Folder of the cache; None computes without caching.
    """
    if rule not in RULES:
        raise CropcastError(f"rule must be one of {list(RULES)}; got {rule!r}")
    if regions.crs is None:
        raise CropcastError("regions have no CRS; set it (e.g. EPSG:4269 for Census "
                            "counties) so they can be reprojected to the raster's CRS")
    if "region_id" not in regions:
        raise CropcastError("regions need a 'region_id' column")
    local = regions.to_crs(CRS.from_user_input(grid.crs))
    key = _key(local, grid, rule)
    ids = local["region_id"].astype(str).to_numpy()
    folder = Path(cache_dir) if cache_dir is not None else None
    if folder is not None and (folder / f"labels-{key}.json").is_file():
        return _load(folder, key, rule, ids)
    parts = _centre(local, grid) if rule == "centre" else _coverage(local, grid)
    if folder is not None:
        _save(folder, key, parts)
        return _load(folder, key, rule, ids)
    return Labels(rule, ids, key=key, **parts)


def _save(folder: Path, key: str, parts: dict) -> None:
    """Write the arrays, then the JSON index last: a cache without its index is ignored."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in parts.items():
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".npy", dir=folder)
        os.close(handle)
        try:
            np.save(temporary, array)
            os.replace(temporary, folder / f"labels-{key}-{name}.npy")
        finally:
            Path(temporary).unlink(missing_ok=True)
    index = folder / f"labels-{key}.json"
    handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".json", dir=folder)
    with os.fdopen(handle, "w") as out:
        json.dump({"arrays": sorted(parts)}, out)
    os.replace(temporary, index)


def _load(folder: Path, key: str, rule: str, ids: np.ndarray) -> Labels:
    def array(name: str, mmap: bool = False) -> np.ndarray:
        return np.load(folder / f"labels-{key}-{name}.npy", mmap_mode="r" if mmap else None)

    return Labels(rule, ids, array("raster", mmap=True), array("pixels"),
                  array("sparse_pixel"), array("sparse_region"), array("sparse_fraction"), key)
