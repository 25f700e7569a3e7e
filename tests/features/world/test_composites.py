"""A composite holds only observations from its own window."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from cropcast.features.world.grids import MODIS_SINUSOIDAL, Grid, imagery_tiles
from cropcast.features.world.imagery import ImageryLayout, write_season_imagery


def _layout():
    size = 1111950.5197665 / 10  # ten pixels per tile: the tiny grid spans two tiles
    grid = Grid(MODIS_SINUSOIDAL, Affine(size, 0, -20015109.354 + 105 * size, 0, -size,
                                         10007554.677 - 41 * size), 6, 10)
    tiles = imagery_tiles(grid, 105, 41, 10)
    valid = np.arange(60)
    county = (valid % 2).astype(np.int64)
    zeros = np.zeros(60, dtype=np.float32)
    return ImageryLayout(grid, tiles, valid, county, zeros, zeros)


def _write(folder, canopy):
    fractions = np.zeros((6, 60), dtype=np.float32)
    fractions[0] = 1.0  # all corn
    return write_season_imagery(folder, 2012, canopy, fractions, _layout(), (177, 209),
                                (185, 193), np.random.default_rng(3))


def test_changing_days_after_a_window_leaves_its_composite_unchanged(tmp_path):
    days = np.arange(366)
    canopy = np.broadcast_to(0.3 + 0.5 * np.sin(np.pi * days / 366), (6, 2, 366)).copy()
    before = _write(tmp_path / "a", canopy.astype(np.float32))
    later = canopy.copy()
    later[:, :, 193 + 15:] = 0.1  # every day after the window of the composite of day 193
    after = _write(tmp_path / "b", later.astype(np.float32))

    def read(entries, doy, layer):
        paths = [e["path"] for e in entries if f".A2012{doy:03d}." in e["path"].name
                 and e["layer"] == layer]
        assert len(paths) == 2  # one file per tile
        return [rasterio.open(p).read() for p in sorted(paths)]

    for doy in (177, 193):
        for one, two in zip(read(before, doy, "250m_16_days_NDVI"),
                            read(after, doy, "250m_16_days_NDVI"), strict=True):
            np.testing.assert_array_equal(one, two)
    changed = [not np.array_equal(a, b) for a, b in
               zip(read(before, 209, "250m_16_days_NDVI"),
                   read(after, 209, "250m_16_days_NDVI"), strict=True)]
    assert all(changed)


def test_tiles_split_the_world_grid_on_modis_tile_edges():
    tiles = _layout().tiles
    assert [t.name for t in tiles] == ["h10v04", "h11v04"]
    assert tiles[0].grid.width == 5 and tiles[1].grid.width == 5
    assert tiles[1].grid.transform.c == pytest.approx(-20015109.354 + 11 * 1111950.5197665)
