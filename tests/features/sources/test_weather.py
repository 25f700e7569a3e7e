"""Gridded weather: gridMET and look-alikes in degrees C and mm, checked units."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import box

from cropcast.errors import CropcastError
from cropcast.features.sources.weather import WeatherSource, region_daily


def test_world_weather_comes_out_in_degrees_c_and_mm(tiny_world):
    folder = tiny_world.root / "weather"
    source = WeatherSource(str(folder))
    assert source.years() == [2009, 2010, 2011, 2012, 2013]
    weather = source.load_year(2012)
    raw = xr.open_dataset(folder / "tmmx_2012.nc")
    np.testing.assert_allclose(weather["tmax"].values,
                               raw["air_temperature"].values - 273.15, atol=1e-4)
    rain = xr.open_dataset(folder / "pr_2012.nc")["precipitation_amount"].values
    np.testing.assert_allclose(weather["pr"].values, rain, atol=1e-5)
    assert (weather["tmax"] >= weather["tmin"]).all()
    assert weather.sizes["time"] == 366 and str(weather["time"].values[59])[:10] == "2012-02-29"


def test_region_daily_weather_for_every_county(tiny_world):
    counties = gpd.read_file(tiny_world.paths("boundaries")[0]).rename(
        columns={"GEOID": "region_id"})
    weather = WeatherSource(str(tiny_world.root / "weather")).load_year(2012)
    daily = region_daily(weather, counties)
    assert daily["region_id"].nunique() == 99 and len(daily) == 99 * 366
    july = daily[daily["date"].dt.month == 7]
    assert 25 < july["tmax"].mean() < 40 and daily["pr"].min() >= 0
    # Weights move the mean toward the weighted cells.
    weights = np.zeros((weather.sizes["lat"], weather.sizes["lon"]))
    weights[:, : weights.shape[1] // 2] = 1.0
    weighted = region_daily(weather, counties, weights)
    assert not np.allclose(weighted["tmax"], daily["tmax"])


def _write(path, values, units, name="air_temperature", calendar=None, time="day"):
    days = values.shape[0]
    ds = xr.Dataset({name: ((time, "lat", "lon"), values, {"units": units})},
                    coords={time: np.arange(days, dtype=float), "lat": [41.0, 40.0],
                            "lon": [-94.0, -93.0]})
    ds[time].attrs = {"units": "days since 2019-01-01", **({"calendar": calendar}
                                                          if calendar else {})}
    ds.to_netcdf(path)
    return path


def test_other_units_and_a_365_day_calendar(tmp_path):
    values = np.full((365, 2, 2), 68.0, dtype=np.float32)
    _write(tmp_path / "tmax_2019.nc", values, "degF", "tmax", calendar="noleap", time="time")
    _write(tmp_path / "tmin_2019.nc", values - 18, "degF", "tmin", calendar="noleap",
           time="time")
    _write(tmp_path / "prcp_2019.nc", np.full((365, 2, 2), 0.002, dtype=np.float32), "m",
           "tp", calendar="noleap", time="time")
    source = WeatherSource(str(tmp_path), files={"tmax": "tmax_{year}.nc",
                                                 "tmin": "tmin_{year}.nc",
                                                 "pr": "prcp_{year}.nc"},
                           variables={"tmax": "tmax", "tmin": "tmin", "pr": "tp"},
                           units={"tmax": "degF", "tmin": "degF", "pr": "m"}, time_dim="time")
    weather = source.load_year(2019)
    assert float(weather["tmax"].mean()) == pytest.approx(20.0)
    assert float(weather["tmin"].mean()) == pytest.approx(10.0)
    assert float(weather["pr"].mean()) == pytest.approx(2.0)
    assert pd.Timestamp(weather["time"].values[-1]) == pd.Timestamp("2019-12-31")


def test_file_with_the_wrong_units(tmp_path):
    _write(tmp_path / "tmmx_2019.nc", np.full((3, 2, 2), 20.0), "degC")
    source = WeatherSource(str(tmp_path), files={"tmax": "tmmx_{year}.nc"})
    with pytest.raises(CropcastError, match=r"tmmx_2019\.nc: air_temperature is in 'degC' but "
                                            r"the config says 'K'; set units\.tmax=degC"):
        source.load_year(2019)


def test_unknown_units(tmp_path):
    _write(tmp_path / "tmmx_2019.nc", np.full((3, 2, 2), 20.0), "furlongs")
    source = WeatherSource(str(tmp_path), files={"tmax": "tmmx_{year}.nc"},
                           units={"tmax": "furlongs"})
    with pytest.raises(CropcastError, match=r"unknown units 'furlongs' for tmax"):
        source.load_year(2019)


def test_missing_variable_dims_and_files(tmp_path):
    _write(tmp_path / "tmmx_2019.nc", np.full((3, 2, 2), 290.0), "K", name="tmax")
    source = WeatherSource(str(tmp_path), files={"tmax": "tmmx_{year}.nc"})
    with pytest.raises(CropcastError, match=r"has no variable 'air_temperature' \(for tmax\)"):
        source.load_year(2019)
    with pytest.raises(CropcastError, match=r"tmmx_2020\.nc: no such file"):
        source.load_year(2020)
    _write(tmp_path / "tmmx_2018.nc", np.full((3, 2, 2), 290.0), "K", time="time")
    with pytest.raises(CropcastError, match=r"has dims \('time', 'lat', 'lon'\); expected "
                                            r"\('day', 'lat', 'lon'\)"):
        source.load_year(2018)
    (tmp_path / "tmmx_2017.nc").write_bytes(b"CDF\x01 truncated")
    with pytest.raises(CropcastError, match=r"tmmx_2017\.nc: cannot be read as NetCDF"):
        source.load_year(2017)


def test_small_region_still_gets_weather(tmp_path):
    days = 2
    ds = xr.Dataset(
        {"tmax": (("time", "lat", "lon"), np.arange(days * 9, dtype=np.float32).reshape(
            days, 3, 3)),
         "pr": (("time", "lat", "lon"), np.zeros((days, 3, 3), dtype=np.float32))},
        coords={"time": pd.date_range("2019-07-01", periods=days), "lat": [42.0, 41.0, 40.0],
                "lon": [-95.0, -94.0, -93.0]})
    tiny = gpd.GeoDataFrame({"region_id": ["00001"]},
                            geometry=[box(-94.1, 40.9, -94.05, 40.95)], crs="EPSG:4326")
    out = region_daily(ds, tiny)
    assert out["tmax"].tolist() == [4.0, 13.0]  # the centre cell


def test_cropland_weights_from_the_crop_mask_on_the_weather_grid(tiny_world):
    """Daily weather over each county's corn: crop fractions computed on the weather grid."""
    from rasterio.transform import Affine

    from cropcast.features.cropmask import crop_fraction
    from cropcast.grid import TargetGrid

    weather = WeatherSource(str(tiny_world.root / "weather")).load_year(2012)
    lat, lon = weather["lat"].values, weather["lon"].values
    step = float(lon[1] - lon[0])
    grid = TargetGrid("EPSG:4326", Affine(step, 0, lon[0] - step / 2, 0, -step,
                                          lat[0] + step / 2), (lat.size, lon.size))
    masks = {int(p.name[:4]): str(p) for p in tiny_world.paths("cropmask")}
    corn = crop_fraction(masks, 2012, grid)  # in-season: frequency of earlier seasons
    assert np.nanmax(corn) > 0.3 and np.isnan(corn).any()  # cells off the mask are NaN
    counties = gpd.read_file(tiny_world.paths("boundaries")[0]).rename(
        columns={"GEOID": "region_id"})
    daily = region_daily(weather, counties, corn)
    assert daily["region_id"].nunique() == 99 and daily[["tmax", "pr"]].notna().all().all()


# ---- review cases ------------------------------------------------------------------------

def _grid_ds(values, lat=(42.0, 41.0), lon=(-94.0, -93.0)):
    days = values.shape[0]
    return xr.Dataset({"tmax": (("time", "lat", "lon"), values.astype(np.float32))},
                      coords={"time": pd.date_range("2019-07-01", periods=days),
                              "lat": list(lat), "lon": list(lon)})


def test_a_missing_cell_is_left_out_not_counted_as_zero():
    values = np.full((1, 2, 2), 30.0)
    values[0, 0, 0] = np.nan
    region = gpd.GeoDataFrame({"region_id": ["R"]}, geometry=[box(-94.5, 40.5, -92.5, 42.5)],
                              crs="EPSG:4326")
    assert region_daily(_grid_ds(values), region)["tmax"].tolist() == [30.0]


def test_regions_off_the_grid_are_refused():
    florida = gpd.GeoDataFrame({"region_id": ["12086"]}, geometry=[box(-80.5, 25.5, -80.3, 25.7)],
                               crs="EPSG:4326")
    with pytest.raises(CropcastError, match=r"regions \['12086'\] lie outside the weather grid"):
        region_daily(_grid_ds(np.zeros((1, 2, 2))), florida)


def _one(tmp_path, name, values, units, time_units="days since 2019-01-01", calendar=None,
         lon=(-94.0, -93.0), lat=(41.0, 40.0)):
    ds = xr.Dataset({"v": (("day", "lat", "lon"), values, {"units": units})},
                    coords={"day": np.arange(values.shape[0], dtype=float), "lat": list(lat),
                            "lon": list(lon)})
    ds["day"].attrs = {"units": time_units, **({"calendar": calendar} if calendar else {})}
    ds.to_netcdf(tmp_path / name)


def _source(tmp_path, units="K", **kw):
    return WeatherSource(str(tmp_path), files={"tmax": "t_{year}.nc"}, variables={"tmax": "v"},
                         units={"tmax": units}, **kw)


def test_longitudes_0_360_are_wrapped(tmp_path):
    _one(tmp_path, "t_2019.nc", np.full((2, 2, 2), 300.0), "K", lon=(266.0, 267.0))
    weather = _source(tmp_path).load_year(2019)
    assert weather["lon"].values.tolist() == [-94.0, -93.0]


def test_projected_grids_hourly_data_and_360_day_calendars_are_refused(tmp_path):
    _one(tmp_path, "t_2019.nc", np.full((2, 2, 2), 300.0), "K", lon=(500000.0, 501000.0))
    with pytest.raises(CropcastError, match=r"are not degrees"):
        _source(tmp_path).load_year(2019)
    _one(tmp_path, "t_2018.nc", np.full((4, 2, 2), 300.0), "K", time_units="hours since 2018-01-01")
    with pytest.raises(CropcastError, match=r"is not one step per day \(hourly ERA5\?\)"):
        _source(tmp_path).load_year(2018)
    _one(tmp_path, "t_2017.nc", np.full((62, 2, 2), 300.0), "K", calendar="360_day")
    with pytest.raises(CropcastError, match=r"not calendar days \(a 360-day calendar\?\)"):
        _source(tmp_path).load_year(2017)


def test_daymet_style_units_are_understood(tmp_path):
    _one(tmp_path, "t_2019.nc", np.full((2, 2, 2), 25.0), "degrees C")
    assert float(_source(tmp_path, units="degrees C").load_year(2019)["tmax"].mean()) == 25.0


def test_variables_must_share_days_and_grid(tmp_path):
    _one(tmp_path, "t_2019.nc", np.full((3, 2, 2), 300.0), "K")
    _one(tmp_path, "p_2019.nc", np.full((2, 2, 2), 1.0), "mm")
    source = WeatherSource(str(tmp_path), files={"tmax": "t_{year}.nc", "pr": "p_{year}.nc"},
                           variables={"tmax": "v", "pr": "v"}, units={"tmax": "K", "pr": "mm"})
    with pytest.raises(CropcastError, match=r"do not share days and grid"):
        source.load_year(2019)
    with pytest.raises(CropcastError, match=r"must contain \{year\} once"):
        WeatherSource(str(tmp_path), files={"tmax": "t.nc"}).years()
