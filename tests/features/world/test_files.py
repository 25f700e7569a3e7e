"""Every file of the world opens with the standard tools and keeps its promises."""

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from pyproj import CRS

from cropcast.features.world.grids import MODIS_SINUSOIDAL, MODIS_TILE_SIZE
from cropcast.features.world.nass_export import HEADER
from cropcast.manifest import MANIFEST


def test_manifest_lists_every_file_and_nothing_else(tiny_world):
    on_disk = {p.relative_to(tiny_world.root).as_posix()
               for p in tiny_world.root.rglob("*") if p.is_file()} - {MANIFEST}
    listed = [f["path"] for f in tiny_world.files]
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk
    roles = {f["role"] for f in tiny_world.files}
    assert roles == {"boundaries", "cropmask", "weather", "imagery", "imagery_catalog",
                     "yields", "truth"}
    manifest = json.loads((tiny_world.root / MANIFEST).read_text())
    assert manifest["spec"]["states"] == ["IA"]
    spatial = [f for f in tiny_world.files if f["role"] not in ("yields", "truth",
                                                                "imagery_catalog")]
    assert all("crs" in f for f in spatial)


def test_every_raster_opens_with_the_promised_crs_dtype_nodata_and_scale(tiny_world):
    expected = {  # layer -> (dtype, nodata, scale, bands)
        "250m_16_days_NDVI": ("int16", -3000, 0.0001, 1),
        "250m_16_days_pixel_reliability": ("int8", -1, 1.0, 1),
        "sur_refl_b01": ("int16", -28672, 0.0001, 1),
        "sur_refl_b02": ("int16", -28672, 0.0001, 1),
        "sur_refl_state_250m": ("uint16", 65535, 1.0, 1),
    }
    sinusoidal = CRS.from_proj4(MODIS_SINUSOIDAL)
    rasters = [f for f in tiny_world.files if f["role"] in ("imagery", "cropmask")]
    assert len(rasters) > 300
    for entry in rasters:
        with rasterio.open(tiny_world.root / entry["path"]) as src:
            if entry["role"] == "cropmask":
                assert (src.crs.to_epsg(), src.dtypes[0], src.nodata) == (5070, "uint8", 0)
                continue
            dtype, nodata, scale, bands = expected[entry["layer"]]
            assert CRS.from_user_input(src.crs) == sinusoidal, entry["path"]
            assert CRS.from_user_input(entry["crs"]) == sinusoidal
            assert src.count == bands and set(src.dtypes) == {dtype}
            assert src.nodata == nodata == entry["nodata"]
            assert src.scales == (scale,) * bands
            assert src.read(1, window=((0, 1), (0, 1))).shape == (1, 1)


def test_every_weather_file_opens_with_xarray(tiny_world):
    paths = tiny_world.paths("weather")
    assert len(paths) == 3 * 5
    for path in paths:
        with xr.open_dataset(path) as ds:
            variable = "precipitation_amount" if path.name.startswith("pr_") \
                else "air_temperature"
            assert ds[variable].dims == ("day", "lat", "lon")
            assert int(ds["day"].dt.year.min()) == int(path.stem[-4:])


def test_counties_are_real_census_geometry_in_albers(tiny_world):
    counties = gpd.read_file(tiny_world.paths("boundaries")[0], layer="counties")
    assert counties.crs.to_epsg() == 5070
    assert list(counties.columns) == ["GEOID", "NAME", "STATEFP", "geometry"]
    assert len(counties) == 99  # Iowa
    assert counties["GEOID"].str.fullmatch(r"19\d{3}").all()
    assert "Des Moines" in set(counties["NAME"])
    story = counties.set_index("GEOID").loc["19169"]
    assert story["NAME"] == "Story"
    # Story County is 1,482 km2 of land and water.
    assert story.geometry.area / 1e6 == pytest.approx(1483, rel=0.02)


def test_census_names_are_read_as_utf8():
    from cropcast.features.world.counties import census_counties

    new_mexico = census_counties(["35"])
    assert "Doña Ana" in set(new_mexico["NAME"])


def test_crop_masks_are_cdl_like(tiny_world):
    paths = tiny_world.paths("cropmask")
    assert [int(p.name[:4]) for p in paths] == list(range(2009, 2014))
    imagery_pixel = tiny_world.manifest["summary"]["imagery_pixel_m"]
    with rasterio.open(paths[0]) as src:
        assert src.crs.to_epsg() == 5070
        assert src.dtypes == ("uint8",)
        assert src.nodata == 0
        assert src.res[0] < imagery_pixel
        assert src.colormap(1)[1][:3] == (255, 211, 0)  # CDL's corn yellow
        codes = set(np.unique(src.read(1)))
    assert {0, 1, 5, 176}.issubset(codes)
    assert codes <= {0, 1, 5, 111, 121, 122, 141, 176}


def test_corn_and_soybeans_rotate(tiny_world):
    layers = [rasterio.open(p).read(1) for p in tiny_world.paths("cropmask")]
    for last, this in zip(layers, layers[1:], strict=False):
        was_corn = last == 1
        assert (this[was_corn] == 5).mean() > 0.6  # last year's corn is mostly soybeans
        assert (this[was_corn] == 1).mean() > 0.05  # with some continuous corn


def test_corn_share_follows_real_harvested_acres(tiny_world):
    from cropcast.features.world.calibration import load_calibration_table

    truth = pd.read_parquet(tiny_world.paths("truth")[0])
    simulated = truth.groupby("region_id")["planted_acres"].mean()
    real = load_calibration_table().set_index("region_id")["mean_harvested_ac"]
    both = pd.concat([simulated, real], axis=1, join="inner").dropna()
    assert len(both) == 99
    assert np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1] > 0.85
    # Planted exceeds harvested-for-grain, but not by much.
    assert 1.0 < both.iloc[:, 0].sum() / both.iloc[:, 1].sum() < 1.25


def test_weather_is_shaped_like_gridmet(tiny_world):
    paths = tiny_world.paths("weather")
    assert sorted(p.name for p in paths if p.name.endswith("2012.nc")) == [
        "pr_2012.nc", "tmmn_2012.nc", "tmmx_2012.nc"]
    tmmx = xr.open_dataset(paths[0].parent / "tmmx_2012.nc")
    pr = xr.open_dataset(paths[0].parent / "pr_2012.nc")
    raw = xr.open_dataset(paths[0].parent / "tmmx_2012.nc", mask_and_scale=False,
                          decode_times=False)
    assert tmmx["air_temperature"].dims == ("day", "lat", "lon")
    assert tmmx.sizes["day"] == 366  # 2012 is a leap year
    assert tmmx["day"].values[0] == np.datetime64("2012-01-01")
    assert raw["day"].attrs["units"] == "days since 1900-01-01 00:00:00"
    assert (np.diff(tmmx["lat"].values) < 0).all()  # north to south, as gridMET
    assert raw["air_temperature"].dtype == np.uint16
    assert raw["air_temperature"].attrs["scale_factor"] == pytest.approx(0.1)
    assert raw["air_temperature"].attrs["add_offset"] == pytest.approx(220.0)
    assert raw["air_temperature"].attrs["_FillValue"] == 32767
    assert tmmx["air_temperature"].attrs["units"] == "K"
    assert pr["precipitation_amount"].attrs["units"] == "mm"
    assert "crs" in tmmx.variables
    july = tmmx["air_temperature"].sel(day=slice("2012-07-01", "2012-07-31")).mean()
    january = tmmx["air_temperature"].sel(day=slice("2012-01-01", "2012-01-31")).mean()
    assert 295 < float(july) < 315 and 265 < float(january) < 285
    annual = pr["precipitation_amount"].sum("day").mean()
    assert 400 < float(annual) < 1300
    assert 0.15 < float((pr["precipitation_amount"] > 0).mean()) < 0.5


NAME = re.compile(r"^(MOD13Q1|MOD09Q1)\.A(\d{4})(\d{3})\.h(\d\d)v(\d\d)\.061\.(\w+)\.tif$")


def test_imagery_follows_modis_conventions(tiny_world):
    entries = [f for f in tiny_world.files if f["role"] == "imagery"]
    tiles_per_date: dict = {}
    for entry in entries:
        path = tiny_world.root / entry["path"]
        match = NAME.match(path.name)
        assert match, path.name
        product, year, doy, h, v, layer = match.groups()
        # The name's date is the first day of the window; the window end is recorded.
        start = pd.Timestamp(entry["date"])
        assert (start.year, start.day_of_year) == (int(year), int(doy))
        length = 16 if product == "MOD13Q1" else 8
        assert pd.Timestamp(entry["window_end"]) - start == pd.Timedelta(days=length - 1)
        assert (int(doy) - 1) % length == 0
        tiles_per_date.setdefault((product, layer, year, doy), set()).add(f"h{h}v{v}")

    assert min(len(t) for t in tiles_per_date.values()) >= 2  # several tiles per date
    ndvi = [f for f in entries if f["layer"] == "250m_16_days_NDVI"][0]
    with rasterio.open(tiny_world.root / ndvi["path"]) as src:
        assert CRS.from_user_input(src.crs) == CRS.from_proj4(MODIS_SINUSOIDAL)
        assert src.dtypes == ("int16",) and src.nodata == -3000
        assert src.scales == (0.0001,) and src.offsets == (0.0,)
        assert src.profile["compress"] == "deflate"
        # Pixels sit on the global MODIS grid: edges on multiples of the pixel size.
        size = MODIS_TILE_SIZE / round(1_200_000 / 4000)
        assert ((src.transform.c + 20015109.354) / size) % 1 == pytest.approx(0, abs=1e-6)
        values = src.read(1)
    valid = values[values != -3000]
    assert valid.min() >= -2000 and valid.max() <= 10000

    reflectance = [f for f in entries if f["layer"] == "sur_refl_b01"][0]
    with rasterio.open(tiny_world.root / reflectance["path"]) as src:
        assert src.count == 1 and src.descriptions == ("sur_refl_b01",)
        assert src.nodata == -28672 and src.scales == (0.0001,)
        red = src.read(1).astype(float)
    with rasterio.open(tiny_world.root / reflectance["path"].replace("b01", "b02")) as src:
        nir = src.read(1).astype(float)
    state_path = tiny_world.root / reflectance["path"].replace("sur_refl_b01",
                                                                "sur_refl_state_250m")
    with rasterio.open(state_path) as src:
        state = src.read(1)
    assert set(np.unique(state)) <= {0, 1, 2, 65535}
    clear, cloudy = state == 0, state == 1
    assert ((red == -28672) == (state == 65535)).all()
    # Clear midsummer land is green (NDVI well above 0.3); clouds are bright and grey.
    assert np.median((nir[clear] - red[clear]) / (nir[clear] + red[clear])) > 0.4
    if cloudy.any():
        assert np.median(np.abs(nir[cloudy] - red[cloudy]) / (nir[cloudy] + red[cloudy])) < 0.1


def test_clouds_are_present_but_leave_most_composites_usable(tiny_world):
    good_shares, cloudy_any = [], []
    for path in tiny_world.paths("imagery", "MOD13Q1"):
        if "pixel_reliability" not in path.name:
            continue
        with rasterio.open(path) as src:
            reliability = src.read(1)
        assert set(np.unique(reliability)) <= {-1, 0, 1, 3}
        inside = reliability != -1
        good_shares.append((reliability[inside] <= 1).mean())
        cloudy_any.append((reliability == 3).any())
    assert np.mean(cloudy_any) > 0.5
    assert np.mean(np.array(good_shares) > 0.7) > 0.8


def test_nass_exports_look_like_quick_stats(tiny_world):
    folder = tiny_world.root / "nass"
    yields = pd.read_csv(folder / "quickstats_county_corn_grain_yield.csv", dtype=str,
                         keep_default_na=False)
    acres = pd.read_csv(folder / "quickstats_county_corn_grain_acres_harvested.csv", dtype=str,
                        keep_default_na=False)
    planted = pd.read_csv(folder / "quickstats_state_corn_acres_planted_june.csv", dtype=str,
                          keep_default_na=False)
    assert list(yields.columns) == HEADER == list(acres.columns) == list(planted.columns)
    assert set(yields["Data Item"]) == {"CORN, GRAIN - YIELD, MEASURED IN BU / ACRE"}
    assert set(yields["State ANSI"]) == {"19"}
    counties = yields[~yields["County"].str.startswith("OTHER")]
    assert counties["County ANSI"].str.fullmatch(r"[1-9]\d{0,2}").all()  # not zero-padded
    assert (counties["County ANSI"].str.len() < 3).any()
    assert acres["Value"].str.contains(",").any()  # thousands separators
    assert set(yields["Value"].str.strip()) >= {"(D)"}
    others = yields[yields["County"] == "OTHER (COMBINED) COUNTIES"]
    assert len(others) and (others["County ANSI"] == "").all()
    assert (others["Ag District Code"] != "99").all()
    assert (planted["Period"] == "YEAR - JUN ACREAGE").all()
    assert planted["Geo Level"].eq("STATE").all()
    # Rows keep the same order in both files, and withheld rows are withheld in both.
    assert (yields["County"] == acres["County"]).all()
    assert ((yields["Value"] == " (D)") == (acres["Value"] == " (D)")).all()


def test_nass_header_matches_the_real_export(shared_nass):
    real = shared_nass / "quickstats_export_county_corn_yield_2012_2021.csv"
    assert real.read_text().splitlines()[0].split(",") == HEADER


def test_truth_holds_latent_stress_and_noise_free_yield(tiny_world):
    truth = pd.read_parquet(tiny_world.paths("truth")[0])
    assert truth["region_id"].str.fullmatch(r"\d{5}").all()
    assert truth["year"].dtype.kind == "i"
    assert len(truth) == 99 * 5
    assert truth.duplicated(["region_id", "year"]).sum() == 0
    np.testing.assert_allclose(truth["yield"], (truth["yield_noise_free"] + truth["noise"])
                               .clip(lower=10).round(1))
    assert truth.loc[truth["year"] == 2012, "heat_year"].all()
    by_year = truth.groupby("year")["stress"].mean()
    assert by_year.idxmax() == 2012


def test_file_paths_in_the_manifest_are_relative(tiny_world):
    assert all(not Path(f["path"]).is_absolute() for f in tiny_world.files)
