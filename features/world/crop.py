"""The crop model: planting, phenology from degree days, heat and water stress, canopy NDVI.

Everything runs per county and day on the county's cropland weather. Stress accumulates
day by day, so the canopy on day d depends only on weather up to d: a composite holds only
what its own window could have seen. The world keeps its own degree-day code (not the
feature builders'), so that features tested against the world's truth are tested against
an independent implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CropSeason", "degree_days_above", "simulate_crops"]

# Corn phenology in growing degree days (degC, 10/30 method) since planting.
_CORN_GREENUP, _CORN_SILKING, _CORN_MATURITY = 380.0, 760.0, 1500.0
_CRITICAL = (550.0, 1050.0)  # window around silking where heat and drought hurt most
_VEGETATIVE = (250.0, 1050.0)  # window where water stress limits the canopy
_SOIL_CAPACITY_MM = 220.0
# Yield response: relative yield = exp(-(heat * EDD_crit + water * W_crit + season * EDD))
YIELD_HEAT, YIELD_WATER, YIELD_SEASON_HEAT = 0.0065, 0.018, 0.0012
CANOPY_HEAT, CANOPY_WATER = 0.004, 0.012


def degree_days_above(tmax: np.ndarray, tmin: np.ndarray, base: float) -> np.ndarray:
    """Degree days above ``base`` for each day, single-sine method (Schlenker & Roberts)."""
    tmax = np.asarray(tmax, dtype=np.float64)
    tmin = np.asarray(tmin, dtype=np.float64)
    mean, half = (tmax + tmin) / 2, np.maximum((tmax - tmin) / 2, 1e-9)
    theta = np.arcsin(np.clip((base - mean) / half, -1.0, 1.0))
    between = ((mean - base) * (np.pi / 2 - theta) + half * np.cos(theta)) / np.pi
    return np.where(tmin >= base, mean - base, np.where(tmax <= base, 0.0, between))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class CropSeason:
    """One season of every county.

    ``canopy[c, k, d]`` is the NDVI of land-cover group ``CLASS_ORDER[c]`` in county ``k``
    on day ``d`` (0-based day of year); the other arrays hold one value per county.
    """

    canopy: np.ndarray
    planting_doy: np.ndarray
    silking_doy: np.ndarray
    edd_season: np.ndarray
    edd_critical: np.ndarray
    gdd_season: np.ndarray
    water_stress_critical: np.ndarray
    precip_jun_aug: np.ndarray
    relative_yield: np.ndarray
    peak_corn_ndvi: np.ndarray


def simulate_crops(tmax: np.ndarray, tmin: np.ndarray, pr: np.ndarray, edd: np.ndarray,
                   dd10: np.ndarray, rng: np.random.Generator) -> CropSeason:
    """Run the crop model for every county of one season.

    Parameters
    ----------
    tmax, tmin, pr : ndarray, shape (counties, days)
        Cropland-weighted daily weather (degC, mm).
    edd, dd10 : ndarray, shape (counties, days)
        Cropland-weighted daily degree days above 29 degC and above 10 degC, each computed
        per weather cell before averaging.
    rng : Generator
        Source of the county-level planting and canopy noise.
    """
    n_counties, days = tmax.shape
    doy = np.arange(1, days + 1)
    tavg = (tmax + tmin) / 2
    gdd = np.maximum((np.minimum(tmax, 30.0) + np.clip(tmin, 10.0, 30.0)) / 2 - 10.0, 0.0)

    # Planting: a few days after the mean of the past week first holds 12.5 degC (>= Apr 15).
    # A trailing window: the decision on day d uses days d-6..d only.
    cumulative = np.cumsum(np.pad(tavg, ((0, 0), (7, 0))), axis=1)
    week = (cumulative[:, 7:] - cumulative[:, :-7]) / 7
    warm = (week >= 12.5) & (doy[None, :] >= 105)
    first = np.where(warm.any(axis=1), warm.argmax(axis=1) + 1, 150)
    planting = np.clip(first + 3 + rng.normal(0, 2.5, n_counties).round(), 105, 160)
    soy_planting = planting + 12

    after = doy[None, :] >= planting[:, None]
    g = np.cumsum(np.where(after, gdd, 0.0), axis=1)
    g_soy = np.cumsum(np.where(doy[None, :] >= soy_planting[:, None], gdd, 0.0), axis=1)
    g_year = np.cumsum(gdd, axis=1)

    # Water balance: a bucket filled in spring, drawn down by crop evapotranspiration.
    radiation = 10.0 + 7.0 * np.cos(2 * np.pi * (doy - 172) / 365.25)
    et0 = 0.0023 * radiation[None, :] * (tavg + 17.8) * np.sqrt(np.maximum(tmax - tmin, 0.1))
    greenness = _logistic((g - _CORN_GREENUP) / 90.0) * (1 - _logistic((g - 1350.0) / 80.0))
    demand = np.maximum(et0, 0.0) * (0.3 + 0.9 * greenness)
    soil = np.full(n_counties, 0.85 * _SOIL_CAPACITY_MM)
    water_stress = np.zeros_like(tmax)
    for d in range(days):
        soil = np.minimum(soil + pr[:, d], _SOIL_CAPACITY_MM)
        supply = np.minimum(1.0, soil / (0.5 * _SOIL_CAPACITY_MM))
        actual = demand[:, d] * supply
        soil = np.maximum(soil - actual, 0.0)
        water_stress[:, d] = np.where(demand[:, d] > 0, 1.0 - supply, 0.0)

    critical = (g >= _CRITICAL[0]) & (g <= _CRITICAL[1])
    vegetative = (g >= _VEGETATIVE[0]) & (g <= _VEGETATIVE[1])
    in_season = after & (g <= _CORN_MATURITY)
    heat_crit = np.cumsum(np.where(critical, edd, 0.0), axis=1)
    water_crit = np.cumsum(np.where(critical, water_stress, 0.0), axis=1)
    water_veg = np.cumsum(np.where(vegetative, water_stress, 0.0), axis=1)
    heat_season = np.cumsum(np.where(in_season, edd, 0.0), axis=1)

    relative_yield = np.exp(-(YIELD_HEAT * heat_crit[:, -1] + YIELD_WATER * water_crit[:, -1]
                              + YIELD_SEASON_HEAT * heat_season[:, -1]))

    # Canopy NDVI per land-cover group, day by day.
    damage = np.exp(-(CANOPY_HEAT * heat_crit + CANOPY_WATER * water_veg))
    peak = 0.87 + rng.normal(0, 0.01, n_counties)[:, None]
    senescence = 1350.0 - 3.0 * (heat_crit + water_crit)
    corn_green = _logistic((g - _CORN_GREENUP) / 70.0) * (1 - _logistic((g - senescence) / 70.0))
    residue = 0.24 + 0.06 * _logistic((g_year - 250.0) / 60.0)
    corn = residue + (peak * damage - residue) * corn_green
    soy_green = _logistic((g_soy - 480.0) / 75.0) * (1 - _logistic((g_soy - 1450.0) / 80.0))
    soy = residue + (0.88 * np.sqrt(damage) - residue) * soy_green
    spring = _logistic((g_year - 300.0) / 80.0)
    autumn = 1 - _logistic((doy[None, :] - 285.0) / 10.0)
    grass = 0.30 + 0.42 * spring * autumn * np.sqrt(damage)
    forest = 0.35 + 0.50 * _logistic((g_year - 250.0) / 60.0) * (
        1 - _logistic((doy[None, :] - 292.0) / 8.0))
    developed = 0.22 + 0.20 * spring * autumn
    water = np.full_like(corn, -0.05)
    # Same order as cropcast.features.world.landuse.CLASS_ORDER.
    canopy = np.stack([corn, soy, grass, forest, developed, water]).astype(np.float32)

    summer = (doy >= 152) & (doy <= 243)
    silking = np.where((g >= _CORN_SILKING).any(axis=1), (g >= _CORN_SILKING).argmax(axis=1) + 1,
                       -1)
    return CropSeason(
        canopy=canopy, planting_doy=planting.astype(np.int16), silking_doy=silking.astype(np.int16),
        edd_season=heat_season[:, -1], edd_critical=heat_crit[:, -1],
        gdd_season=np.where(in_season, dd10 - edd, 0.0).sum(axis=1),
        water_stress_critical=water_crit[:, -1], precip_jun_aug=pr[:, summer].sum(axis=1),
        relative_yield=relative_yield, peak_corn_ndvi=corn.max(axis=1),
    )
