"""Daily weather on a lat/lon grid, written as gridMET-shaped NetCDF.

Temperatures follow a seasonal cycle with a north-south gradient, plus spatially smooth
anomalies that persist for days (AR(1)); each summer gets a smooth regional anomaly, and
heat-wave and drought years carry a strong one over part of the world. Precipitation falls
on about 30% of days in spatially coherent patches, with gamma-distributed amounts.
"""

from __future__ import annotations

import calendar
from pathlib import Path

import numpy as np
import xarray as xr

from cropcast.features.world.grids import LatLonGrid

__all__ = ["GRIDMET_VARIABLES", "Weather", "simulate_weather", "write_gridmet"]

# gridMET file prefix -> (variable, description, units, add_offset) as in the real files:
# unsigned 16-bit integers with scale_factor 0.1 and _FillValue 32767.
GRIDMET_VARIABLES: dict[str, tuple[str, str, str, float]] = {
    "tmmx": ("air_temperature", "Daily Maximum Temperature", "K", 220.0),
    "tmmn": ("air_temperature", "Daily Minimum Temperature", "K", 210.0),
    "pr": ("precipitation_amount", "Daily Accumulated Precipitation", "mm", 0.0),
}
_KELVIN = 273.15
_DAY_EPOCH = np.datetime64("1900-01-01")

Weather = dict[str, np.ndarray]  # "tmax", "tmin" (degC), "pr" (mm): (days, lat, lon)


def _event_pattern(rng: np.random.Generator, grid: LatLonGrid, width_deg: float) -> np.ndarray:
    """A broad bump (peak 1) centred somewhere in the middle of the grid."""
    lat0 = np.quantile(grid.lat, rng.uniform(0.2, 0.8))
    lon0 = np.quantile(grid.lon, rng.uniform(0.2, 0.8))
    lat, lon = np.meshgrid(grid.lat, grid.lon, indexing="ij")
    return np.exp(-((lat - lat0) ** 2 + (lon - lon0) ** 2) / (2 * width_deg**2))


def _ar1(rng: np.random.Generator, basis: np.ndarray, days: int, rho: float) -> np.ndarray:
    """Smooth unit-variance fields that persist from day to day (days x cells)."""
    shocks = rng.standard_normal((days, basis.shape[1])) @ basis.T
    out = np.empty_like(shocks)
    out[0] = shocks[0]
    innovation = np.sqrt(1 - rho**2)
    for d in range(1, days):
        out[d] = rho * out[d - 1] + innovation * shocks[d]
    return out


def simulate_weather(rng: np.random.Generator, grid: LatLonGrid, basis: np.ndarray, year: int,
                     heat: bool, drought: bool) -> Weather:
    """One season of daily tmax, tmin (degC) and precipitation (mm) on ``grid``.

    Parameters
    ----------
    rng : Generator
        Source of randomness for this year.
    grid : LatLonGrid
        The weather grid.
    basis : ndarray
        Smoothing basis from :func:`cropcast.features.world.fields.smooth_basis` for ``grid``.
    year : int
        The season (leap years have 366 days).
    heat, drought : bool
        Whether the season carries a forced July heat wave / summer drought.
    """
    days = 366 if calendar.isleap(year) else 365
    n_lat, n_lon = grid.shape
    doy = np.arange(1, days + 1)[:, None]
    lat = np.repeat(grid.lat, n_lon)[None, :]
    season = np.cos(2 * np.pi * (doy - 200) / 365.25)
    tmax = 15.0 + 15.5 * season - 0.8 * (lat - 41.0)
    summer = np.exp(-(((doy - 200) / 28.0) ** 2))  # weight of mid-summer anomalies
    regional = basis @ rng.standard_normal(basis.shape[1])
    tmax = tmax + 3.2 * _ar1(rng, basis, days, 0.75) + 1.0 * rng.standard_normal() * summer * (
        0.6 + 0.4 * regional[None, :]
    )
    wet_shift = 0.0 * summer
    amount_scale = np.ones_like(summer)
    if heat:
        pattern = _event_pattern(rng, grid, 6.0).ravel()[None, :]
        july = np.exp(-(((doy - 196) / 16.0) ** 2))
        tmax = tmax + 5.0 * july * pattern
        wet_shift = wet_shift + 0.35 * july * pattern
    if drought:
        pattern = _event_pattern(rng, grid, 6.0).ravel()[None, :]
        dry_season = np.exp(-(((doy - 190) / 35.0) ** 2))
        wet_shift = wet_shift + 1.0 * dry_season * pattern
        amount_scale = amount_scale * (1 - 0.6 * dry_season * pattern)
        tmax = tmax + 1.5 * dry_season * pattern
    diurnal = 11.5 + 1.5 * _ar1(rng, basis, days, 0.5)
    tmin = tmax - np.clip(diurnal, 4.0, 20.0)
    occurrence = _ar1(rng, basis, days, 0.4) + wet_shift
    wet = occurrence > 0.52  # about 30% of days in an ordinary season
    amount = rng.gamma(0.75, 11.0, size=wet.shape) * amount_scale * np.exp(
        0.3 * (basis @ rng.standard_normal(basis.shape[1]))[None, :]
    )
    pr = np.where(wet, amount, 0.0)
    shape = (days, n_lat, n_lon)
    return {
        "tmax": tmax.reshape(shape).astype(np.float32),
        "tmin": tmin.reshape(shape).astype(np.float32),
        "pr": pr.reshape(shape).astype(np.float32),
    }


def write_gridmet(weather: Weather, grid: LatLonGrid, year: int, folder: Path) -> list[Path]:
    """Write ``tmmx_YEAR.nc``, ``tmmn_YEAR.nc`` and ``pr_YEAR.nc`` as gridMET does.

    Dimensions ``(day, lat, lon)`` with latitudes descending; ``day`` in days since
    1900-01-01; values packed as uint16 with scale_factor 0.1 and the product's
    add_offset; a ``crs`` variable describing the lat/lon grid.
    """
    days = weather["tmax"].shape[0]
    day = (np.datetime64(f"{year}-01-01") + np.arange(days)) - _DAY_EPOCH
    day = day.astype("timedelta64[D]").astype(np.float64)
    values = {"tmmx": weather["tmax"] + _KELVIN, "tmmn": weather["tmin"] + _KELVIN,
              "pr": weather["pr"]}
    paths = []
    for prefix, (variable, description, units, offset) in GRIDMET_VARIABLES.items():
        data = np.round(values[prefix].astype(np.float64), 1)
        ds = xr.Dataset(
            {
                variable: (("day", "lat", "lon"), data, {
                    "description": description, "long_name": prefix, "standard_name": prefix,
                    "units": units, "grid_mapping": "crs", "coordinates": "lon lat",
                }),
                "crs": ((), np.int16(3), {
                    "grid_mapping_name": "latitude_longitude",
                    "longitude_of_prime_meridian": 0.0, "semi_major_axis": 6378137.0,
                    "inverse_flattening": 298.257223563, "spatial_ref": "EPSG:4326",
                }),
            },
            coords={
                "day": ("day", day, {"units": "days since 1900-01-01 00:00:00",
                                     "calendar": "gregorian", "long_name": "time",
                                     "standard_name": "time"}),
                "lat": ("lat", grid.lat, {"units": "degrees_north", "long_name": "latitude",
                                          "standard_name": "latitude"}),
                "lon": ("lon", grid.lon, {"units": "degrees_east", "long_name": "longitude",
                                          "standard_name": "longitude"}),
            },
            attrs={"title": f"cropcast simulated world: {description.lower()}",
                   "Conventions": "CF-1.6", "source": "cropcast world generator"},
        )
        path = folder / f"{prefix}_{year}.nc"
        encoding = {
            variable: {"dtype": "uint16", "scale_factor": 0.1, "add_offset": offset,
                       "_FillValue": np.uint16(32767), "zlib": True, "complevel": 4,
                       "shuffle": True, "chunksizes": (days, min(64, grid.shape[0]),
                                                       min(64, grid.shape[1]))},
            "day": {"dtype": "float64", "_FillValue": None},
            "lat": {"_FillValue": None}, "lon": {"_FillValue": None},
        }
        ds.to_netcdf(path, engine="netcdf4", format="NETCDF4", encoding=encoding)
        paths.append(path)
    return paths
