"""Gridded daily weather (gridMET-shaped NetCDF and look-alikes) in degrees C and mm.

One file per variable per year (gridMET ``tmmx_YYYY.nc``); variable names, units, the
time dimension and the calendar come from the config, so PRISM, Daymet or ERA5-Land
exports fit the same reader. Units are checked against the file: a file whose ``units``
disagree with the config is an error, never a silent mistake of 273 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.features import rasterize
from rasterio.transform import Affine

from cropcast.errors import CropcastError

__all__ = ["GRIDMET", "WeatherSource", "region_daily"]

# units as files write them -> function to degrees C / mm
_CELSIUS = ("degC", "C", "degrees_C", "degrees C", "degree_Celsius", "degrees_Celsius",
            "Celsius", "deg C", "celsius")
_TEMPERATURE = {"K": lambda v: v - 273.15, "kelvin": lambda v: v - 273.15,
                "Kelvin": lambda v: v - 273.15, "degF": lambda v: (v - 32) * 5 / 9,
                "F": lambda v: (v - 32) * 5 / 9, **dict.fromkeys(_CELSIUS, lambda v: v)}
_PRECIPITATION = {"mm": lambda v: v, "kg m-2": lambda v: v, "kg/m2": lambda v: v,
                  "kg m**-2": lambda v: v, "mm/day": lambda v: v, "mm day-1": lambda v: v,
                  "mm/d": lambda v: v, "m": lambda v: v * 1000.0}
_KIND = {"tmax": _TEMPERATURE, "tmin": _TEMPERATURE, "pr": _PRECIPITATION}

GRIDMET = {
    "files": {"tmax": "tmmx_{year}.nc", "tmin": "tmmn_{year}.nc", "pr": "pr_{year}.nc"},
    "variables": {"tmax": "air_temperature", "tmin": "air_temperature",
                  "pr": "precipitation_amount"},
    "units": {"tmax": "K", "tmin": "K", "pr": "mm"},
}


@dataclass
class WeatherSource:
    """Daily gridded weather, one NetCDF per variable and year.

    Parameters
    ----------
    folder : str
        Where the files are.
    files : dict
        ``{tmax|tmin|pr: file name pattern with {year}}``.
    variables : dict
        ``{tmax|tmin|pr: NetCDF variable name}``.
    units : dict
        ``{tmax|tmin|pr: units the files hold}`` (K, degC, degF; mm, kg m-2, m); checked
        against each file's ``units`` attribute.
    time_dim, lat_dim, lon_dim : str
        Dimension names (gridMET: ``day``, ``lat``, ``lon``).
    """

    folder: str
    files: dict[str, str] = field(default_factory=lambda: dict(GRIDMET["files"]))
    variables: dict[str, str] = field(default_factory=lambda: dict(GRIDMET["variables"]))
    units: dict[str, str] = field(default_factory=lambda: dict(GRIDMET["units"]))
    time_dim: str = "day"
    lat_dim: str = "lat"
    lon_dim: str = "lon"

    def years(self) -> list[int]:
        """Seasons for which every variable's file exists."""
        folder = Path(self.folder)
        found = None
        for name, pattern in self.files.items():
            if pattern.count("{year}") != 1:
                raise CropcastError(f"weather files.{name}={pattern!r} must contain {{year}} "
                                    "once, e.g. tmmx_{year}.nc")
            prefix, suffix = pattern.split("{year}")
            years = {int(p.name[len(prefix): len(p.name) - len(suffix)])
                     for p in folder.glob(pattern.replace("{year}", "[0-9][0-9][0-9][0-9]"))}
            found = years if found is None else found & years
        return sorted(found or [])

    def load_year(self, year: int,
                  bounds: tuple[float, float, float, float] | None = None) -> xr.Dataset:
        """``tmax``, ``tmin`` (degC) and ``pr`` (mm), one step a day, dims
        ``(time, lat, lon)``; only the cells within lon/lat ``bounds`` when given."""
        arrays = {}
        for name, pattern in self.files.items():
            if name not in _KIND:
                raise CropcastError(f"weather variable {name!r} is not one of "
                                    f"{sorted(_KIND)}")
            path = Path(self.folder) / pattern.format(year=year)
            arrays[name] = self._read(path, name, bounds)
        try:
            xr.align(*arrays.values(), join="exact")
        except ValueError as error:
            raise CropcastError(f"{self.folder}: the {year} weather files do not share days "
                                f"and grid ({error}); they must cover the same cells and "
                                "days") from None
        return xr.Dataset(arrays)

    def _read(self, path: Path, name: str, bounds=None) -> xr.DataArray:
        if not path.is_file():
            raise CropcastError(f"{path}: no such file (weather {name} for that year); check "
                                "the folder and the file pattern")
        try:
            ds = xr.open_dataset(path, decode_times=True, use_cftime=None)
        except (OSError, ValueError) as error:
            raise CropcastError(f"{path}: cannot be read as NetCDF ({error}); download it "
                                "again") from None
        with ds:
            variable = self.variables[name]
            if variable not in ds:
                raise CropcastError(f"{path}: has no variable {variable!r} (for {name}); it "
                                    f"has {sorted(ds.data_vars)}. Set variables.{name}")
            data = ds[variable]
            dims = (self.time_dim, self.lat_dim, self.lon_dim)
            if set(data.dims) != set(dims):
                raise CropcastError(f"{path}: {variable} has dims {data.dims}; expected "
                                    f"{dims}. Set time_dim/lat_dim/lon_dim")
            declared = str(data.attrs.get("units", "")).strip()
            expected = self.units.get(name, declared)
            if declared and declared != expected:
                raise CropcastError(
                    f"{path}: {variable} is in {declared!r} but the config says {expected!r};"
                    f" set units.{name}={declared} (known: {sorted(_KIND[name])})")
            convert = _KIND[name].get(expected)
            if convert is None:
                raise CropcastError(f"{path}: unknown units {expected!r} for {name}; known: "
                                    f"{sorted(_KIND[name])}")
            data = _geographic(data.transpose(*dims), path, self.lat_dim, self.lon_dim)
            if bounds is not None:
                west, south, east, north = bounds
                lat, lon = data[self.lat_dim], data[self.lon_dim]
                data = data.isel({self.lat_dim: ((lat >= south) & (lat <= north)).values,
                                  self.lon_dim: ((lon >= west) & (lon <= east)).values})
            data = convert(data.astype(np.float32).load())
        times = data[self.time_dim].values
        try:
            dates = pd.to_datetime([str(t)[:10] for t in times])  # incl. noleap calendars
        except (ValueError, pd.errors.ParserError):
            raise CropcastError(f"{path}: its calendar gives dates like {str(times[0])[:10]!r}"
                                " that are not calendar days (a 360-day calendar?); convert "
                                "it to a standard or 365-day calendar first") from None
        if dates.has_duplicates or (len(dates) > 1 and (np.diff(dates.values)
                                                        != np.timedelta64(1, "D")).any()):
            raise CropcastError(f"{path}: {name} is not one step per day (hourly ERA5?); "
                                "aggregate it to daily max/min/sum first")
        data = data.rename({self.time_dim: "time", self.lat_dim: "lat", self.lon_dim: "lon"})
        return data.assign_coords(time=dates).rename(name)


def _geographic(data: xr.DataArray, path: Path, lat_dim: str, lon_dim: str) -> xr.DataArray:
    """Check the grid is in degrees; wrap 0..360 longitudes to -180..180."""
    lat, lon = data[lat_dim].values, data[lon_dim].values
    if np.abs(lat).max() > 90 or np.abs(lon).max() > 360:
        raise CropcastError(f"{path}: {lat_dim}/{lon_dim} are not degrees (a projected grid "
                            "such as Daymet's x/y?); reproject it to a lon/lat grid first")
    if lon.max() > 180:
        data = data.assign_coords({lon_dim: ((lon + 180) % 360) - 180}).sortby(lon_dim)
    return data


def region_daily(weather: xr.Dataset, regions: gpd.GeoDataFrame,
                 weights: np.ndarray | None = None) -> pd.DataFrame:
    """Daily weather per region: the (cropland-weighted) mean over its grid cells.

    Parameters
    ----------
    weather : Dataset
        From :meth:`WeatherSource.load_year`.
    regions : GeoDataFrame
        ``region_id`` and geometry in any CRS (reprojected to the grid's lon/lat).
    weights : ndarray, optional
        Per-cell weights on the weather grid (e.g. a crop fraction from
        :func:`cropcast.features.cropmask.crop_fraction`); cells without weight still count a
        little, so that a region without cropland still gets weather.

    Returns
    -------
    DataFrame
        ``region_id, date`` and the weather variables. A region smaller than a cell takes
        the cell holding its representative point: every region gets a value.
    """
    lat, lon = weather["lat"].values, weather["lon"].values
    if lat.size < 2 or lon.size < 2:
        raise CropcastError("the weather grid needs at least 2 cells along lat and lon")
    dlat, dlon = float(lat[1] - lat[0]), float(lon[1] - lon[0])
    shapes = regions.to_crs("EPSG:4326")
    west, south, east, north = shapes.total_bounds
    grid_lat = sorted((lat[0] - dlat / 2, lat[-1] + dlat / 2))
    grid_lon = (lon[0] - dlon / 2, lon[-1] + dlon / 2)
    outside = ((shapes.geometry.representative_point().x < grid_lon[0])
               | (shapes.geometry.representative_point().x > grid_lon[1])
               | (shapes.geometry.representative_point().y < grid_lat[0])
               | (shapes.geometry.representative_point().y > grid_lat[1]))
    if outside.any():
        raise CropcastError(f"regions {shapes.loc[outside, 'region_id'].head(5).tolist()} lie "
                            f"outside the weather grid (lon {grid_lon[0]:.2f}..{grid_lon[1]:.2f},"
                            f" lat {grid_lat[0]:.2f}..{grid_lat[1]:.2f}); use weather that "
                            "covers them")
    transform = Affine(dlon, 0, lon[0] - dlon / 2, 0, dlat, lat[0] - dlat / 2)
    label = rasterize(((g, i + 1) for i, g in enumerate(shapes.geometry)),
                      out_shape=(lat.size, lon.size), transform=transform, dtype="int32") - 1
    cell_weight = np.ones(label.shape) if weights is None else np.nan_to_num(weights) + 1e-3
    n = len(shapes)
    rows, cols = [], []
    flat_label = label.ravel()
    inside = flat_label >= 0
    rows.append(flat_label[inside])
    cols.append(np.flatnonzero(inside))
    points = shapes.geometry.representative_point()
    col = np.clip(np.floor((points.x.to_numpy() - transform.c) / dlon).astype(int), 0,
                  lon.size - 1)
    row = np.clip(np.floor((points.y.to_numpy() - transform.f) / dlat).astype(int), 0,
                  lat.size - 1)
    empty = np.bincount(flat_label[inside], minlength=n) == 0
    rows.append(np.flatnonzero(empty))
    cols.append((row * lon.size + col)[empty])
    r, c = np.concatenate(rows), np.concatenate(cols)
    matrix = np.zeros((n, lat.size * lon.size))
    np.add.at(matrix, (r, c), cell_weight.ravel()[c])
    matrix /= matrix.sum(axis=1, keepdims=True)
    frames = []
    for name in weather.data_vars:
        values = weather[name].values.reshape(weather.sizes["time"], -1)
        finite = np.isfinite(values)
        # Average over the cells that have a value that day: a missing cell is not 0.
        with np.errstate(invalid="ignore", divide="ignore"):
            daily = (np.where(finite, values, 0.0) @ matrix.T) / (finite @ matrix.T)
        frames.append(pd.DataFrame(daily, columns=shapes["region_id"].tolist(),
                                   index=weather["time"].values).stack(
                                       future_stack=True).rename(name))
    out = pd.concat(frames, axis=1).reset_index()
    out.columns = ["date", "region_id", *weather.data_vars]
    return out[["region_id", "date", *weather.data_vars]].sort_values(
        ["region_id", "date"], ignore_index=True)
