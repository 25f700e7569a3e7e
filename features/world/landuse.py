"""CDL-like land use: fields of corn and soybeans in rotation among grass, forest, towns, water.

Land use is drawn per field (a block of mask pixels about a quarter section, 805 m, wide),
once for the whole history; each season then decides which cropland fields carry corn.
Fields alternate corn and soybeans, with some continuous corn, so last year's corn is
mostly this year's soybeans, and each county's corn share follows its real harvested acres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cropcast.features.world.fields import smooth_field

__all__ = [
    "CDL_CLASSES", "CLASS_ORDER", "LandUse", "draw_land_use", "group_fractions", "season_cdl",
]

# CDL codes used by the world, with their official names and colours.
CDL_CLASSES: dict[int, tuple[str, tuple[int, int, int]]] = {
    0: ("Background", (0, 0, 0)),
    1: ("Corn", (255, 211, 0)),
    5: ("Soybeans", (38, 112, 0)),
    111: ("Open Water", (72, 112, 163)),
    121: ("Developed/Open Space", (156, 156, 156)),
    122: ("Developed/Low Intensity", (156, 156, 156)),
    141: ("Deciduous Forest", (147, 204, 147)),
    176: ("Grass/Pasture", (232, 255, 191)),
}
# Land-cover groups the imagery model mixes, in this order (index = group id).
CLASS_ORDER: tuple[str, ...] = ("corn", "soybeans", "grass", "forest", "developed", "water")
_GROUP_OF_CODE = {1: 0, 5: 1, 176: 2, 141: 3, 121: 4, 122: 4, 111: 5}
FIELD_SIZE_M = 805.0  # a quarter section of the Public Land Survey
_MISCLASSIFIED = 0.02  # share of mask pixels flipped between corn and soybeans
_STRIP_ROWS = 256


@dataclass
class LandUse:
    """Static land use of the world on field blocks of the mask grid.

    ``field_county`` is the county index of each field (-1 outside the world);
    ``cropland``, ``phase`` and ``persistence`` drive the rotation; ``other_code`` is the
    CDL code of non-crop fields.
    """

    block: int
    shape: tuple[int, int]
    field_county: np.ndarray
    cropland: np.ndarray
    phase: np.ndarray
    persistence: np.ndarray
    other_code: np.ndarray
    cropland_share: np.ndarray


def draw_land_use(rng: np.random.Generator, county_raster: np.ndarray, pixel_m: float,
                  corn_share: np.ndarray) -> LandUse:
    """Draw fields, their cropland status and rotation phase.

    Parameters
    ----------
    rng : Generator
        Source of randomness.
    county_raster : ndarray of int
        County index of each mask pixel, -1 outside the world.
    pixel_m : float
        Mask pixel size in metres.
    corn_share : ndarray of float
        Mean share of each county's land in corn (from NASS harvested acres).
    """
    block = max(1, round(FIELD_SIZE_M / pixel_m))
    h, w = county_raster.shape
    fields = (-(-h // block), -(-w // block))
    centre = county_raster[
        np.minimum(np.arange(fields[0]) * block + block // 2, h - 1)[:, None],
        np.minimum(np.arange(fields[1]) * block + block // 2, w - 1)[None, :],
    ]
    cropland_share = np.clip(1.9 * corn_share, 0.02, 0.92)
    # Cropland clusters: a smooth 10-km texture plus field-to-field noise, thresholded per
    # county at the quantile that gives the county's cropland share.
    texture = smooth_field(rng, fields, 10_000 / (block * pixel_m))
    score = texture + 0.7 * rng.standard_normal(fields)
    inside = centre >= 0
    rank = pd.Series(score[inside]).groupby(centre[inside]).rank(pct=True).to_numpy()
    cropland = np.zeros(fields, dtype=bool)
    cropland[inside] = rank > 1 - cropland_share[centre[inside]]
    other_texture = smooth_field(rng, fields, 4_000 / (block * pixel_m))
    other_rank = pd.Series(other_texture.ravel()).rank(pct=True).to_numpy().reshape(fields)
    other_code = np.select(
        [other_rank < 0.04, other_rank < 0.10, other_rank < 0.18, other_rank < 0.45],
        [111, 122, 121, 141], default=176,
    ).astype(np.uint8)
    return LandUse(
        block=block, shape=(h, w), field_county=centre, cropland=cropland,
        phase=rng.integers(0, 2, fields).astype(bool), persistence=rng.random(fields),
        other_code=other_code, cropland_share=cropland_share,
    )


def season_cdl(land: LandUse, rng: np.random.Generator, year: int, corn_share_year: np.ndarray,
               county_raster: np.ndarray) -> np.ndarray:
    """The season's CDL-like raster (uint8 codes) on the mask grid.

    In fields whose rotation phase says corn this year, corn is planted with probability
    ``q_on``; in the others with ``q_off`` (continuous corn); both are set so that the
    county's corn share of cropland is met on average.
    """
    target = corn_share_year / land.cropland_share  # corn share of cropland
    q_on = np.minimum(1.0, target + 0.4)
    q_off = np.clip(2 * target - q_on, 0.0, 1.0)
    county = np.maximum(land.field_county, 0)
    on = land.phase == bool(year % 2)
    corn = land.cropland & (land.persistence < np.where(on, q_on[county], q_off[county]))
    field_code = np.where(land.cropland, np.where(corn, 1, 5), land.other_code).astype(np.uint8)
    h, w = land.shape
    cdl = np.repeat(np.repeat(field_code, land.block, axis=0), land.block, axis=1)[:h, :w]
    cdl = np.ascontiguousarray(cdl)
    # A few percent of crop pixels are mislabelled between corn and soybeans, as in CDL.
    flat = cdl.reshape(-1)
    picked = rng.integers(0, flat.size, int(_MISCLASSIFIED * flat.size))
    picked = picked[(flat[picked] == 1) | (flat[picked] == 5)]
    flat[picked] = np.where(flat[picked] == 1, 5, 1)
    cdl[county_raster < 0] = 0
    return cdl


def group_fractions(cdl: np.ndarray, imagery_index: np.ndarray, n_pixels: int) -> np.ndarray:
    """Share of each land-cover group (``CLASS_ORDER``) inside every imagery pixel.

    Parameters
    ----------
    cdl : ndarray of uint8
        The season's mask raster.
    imagery_index : ndarray of int
        Flat index of the imagery pixel holding each mask pixel's centre (-1: none).
    n_pixels : int
        Number of imagery pixels.

    Returns
    -------
    ndarray, shape (len(CLASS_ORDER), n_pixels)
        Fractions of the mapped (non-background) mask pixels; 0 where none.
    """
    lookup = np.full(256, -1, dtype=np.int8)
    for code, group in _GROUP_OF_CODE.items():
        lookup[code] = group
    counts = np.zeros((len(CLASS_ORDER), n_pixels), dtype=np.float32)
    for start in range(0, cdl.shape[0], _STRIP_ROWS):  # strips keep memory small
        group = lookup[cdl[start: start + _STRIP_ROWS]].ravel()
        index = imagery_index[start: start + _STRIP_ROWS].ravel()
        for g in range(len(CLASS_ORDER)):
            counts[g] += np.bincount(index[(group == g) & (index >= 0)], minlength=n_pixels)
    total = counts.sum(axis=0)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
