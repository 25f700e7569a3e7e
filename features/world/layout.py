"""The static layout of a world: counties with their calibration, grids, and pixel maps.

Computed once per world, before any season: which county each crop-mask and imagery pixel
belongs to, which imagery pixel holds each crop-mask pixel, which weather cell holds each
imagery pixel, and the fields of the land-use model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer
from rasterio import features as rio_features
from scipy import sparse

from cropcast.features.world.calibration import TREND_REFERENCE_YEAR, load_calibration_table
from cropcast.features.world.counties import census_counties
from cropcast.features.world.counties import write_counties as _write_gpkg
from cropcast.features.world.fields import smooth_basis, smooth_field
from cropcast.features.world.grids import (
    ALBERS,
    MODIS_SINUSOIDAL,
    Grid,
    ImageryTile,
    LatLonGrid,
    cropmask_grid,
    imagery_grid,
    imagery_tiles,
    weather_grid,
)
from cropcast.features.world.imagery import ImageryLayout
from cropcast.features.world.landuse import LandUse, draw_land_use
from cropcast.features.world.spec import WorldSpec
from cropcast.grid import TargetGrid, pixel_index

__all__ = ["TREND_REFERENCE_YEAR", "Layout", "county_cell_weights", "lay_out", "write_counties"]

_ACRE_M2 = 4046.8564224


@dataclass
class Layout:
    """Everything about a world that does not change from season to season."""

    counties: gpd.GeoDataFrame
    corn_share: np.ndarray
    imagery: Grid
    tiles: list[ImageryTile]
    pixels: ImageryLayout
    cropmask: Grid
    mask_county: np.ndarray
    mask_to_imagery: np.ndarray
    land: LandUse
    weather: LatLonGrid
    weather_basis: np.ndarray
    pixel_cell: np.ndarray
    fallback_cell: np.ndarray


def _calibrated_counties(spec: WorldSpec) -> gpd.GeoDataFrame:
    counties = census_counties(spec.state_fips)
    calib = load_calibration_table().set_index("region_id")
    joined = counties.join(calib.drop(columns="state_fips"), on="GEOID")
    by_state = joined.groupby("STATEFP")
    for column in ("level_bu_ac", "slope_bu_ac_yr", "residual_sd_bu_ac"):
        joined[column] = joined[column].fillna(by_state[column].transform("median"))
    # Counties NASS never reported: the state's typical county, a little below it.
    joined["level_bu_ac"] = joined["level_bu_ac"].fillna(150.0)
    joined["slope_bu_ac_yr"] = joined["slope_bu_ac_yr"].fillna(1.9)
    joined["noise_sd_bu_ac"] = np.clip(0.4 * joined["residual_sd_bu_ac"].fillna(20.0), 4, 10)
    district = by_state["ag_district"].transform(
        lambda s: s.mode().iloc[0] if s.notna().any() else "OTHER DISTRICTS")
    code = by_state["ag_district_code"].transform(
        lambda s: s.mode().iloc[0] if s.notna().any() else "98")
    joined["ag_district"] = joined["ag_district"].fillna(district)
    joined["ag_district_code"] = joined["ag_district_code"].fillna(code)
    joined["county_name"] = joined["NAME"].str.upper()
    return joined


def _rasterize(geometries: gpd.GeoSeries, grid: Grid) -> np.ndarray:
    shapes = ((geom, i + 1) for i, geom in enumerate(geometries))
    burned = rio_features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform,
                                    fill=0, dtype="int32")
    return (burned - 1).astype(np.int16 if len(geometries) < 32_000 else np.int32)


def _mask_to_imagery(mask: Grid, imagery: Grid) -> np.ndarray:
    """Flat imagery index of the pixel holding each crop-mask pixel centre (-1: none)."""
    target = TargetGrid(imagery.crs, imagery.transform, imagery.shape)
    return pixel_index(mask.crs, mask.transform, mask.shape, target).astype(np.int32)


def lay_out(spec: WorldSpec) -> Layout:
    """Compute the static layout of the world described by ``spec``."""
    rng = np.random.default_rng([spec.seed, 0, 10])
    counties = _calibrated_counties(spec)
    land_acres = counties["ALAND"].to_numpy(float) / _ACRE_M2
    planted = counties["mean_harvested_ac"].to_numpy(float) / 0.92
    corn_share = np.clip(np.nan_to_num(planted / land_acres, nan=0.005), 0.001, 0.5)

    sinusoidal = counties.to_crs(MODIS_SINUSOIDAL)
    grid, col0, row0 = imagery_grid(tuple(sinusoidal.total_bounds), spec.pixels_per_tile)
    tiles = imagery_tiles(grid, col0, row0, spec.pixels_per_tile)
    pixel_county = _rasterize(sinusoidal.geometry, grid).ravel()
    valid = np.flatnonzero(pixel_county >= 0)
    shape = grid.shape
    soil = (0.015 * smooth_field(rng, shape, 20_000 / grid.transform.a)).ravel()[valid]
    bright = (0.03 * smooth_field(rng, shape, 30_000 / grid.transform.a)).ravel()[valid]
    pixels = ImageryLayout(grid, tiles, valid, pixel_county[valid],
                           soil.astype(np.float32), bright.astype(np.float32))

    albers = counties.to_crs(ALBERS)
    mask = cropmask_grid(tuple(albers.total_bounds), spec.cropmask_pixel_m)
    mask_county = _rasterize(albers.geometry, mask)
    land = draw_land_use(rng, mask_county, spec.cropmask_pixel_m, corn_share)

    lonlat = counties.to_crs("EPSG:4326")
    weather = weather_grid(tuple(lonlat.total_bounds), spec.weather_resolution_deg)
    x, y = grid.pixel_centres()
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        x.ravel()[valid], y.ravel()[valid])
    points = lonlat.geometry.representative_point()
    return Layout(
        counties=counties, corn_share=corn_share, imagery=grid, tiles=tiles, pixels=pixels,
        cropmask=mask, mask_county=mask_county,
        mask_to_imagery=_mask_to_imagery(mask, grid), land=land, weather=weather,
        weather_basis=smooth_basis(weather.lat, weather.lon, 2.5),
        pixel_cell=weather.cell_index(lon, lat),
        fallback_cell=weather.cell_index(points.x.to_numpy(), points.y.to_numpy()),
    )


def write_counties(lay: Layout, path: Path) -> None:
    """Write the world's counties as a GeoPackage in EPSG:5070."""
    _write_gpkg(lay.counties, path, ALBERS)


def county_cell_weights(lay: Layout, corn_fraction: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised (counties x weather cells) weights of each county's corn land.

    Every pixel counts a little (so a county without corn still has weather) and a county
    too small to hold a pixel takes the cell of its representative point.
    """
    n_counties = len(lay.counties)
    n_cells = lay.weather.lat.size * lay.weather.lon.size
    weight = corn_fraction.astype(np.float64) + 0.01
    rows = np.concatenate([lay.pixels.county, np.arange(n_counties)])
    cols = np.concatenate([lay.pixel_cell, lay.fallback_cell])
    data = np.concatenate([weight, np.full(n_counties, 1e-9)])
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(n_counties, n_cells))
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.diags(1 / totals) @ matrix
