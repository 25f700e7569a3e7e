"""The three grids of a world: MODIS sinusoidal imagery, EPSG:5070 crop mask, lat/lon weather."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.transform import Affine

__all__ = [
    "ALBERS",
    "MODIS_SINUSOIDAL",
    "MODIS_TILE_SIZE",
    "Grid",
    "ImageryTile",
    "LatLonGrid",
    "cropmask_grid",
    "imagery_grid",
    "imagery_tiles",
    "weather_grid",
]

# The MODIS land grid: a sphere of radius 6371007.181 m in a sinusoidal projection, cut in
# 36 x 18 tiles of 1111950.52 m with the upper-left corner at (-20015109.354, 10007554.677).
MODIS_SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
MODIS_TILE_SIZE = 1111950.5197665
_MODIS_X0, _MODIS_Y0 = -20015109.354, 10007554.677
ALBERS = "EPSG:5070"


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, affine transform and shape (rows, cols)."""

    crs: str
    transform: Affine
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def pixel_centres(self, rows: slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x and y of pixel centres (2-D arrays) for ``rows`` (all rows by default)."""
        rows = rows or slice(0, self.height)
        r = np.arange(rows.start, rows.stop, dtype=np.float64) + 0.5
        c = np.arange(self.width, dtype=np.float64) + 0.5
        t = self.transform
        return np.meshgrid(t.c + c * t.a, t.f + r * t.e)


@dataclass(frozen=True)
class ImageryTile:
    """The part of MODIS tile ``hHHvVV`` that covers the world.

    ``row_slice``/``col_slice`` index the world's imagery grid; ``grid`` is the tile part's
    own grid (its transform lies on the global MODIS grid).
    """

    h: int
    v: int
    row_slice: slice
    col_slice: slice
    grid: Grid

    @property
    def name(self) -> str:
        return f"h{self.h:02d}v{self.v:02d}"


def _snap_bounds(bounds: tuple[float, float, float, float], x0: float, y0: float,
                 size: float) -> tuple[int, int, int, int]:
    """Columns and rows (start, stop) of a global grid that cover ``bounds``."""
    minx, miny, maxx, maxy = bounds
    col0 = math.floor((minx - x0) / size)
    col1 = math.ceil((maxx - x0) / size)
    row0 = math.floor((y0 - maxy) / size)
    row1 = math.ceil((y0 - miny) / size)
    return col0, col1, row0, row1


def imagery_grid(bounds_sinusoidal: tuple[float, float, float, float],
                 pixels_per_tile: int) -> tuple[Grid, int, int]:
    """The world's imagery grid on the global MODIS grid.

    Returns the grid and the global (column, row) of its upper-left pixel.
    """
    size = MODIS_TILE_SIZE / pixels_per_tile
    col0, col1, row0, row1 = _snap_bounds(bounds_sinusoidal, _MODIS_X0, _MODIS_Y0, size)
    transform = Affine(size, 0.0, _MODIS_X0 + col0 * size, 0.0, -size, _MODIS_Y0 - row0 * size)
    return Grid(MODIS_SINUSOIDAL, transform, row1 - row0, col1 - col0), col0, row0


def imagery_tiles(grid: Grid, col0: int, row0: int, pixels_per_tile: int) -> list[ImageryTile]:
    """Split the world's imagery grid along MODIS tile boundaries."""
    n = pixels_per_tile
    tiles = []
    for v in range(row0 // n, (row0 + grid.height - 1) // n + 1):
        for h in range(col0 // n, (col0 + grid.width - 1) // n + 1):
            r_start, r_stop = max(row0, v * n), min(row0 + grid.height, (v + 1) * n)
            c_start, c_stop = max(col0, h * n), min(col0 + grid.width, (h + 1) * n)
            rows = slice(r_start - row0, r_stop - row0)
            cols = slice(c_start - col0, c_stop - col0)
            t = grid.transform
            transform = Affine(t.a, 0.0, t.c + cols.start * t.a, 0.0, t.e, t.f + rows.start * t.e)
            tile_grid = Grid(grid.crs, transform, r_stop - r_start, c_stop - c_start)
            tiles.append(ImageryTile(h, v, rows, cols, tile_grid))
    return tiles


def cropmask_grid(bounds_albers: tuple[float, float, float, float], size: float) -> Grid:
    """An EPSG:5070 grid of ``size`` metres aligned to multiples of ``size``."""
    col0, col1, row0, row1 = _snap_bounds(bounds_albers, 0.0, 0.0, size)
    transform = Affine(size, 0.0, col0 * size, 0.0, -size, -row0 * size)
    return Grid(ALBERS, transform, row1 - row0, col1 - col0)


@dataclass(frozen=True)
class LatLonGrid:
    """A gridMET-like grid: cell-centre latitudes (descending) and longitudes."""

    lat: np.ndarray
    lon: np.ndarray
    resolution: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.lat.size, self.lon.size

    def cell_index(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Flat index of the cell holding each point (points must lie inside)."""
        col = np.floor((lon - (self.lon[0] - self.resolution / 2)) / self.resolution)
        row = np.floor(((self.lat[0] + self.resolution / 2) - lat) / self.resolution)
        col = np.clip(col.astype(np.int64), 0, self.lon.size - 1)
        row = np.clip(row.astype(np.int64), 0, self.lat.size - 1)
        return row * self.lon.size + col


def weather_grid(bounds_lonlat: tuple[float, float, float, float], resolution: float,
                 margin_cells: int = 2) -> LatLonGrid:
    """Cell centres on multiples of ``resolution`` covering the bounds with a margin."""
    minx, miny, maxx, maxy = bounds_lonlat
    i0 = math.floor(minx / resolution) - margin_cells
    i1 = math.ceil(maxx / resolution) + margin_cells
    j0 = math.floor(miny / resolution) - margin_cells
    j1 = math.ceil(maxy / resolution) + margin_cells
    lon = (np.arange(i0, i1) + 0.5) * resolution
    lat = ((np.arange(j0, j1) + 0.5) * resolution)[::-1]
    return LatLonGrid(np.round(lat, 10), np.round(lon, 10), resolution)
