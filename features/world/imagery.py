"""MODIS-like imagery: 16-day NDVI composites (MOD13Q1) and 8-day red/NIR (MOD09Q1).

Each imagery pixel mixes the canopy of its land-cover groups in the shares its crop-mask
pixels give, plus a fixed soil texture and sensor noise; clouds come in spatially
clustered patches. A 16-day composite takes, per group, the maximum NDVI of its window
(the maximum-value compositing MODIS uses); an 8-day composite takes one day of its
window. Either way a composite holds only observations from its own window.
Files are tiled, compressed GeoTIFFs cut along MODIS sinusoidal tiles and named as NASA
names them, with the window's first day as ``AYYYYDDD``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from cropcast.features.world.fields import smooth_field
from cropcast.features.world.grids import Grid, ImageryTile
from cropcast.manifest import Role

__all__ = ["PRODUCTS", "ImageryLayout", "write_geotiff", "write_season_imagery"]

NDVI_FILL, RELIABILITY_FILL, REFLECTANCE_FILL, STATE_FILL = -3000, -1, -28672, 65535
SCALE = 0.0001
# product -> (window length in days, collection, file layers)
PRODUCTS = {
    "MOD13Q1": (16, "061", ("250m_16_days_NDVI", "250m_16_days_pixel_reliability")),
    "MOD09Q1": (8, "061", ("sur_refl_b01", "sur_refl_b02", "sur_refl_state_250m")),
}
_CLOUD_SCALE_M = 40_000.0


@dataclass
class ImageryLayout:
    """Where the world's pixels are on its imagery grid, and their fixed properties.

    ``valid`` lists the flat indices of pixels whose centre lies in a county, ``county``
    their county index; ``soil`` and ``brightness`` are fixed per-pixel offsets.
    """

    grid: Grid
    tiles: list[ImageryTile]
    valid: np.ndarray
    county: np.ndarray
    soil: np.ndarray
    brightness: np.ndarray


def write_geotiff(path: Path, array: np.ndarray, grid: Grid, nodata: float,
                  scale: float = 1.0, descriptions: tuple[str, ...] = (),
                  tags: dict[str, str] | None = None) -> None:
    """Write a tiled, DEFLATE-compressed GeoTIFF (one band, or bands along axis 0)."""
    bands = array if array.ndim == 3 else array[None]
    tiled = min(grid.height, grid.width) >= 256
    profile = {
        "driver": "GTiff", "height": grid.height, "width": grid.width, "count": bands.shape[0],
        "dtype": bands.dtype.name, "crs": grid.crs, "transform": grid.transform,
        "nodata": nodata, "compress": "deflate", "predictor": 2, "zlevel": 1,
        "tiled": tiled, **({"blockxsize": 256, "blockysize": 256} if tiled else {}),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
        dst.scales = (scale,) * bands.shape[0]
        dst.offsets = (0.0,) * bands.shape[0]
        for i, text in enumerate(descriptions, start=1):
            dst.set_band_description(i, text)
        if tags:
            dst.update_tags(**tags)


def _window_starts(first: int, last: int, step: int) -> list[int]:
    return list(range(first, last + 1, step))


def _clouds(rng: np.random.Generator, shape: tuple[int, int], pixel_m: float,
            mean_cover: float) -> tuple[np.ndarray, np.ndarray]:
    """Cloudy and marginal masks of one composite (spatially clustered patches)."""
    field = smooth_field(rng, shape, _CLOUD_SCALE_M / pixel_m).ravel()
    cover = float(np.clip(rng.beta(1.3, 1.3 / mean_cover - 1.3), 0.0, 0.9))
    sample = field[:: max(1, field.size // 20_000)]  # quantiles of a smooth field: a sample
    cloudy_at = np.quantile(sample, 1 - cover)
    marginal_at = np.quantile(sample, max(0.0, 1 - cover - 0.06))
    return field > cloudy_at, (field > marginal_at) & (field <= cloudy_at)


def _mix(fractions: np.ndarray, canopy_now: np.ndarray, layout: ImageryLayout,
         rng: np.random.Generator) -> np.ndarray:
    """Pixel NDVI: group canopies weighted by the pixel's group shares, plus texture."""
    ndvi = np.einsum("gp,gp->p", fractions, canopy_now[:, layout.county])
    return ndvi + layout.soil + rng.normal(0.0, 0.005, ndvi.size).astype(np.float32)


def _tiles_out(folder: Path, product: str, year: int, doy: int, layer: str,
               world: np.ndarray, layout: ImageryLayout, nodata: float, scale: float,
               descriptions: tuple[str, ...], tags: dict[str, str]) -> list[dict]:
    window, collection, _ = PRODUCTS[product]
    start = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
    entries = []
    for tile in layout.tiles:
        name = f"{product}.A{year}{doy:03d}.{tile.name}.{collection}.{layer}.tif"
        path = folder / name
        part = world[..., tile.row_slice, tile.col_slice]
        write_geotiff(path, np.ascontiguousarray(part), tile.grid, nodata, scale, descriptions,
                      tags)
        entries.append({
            "path": path, "role": Role.IMAGERY, "product": product, "layer": layer,
            "tile": tile.name, "date": start.isoformat(),
            "window_end": (start + dt.timedelta(days=window - 1)).isoformat(),
            "crs": tile.grid.crs, "dtype": part.dtype.name, "nodata": nodata,
            "scale": scale,
        })
    return entries


def write_season_imagery(folder: Path, year: int, canopy: np.ndarray, fractions: np.ndarray,
                         layout: ImageryLayout, ndvi_doys: tuple[int, int],
                         reflectance_doys: tuple[int, int],
                         rng: np.random.Generator) -> list[dict]:
    """Write one season's MOD13Q1-like and MOD09Q1-like composites; return manifest entries.

    Parameters
    ----------
    folder : Path
        Imagery root; files go to ``folder/PRODUCT/YEAR/``.
    year : int
        The season.
    canopy : ndarray, shape (groups, counties, days)
        Daily canopy NDVI from the crop model.
    fractions : ndarray, shape (groups, valid pixels)
        Land-cover shares of each valid pixel this season.
    layout : ImageryLayout
        Pixel placement and fixed properties.
    ndvi_doys, reflectance_doys : tuple of int
        First window starts of the first and last composite of each product.
    rng : Generator
        Noise and clouds.
    """
    shape, pixel_m = layout.grid.shape, layout.grid.transform.a
    entries: list[dict] = []
    out = folder / "MOD13Q1" / str(year)
    out.mkdir(parents=True, exist_ok=True)
    for doy in _window_starts(*ndvi_doys, 16):
        canopy_now = canopy[:, :, doy - 1: doy + 15].max(axis=2)
        ndvi = _mix(fractions, canopy_now, layout, rng)
        cloudy, marginal = (m[layout.valid] for m in _clouds(rng, shape, pixel_m, 0.08))
        ndvi = np.where(marginal, ndvi - rng.uniform(0, 0.05, ndvi.size), ndvi)
        ndvi = np.where(cloudy, 0.15 * ndvi + rng.normal(0.08, 0.04, ndvi.size), ndvi)
        values = np.full(shape[0] * shape[1], NDVI_FILL, dtype=np.int16)
        values[layout.valid] = np.clip(np.round(ndvi / SCALE), -2000, 10000)
        reliability = np.full(shape[0] * shape[1], RELIABILITY_FILL, dtype=np.int8)
        reliability[layout.valid] = np.where(cloudy, 3, np.where(marginal, 1, 0))
        tags = {"long_name": "250m 16 days NDVI", "units": "NDVI", "valid_range": "-2000, 10000"}
        entries += _tiles_out(out, "MOD13Q1", year, doy, "250m_16_days_NDVI",
                              values.reshape(shape), layout, NDVI_FILL, SCALE,
                              ("250m 16 days NDVI",), tags)
        tags = {"long_name": "250m 16 days pixel reliability",
                "flags": "-1 fill, 0 good, 1 marginal, 2 snow/ice, 3 cloudy"}
        entries += _tiles_out(out, "MOD13Q1", year, doy, "250m_16_days_pixel_reliability",
                              reliability.reshape(shape), layout, RELIABILITY_FILL, 1.0,
                              ("250m 16 days pixel reliability",), tags)

    out = folder / "MOD09Q1" / str(year)
    out.mkdir(parents=True, exist_ok=True)
    for doy in _window_starts(*reflectance_doys, 8):
        day = doy - 1 + int(rng.integers(0, 8))
        ndvi = np.clip(_mix(fractions, canopy[:, :, day], layout, rng), -0.2, 0.95)
        cloudy, marginal = (m[layout.valid] for m in _clouds(rng, shape, pixel_m, 0.15))
        total = 0.30 + 0.12 * ndvi + layout.brightness
        nir, red = total * (1 + ndvi) / 2, total * (1 - ndvi) / 2
        bright = rng.normal(0.45, 0.04, ndvi.size)
        nir = np.where(cloudy, bright + 0.02, nir)
        red = np.where(cloudy, bright, red)
        bands = np.full((2, shape[0] * shape[1]), REFLECTANCE_FILL, dtype=np.int16)
        bands[0, layout.valid] = np.clip(np.round(red / SCALE), -100, 16000)
        bands[1, layout.valid] = np.clip(np.round(nir / SCALE), -100, 16000)
        state = np.full(shape[0] * shape[1], STATE_FILL, dtype=np.uint16)
        state[layout.valid] = np.where(cloudy, 1, np.where(marginal, 2, 0))
        for k, (layer, name) in enumerate((("sur_refl_b01", "red"), ("sur_refl_b02", "NIR"))):
            tags = {"long_name": f"Surface reflectance, band {k + 1} ({name})",
                    "valid_range": "-100, 16000"}
            entries += _tiles_out(out, "MOD09Q1", year, doy, layer, bands[k].reshape(shape),
                                  layout, REFLECTANCE_FILL, SCALE, (layer,), tags)
        tags = {"long_name": "Surface reflectance 250m state flags",
                "flags": "bits 0-1 cloud state: 0 clear, 1 cloudy, 2 mixed; bit 2 cloud shadow"}
        entries += _tiles_out(out, "MOD09Q1", year, doy, "sur_refl_state_250m",
                              state.reshape(shape), layout, STATE_FILL, 1.0,
                              ("sur_refl_state_250m",), tags)
    return entries
