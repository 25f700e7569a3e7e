"""Imagery: three catalog routes agree, indices from bands, QA masks, windowed reads."""

import datetime as dt
import json
import shutil

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine, from_origin

from cropcast.errors import CropcastError
from cropcast.features.sources.imagery import (
    folder_catalog,
    listing_catalog,
    read_scenes,
    stac_catalog,
)
from cropcast.features.sources.products import PRESETS, Layer, Product, QualityLayer


@pytest.fixture(scope="module")
def imagery(tiny_world):
    return tiny_world.root / "imagery"


@pytest.mark.parametrize("name", ["MOD13Q1", "MOD09Q1"])
def test_folder_listing_and_stac_routes_agree(imagery, name):
    product = PRESETS[name]
    folder = folder_catalog(imagery, product)
    listing = listing_catalog(imagery / "listing.csv", product)
    stac = stac_catalog(imagery / "stac_items.json", product)
    for other in (listing, stac):
        assert other[["product", "layer", "tile", "date", "obs_date"]].equals(
            folder[["product", "layer", "tile", "date", "obs_date"]])
        assert [str(p) for p in other["path"]] == [str(p) for p in folder["path"]]
    date = folder["date"].iloc[len(folder) // 2]
    for a, b in zip(read_scenes(folder, product, date), read_scenes(stac, product, date),
                    strict=True):
        assert a.tile == b.tile and a.transform == b.transform
        np.testing.assert_array_equal(a.good, b.good)
        for key in a.values:
            np.testing.assert_array_equal(a.values[key], b.values[key])


def test_observation_date_is_the_window_end(imagery):
    catalog = folder_catalog(imagery, PRESETS["MOD13Q1"])
    row = catalog[catalog["date"] == dt.date(2012, 7, 11)].iloc[0]  # A2012193
    assert "A2012193" in row["path"] and row["obs_date"] == dt.date(2012, 7, 26)
    lagged = Product("MOD13Q1", 16, PRESETS["MOD13Q1"].layers, PRESETS["MOD13Q1"].quality,
                     lag_days=5)
    assert folder_catalog(imagery, lagged)["obs_date"].min() == dt.date(2009, 5, 29)


def test_quality_masking_removes_exactly_the_cloudy_pixels(imagery):
    product = PRESETS["MOD13Q1"]
    catalog = folder_catalog(imagery, product)
    date = dt.date(2012, 7, 11)
    for scene in read_scenes(catalog, product, date):
        files = catalog[(catalog["date"] == date) & (catalog["tile"] == scene.tile)]
        paths = dict(zip(files["layer"], files["path"], strict=True))
        with rasterio.open(paths["250m_16_days_pixel_reliability"]) as src:
            reliability = src.read(1)
        with rasterio.open(paths["250m_16_days_NDVI"]) as src:
            raw = src.read(1)
        np.testing.assert_array_equal(scene.good, reliability == 0)
        assert np.isnan(scene.values["NDVI"][raw == -3000]).all()
        inside = raw != -3000
        np.testing.assert_allclose(scene.values["NDVI"][inside],
                                   raw[inside].astype(np.float32) * np.float32(1e-4))


def test_ndvi_from_red_and_nir_matches_the_formula(imagery):
    product = PRESETS["MOD09Q1"]
    catalog = folder_catalog(imagery, product)
    date = catalog["date"].iloc[0]
    for scene in read_scenes(catalog, product, date):
        red, nir = scene.values["red"], scene.values["nir"]
        ok = np.isfinite(red)
        np.testing.assert_allclose(scene.values["NDVI"][ok], ((nir - red) / (nir + red))[ok],
                                   rtol=1e-6)
        np.testing.assert_allclose(scene.values["EVI2"][ok],
                                   (2.5 * (nir - red) / (nir + 2.4 * red + 1))[ok], rtol=1e-5)
        # The 8-day QA: bits 0-1 of the state layer, 0 = clear.
        assert 0 < scene.good[ok].mean() < 1


def _tif(path, arrays, nodata=None, scales=None, crs="EPSG:5070", dtype="int16"):
    arrays = np.asarray(arrays)
    arrays = arrays if arrays.ndim == 3 else arrays[None]
    with rasterio.open(path, "w", driver="GTiff", width=arrays.shape[2], height=arrays.shape[1],
                       count=arrays.shape[0], dtype=dtype, crs=crs, nodata=nodata,
                       transform=from_origin(0, 300, 100, 100)) as dst:
        dst.write(arrays.astype(dtype))
        if scales:
            dst.scales = scales
    return path


BANDS = Product("S", 1, {"red": Layer("B04", scale=0.0001, fill=-9999),
                         "nir": Layer("B08", scale=0.0001, fill=-9999)},
                QualityLayer("QA", fill=255, good=(0,), bits=(1, 2)),
                indices=("NDVI", "EVI2", "NIRv"), bands={"R": "red", "N": "nir"})


def _scene_files(folder, red, nir, qa, date="2020-07-01"):
    folder.mkdir(exist_ok=True)
    _tif(folder / f"S_{date}_B04.tif", red, nodata=-9999)
    _tif(folder / f"S_{date}_B08.tif", nir, nodata=-9999)
    _tif(folder / f"S_{date}_QA.tif", qa, nodata=255, dtype="uint8")
    return folder


def test_known_pixels_indices_and_bit_masks(tmp_path):
    red = [[1000, 500, -9999], [1000, 1000, 1000], [0, 0, 0]]
    nir = [[5000, 4500, 3000], [1000, 3000, 3000], [0, 0, 0]]
    qa = [[0, 1, 0], [2, 4, 6], [255, 0, 8]]  # bits 1-2: 0 good; 2 -> 1, 4 -> 2, 6 -> 3
    folder = _scene_files(tmp_path / "s", red, nir, qa)
    scene = read_scenes(folder_catalog(folder, BANDS), BANDS, dt.date(2020, 7, 1))[0]
    assert scene.values["NDVI"][0, 0] == pytest.approx((0.5 - 0.1) / (0.5 + 0.1))
    assert scene.values["EVI2"][0, 0] == pytest.approx(2.5 * 0.4 / (0.5 + 0.24 + 1))
    assert scene.values["NIRv"][0, 0] == pytest.approx(0.5 * (0.4 / 0.6))
    assert np.isnan(scene.values["red"][0, 2]) and np.isnan(scene.values["NDVI"][0, 2])
    assert np.isnan(scene.values["NDVI"][2, 0])  # 0/0 is missing, not an error
    expected = np.array([[True, True, False], [False, False, False], [False, False, True]])
    expected[2] &= np.isfinite(scene.values["NDVI"][2])
    np.testing.assert_array_equal(scene.good, expected)


def test_windowed_reads_read_only_the_region_in_any_crs(tmp_path):
    values = np.arange(9 * 12).reshape(9, 12)
    folder = tmp_path / "w"
    folder.mkdir()
    _tif(folder / "S_2020-07-01_B04.tif", values, nodata=-9999, dtype="int16")
    _tif(folder / "S_2020-07-01_B08.tif", values, nodata=-9999, dtype="int16")
    _tif(folder / "S_2020-07-01_QA.tif", np.zeros((9, 12)), nodata=255, dtype="uint8")
    product = Product("S", 1, BANDS.layers, BANDS.quality)
    catalog = folder_catalog(folder, product)
    # Raster: x 0..1200, y -600..300 (100 m pixels) in EPSG:5070.
    scene = read_scenes(catalog, product, dt.date(2020, 7, 1), bounds=(150, -50, 420, 120),
                        bounds_crs="EPSG:5070")[0]
    assert scene.shape == (3, 4) and scene.transform.c == 100 and scene.transform.f == 200
    np.testing.assert_allclose(scene.values["red"], values[1:4, 1:5] * 1e-4, rtol=1e-6)
    # The same region given in lon/lat reaches the same pixels (the polygons are
    # transformed, the raster is not).
    from rasterio.warp import transform_bounds

    lonlat = transform_bounds("EPSG:5070", "EPSG:4326", 150, -50, 420, 120)
    again = read_scenes(catalog, product, dt.date(2020, 7, 1), bounds=lonlat,
                        bounds_crs="EPSG:4326")[0]
    assert again.transform.c <= 100 and again.shape[0] >= 3
    outside = read_scenes(catalog, product, dt.date(2020, 7, 1), bounds=(5000, 5000, 6000, 6000),
                          bounds_crs="EPSG:5070")
    assert outside == []


# ---- malformed inputs ------------------------------------------------------------------

def test_corrupt_geotiff(tmp_path):
    folder = _scene_files(tmp_path / "s", [[1]], [[2]], [[0]])
    (folder / "S_2020-07-01_B04.tif").write_bytes(b"II*\x00garbage")
    catalog = folder_catalog(folder, BANDS)
    with pytest.raises(CropcastError, match=r"S_2020-07-01_B04\.tif: cannot be opened as a "
                                            r"raster .* download it again"):
        read_scenes(catalog, BANDS, dt.date(2020, 7, 1))


def test_truncated_geotiff(tmp_path):
    folder = _scene_files(tmp_path / "s", np.ones((300, 300)), np.ones((300, 300)),
                          np.zeros((300, 300)))
    path = folder / "S_2020-07-01_B08.tif"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CropcastError, match=r"S_2020-07-01_B08\.tif: cannot be"):
        read_scenes(folder_catalog(folder, BANDS), BANDS, dt.date(2020, 7, 1))


def test_missing_scale(tmp_path):
    product = Product("S", 1, {"red": Layer("B04", fill=-9999), "nir": Layer("B08",
                                                                               fill=-9999)})
    folder = _scene_files(tmp_path / "s", [[1]], [[2]], [[0]])
    with pytest.raises(CropcastError, match=r"layer red holds integers with no scale .* "
                                            r"layers\.red\.scale=0\.0001"):
        read_scenes(folder_catalog(folder, product), product, dt.date(2020, 7, 1))


def test_scale_taken_from_the_file_when_the_product_has_none(tmp_path):
    product = Product("S", 1, {"red": Layer("B04")})
    folder = tmp_path / "s"
    folder.mkdir()
    _tif(folder / "S_2020-07-01_B04.tif", [[100]], nodata=-1, scales=[0.01])
    scene = read_scenes(folder_catalog(folder, product), product, dt.date(2020, 7, 1))[0]
    assert scene.values["red"][0, 0] == pytest.approx(1.0)


def test_missing_fill(tmp_path):
    product = Product("S", 1, {"red": Layer("B04", scale=0.0001)})
    folder = tmp_path / "s"
    folder.mkdir()
    _tif(folder / "S_2020-07-01_B04.tif", [[100]])
    with pytest.raises(CropcastError, match=r"layer red has no fill value .* "
                                            r"layers\.red\.fill=-3000"):
        read_scenes(folder_catalog(folder, product), product, dt.date(2020, 7, 1))


def test_date_pattern_that_matches_nothing(tmp_path):
    folder = _scene_files(tmp_path / "s", [[1]], [[2]], [[0]])
    with pytest.raises(CropcastError, match=r"the date pattern 'modis' matches no file name "
                                            r"\(e\.g\. 'S_2020-07-01_B04\.tif'\)"):
        folder_catalog(folder, BANDS, date_pattern="modis")


def test_custom_date_pattern(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    for layer in ("B04", "B08", "QA"):
        _tif(folder / f"scene_{layer}_y2020d183.tif", [[1]], nodata=255 if layer == "QA"
             else -9999, dtype="uint8" if layer == "QA" else "int16")
    catalog = folder_catalog(folder, BANDS, date_pattern=r"y(?P<year>\d{4})d(?P<doy>\d{3})")
    assert set(catalog["date"]) == {dt.date(2020, 7, 1)}


def test_two_files_claim_the_same_tile_and_date(tmp_path):
    folder = _scene_files(tmp_path / "s", [[1]], [[2]], [[0]])
    (folder / "copy").mkdir()
    shutil.copy(folder / "S_2020-07-01_B04.tif", folder / "copy" / "S_2020-07-01_B04.tif")
    with pytest.raises(CropcastError, match=r"two files claim S layer 'B04', tile \(none\), "
                                            r"date 2020-07-01: .* remove one"):
        folder_catalog(folder, BANDS)


def test_missing_quality_file(tmp_path):
    folder = _scene_files(tmp_path / "s", [[1]], [[2]], [[0]])
    (folder / "S_2020-07-01_QA.tif").unlink()
    with pytest.raises(CropcastError, match=r"S on 2020-07-01 .* lacks layer\(s\) \['QA'\]"):
        folder_catalog(folder, BANDS)


def test_stac_item_with_a_missing_asset(imagery, tmp_path):
    text = (imagery / "stac_items.json").read_text().replace('"250m_16_days_pixel_reliability"',
                                                             '"reliability"', 1)
    (tmp_path / "items.json").write_text(text)
    with pytest.raises(CropcastError, match=r"STAC item 'MOD13Q1\.A\d+\.h\d\dv\d\d' lacks "
                                            r"asset\(s\) \['250m_16_days_pixel_reliability'\]"):
        stac_catalog(tmp_path / "items.json", PRESETS["MOD13Q1"])


def test_stac_that_is_not_json(tmp_path):
    (tmp_path / "items.json").write_text("<html>")
    with pytest.raises(CropcastError, match=r"items\.json: not valid STAC JSON"):
        stac_catalog(tmp_path / "items.json", PRESETS["MOD13Q1"])


def test_listing_with_a_bad_date_or_layer(imagery, tmp_path):
    lines = (imagery / "listing.csv").read_text().splitlines()
    (tmp_path / "l.csv").write_text("\n".join([lines[0], lines[1].replace("-", "/", 1)]))
    with pytest.raises(CropcastError, match=r"l\.csv, row 1: date .* is not YYYY-MM-DD"):
        listing_catalog(tmp_path / "l.csv", PRESETS["MOD09Q1"])
    (tmp_path / "l.csv").write_text("\n".join([lines[0], lines[1].replace("sur_refl", "x")]))
    with pytest.raises(CropcastError, match=r"row 1: layer .* is not one of MOD09Q1's"):
        listing_catalog(tmp_path / "l.csv", PRESETS["MOD09Q1"])


def test_raw_hdf4_files_get_a_clear_way_out(tmp_path):
    (tmp_path / "MOD13Q1.A2019193.h11v04.061.2020286123456.hdf").write_bytes(b"\x0e\x03\x13\x01")
    with pytest.raises(CropcastError, match=r"holds HDF4 files .* AppEEARS"):
        folder_catalog(tmp_path, PRESETS["MOD13Q1"])


def test_band_beyond_the_file(tmp_path):
    product = Product("S", 1, {"red": Layer("B04", band=3, scale=1.0, fill=-9999)})
    folder = tmp_path / "s"
    folder.mkdir()
    _tif(folder / "S_2020-07-01_B04.tif", [[1]], nodata=-9999)
    with pytest.raises(CropcastError, match=r"has 1 band\(s\); S layer red wants band 3"):
        read_scenes(folder_catalog(folder, product), product, dt.date(2020, 7, 1))


def test_unknown_index_or_unmapped_band():
    with pytest.raises(CropcastError, match=r"unknown index 'NDXI'"):
        Product("S", 1, {"red": Layer("B04")}, indices=("NDXI",))
    with pytest.raises(CropcastError, match=r"index NDVI needs bands \['N'\]"):
        Product("S", 1, {"red": Layer("B04")}, indices=("NDVI",), bands={"R": "red"})


def test_date_not_in_the_catalog(imagery):
    catalog = folder_catalog(imagery, PRESETS["MOD13Q1"])
    with pytest.raises(CropcastError, match=r"no MOD13Q1 composite starting on 2012-07-12"):
        read_scenes(catalog, PRESETS["MOD13Q1"], dt.date(2012, 7, 12))


def test_bounds_need_their_crs(imagery):
    catalog = folder_catalog(imagery, PRESETS["MOD13Q1"])
    with pytest.raises(CropcastError, match=r"bounds_crs is required"):
        read_scenes(catalog, PRESETS["MOD13Q1"], catalog["date"].iloc[0], bounds=(0, 0, 1, 1))


# ---- review cases ------------------------------------------------------------------------

def test_stac_child_catalogs_keep_each_items_own_folder(tmp_path):
    folder = tmp_path / "col" / "item1"
    folder.mkdir(parents=True)
    for layer, nodata, dtype in (("B04", -9999, "int16"), ("B08", -9999, "int16"),
                                 ("QA", 255, "uint8")):
        _tif(folder / f"item1_{layer}.tif", [[100]], nodata=nodata, dtype=dtype)
    item = {"type": "Feature", "id": "item1", "collection": "S",
            "properties": {"datetime": "2020-07-01T10:00:00Z"},
            "assets": {k: {"href": f"./item1_{k}.tif"} for k in ("B04", "B08", "QA")}}
    (folder / "item1.json").write_text(json.dumps(item))
    (tmp_path / "col" / "collection.json").write_text(json.dumps(
        {"type": "Collection", "links": [{"rel": "item", "href": "./item1/item1.json"}]}))
    (tmp_path / "catalog.json").write_text(json.dumps(
        {"type": "Catalog", "links": [{"rel": "child", "href": "./col/collection.json"}]}))
    catalog = stac_catalog(tmp_path / "catalog.json", BANDS)
    assert catalog["path"].str.endswith(("col/item1/item1_B04.tif", "col/item1/item1_B08.tif",
                                         "col/item1/item1_QA.tif")).all()
    assert read_scenes(catalog, BANDS, dt.date(2020, 7, 1))[0].values["red"][0, 0] == \
        pytest.approx(0.01)


def test_stac_tiles_from_ids_and_extension_properties():
    from cropcast.features.sources.imagery import _stac_tile

    assert _stac_tile({"id": "HLS.L30.T15TVG.2020183T165850.v2.0"}) == "T15TVG"
    assert _stac_tile({"id": "x", "properties": {"s2:mgrs_tile": "15TVG"}}) == "T15TVG"
    assert _stac_tile({"id": "x", "properties": {"modis:horizontal-tile": 10,
                                                 "modis:vertical-tile": 4}}) == "h10v04"


def test_stac_window_must_match_the_product(imagery, tmp_path):
    text = (imagery / "stac_items.json").read_text()
    wrong = Product("MOD13Q1", 8, PRESETS["MOD13Q1"].layers, PRESETS["MOD13Q1"].quality)
    (tmp_path / "items.json").write_text(text)
    with pytest.raises(CropcastError, match=r"has window_days=8; fix window_days"):
        stac_catalog(tmp_path / "items.json", wrong)


def test_folder_route_keeps_products_apart(tmp_path):
    product = Product("MOD13Q1", 16, {"NDVI": Layer("NDVI", scale=1e-4, fill=-3000)})
    for name in ("MOD13Q1.A2019193.h10v04.061.NDVI.tif", "MYD13Q1.A2019201.h10v04.061.NDVI.tif"):
        _tif(tmp_path / name, [[1]], nodata=-3000)
    assert folder_catalog(tmp_path, product)["date"].tolist() == [dt.date(2019, 7, 12)]


def test_appeears_and_nasa_mod09q1_names(tmp_path):
    for layer, nodata, dtype in (("sur_refl_b01", -28672, "int16"),
                                 ("sur_refl_b02", -28672, "int16"),
                                 ("sur_refl_state_250m", 65535, "uint16")):
        _tif(tmp_path / f"MOD09Q1.061_{layer}_doy2019193_aid0001.tif", [[800, 0]],
             nodata=nodata, dtype=dtype)
    catalog = folder_catalog(tmp_path, PRESETS["MOD09Q1"])
    assert set(catalog["date"]) == {dt.date(2019, 7, 12)}
    assert set(catalog["obs_date"]) == {dt.date(2019, 7, 19)}


def test_quality_bits_need_not_be_contiguous(tmp_path):
    product = Product("S", 1, {"red": Layer("B04", scale=1.0, fill=-9999)},
                      QualityLayer("QA", fill=255, good=(0,), bits=(0, 2)))
    folder = tmp_path / "s"
    folder.mkdir()
    _tif(folder / "S_2020-07-01_B04.tif", [[1, 1, 1]], nodata=-9999)
    _tif(folder / "S_2020-07-01_QA.tif", [[2, 4, 1]], nodata=255, dtype="uint8")
    scene = read_scenes(folder_catalog(folder, product), product, dt.date(2020, 7, 1))[0]
    np.testing.assert_array_equal(scene.good, [[True, False, False]])  # bit 1 is ignored


def test_products_refuse_look_ahead_and_contradictions():
    with pytest.raises(CropcastError, match=r"lag_days must be an integer >= 0"):
        Product("S", 1, {"red": Layer("B04")}, lag_days=-10)
    with pytest.raises(CropcastError, match=r"the quality fill 0 is also a good value"):
        Product("S", 1, {"red": Layer("B04")}, QualityLayer("QA", fill=0, good=(0,)))


def test_south_up_rasters_and_missing_crs(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    values = np.arange(12).reshape(3, 4)
    with rasterio.open(folder / "S_2020-07-01_B04.tif", "w", driver="GTiff", width=4, height=3,
                       count=1, dtype="int16", crs="EPSG:5070", nodata=-9999,
                       transform=Affine(100, 0, 0, 0, 100, 0)) as dst:  # south-up
        dst.write(values.astype("int16"), 1)
    product = Product("S", 1, {"red": Layer("B04", scale=1.0)})
    catalog = folder_catalog(folder, product)
    scene = read_scenes(catalog, product, dt.date(2020, 7, 1), bounds=(50, 50, 250, 150),
                        bounds_crs="EPSG:5070")[0]
    np.testing.assert_array_equal(scene.values["red"], values[0:2, 0:3])
    bare = tmp_path / "bare"
    bare.mkdir()
    _tif(bare / "S_2020-07-01_B04.tif", values, nodata=-9999, crs=None)
    with pytest.raises(CropcastError, match=r"has no CRS, so a region cannot be placed"):
        read_scenes(folder_catalog(bare, product), product, dt.date(2020, 7, 1),
                    bounds=(0, 0, 1, 1), bounds_crs="EPSG:5070")


def test_day_of_year_out_of_range(tmp_path):
    _tif(tmp_path / "MOD13Q1.A2019400.h10v04.061.250m_16_days_NDVI.tif", [[1]], nodata=-3000)
    with pytest.raises(CropcastError, match=r"matches no file name"):
        folder_catalog(tmp_path, PRESETS["MOD13Q1"], date_pattern="modis")
