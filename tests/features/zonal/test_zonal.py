"""The zonal engine: exact agreement with rasterstats, tiles that add up, the traps."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.merge import merge
from rasterio.transform import Affine
from shapely.geometry import box

import cropcast.features.zonal.engine as zonal
from cropcast.errors import CropcastError
from cropcast.features.zonal import NO_PIXEL, NO_VALID, zonal_stats

GRID = {"transform": Affine(1, 0, 0, 0, -1, 4), "crs": "EPSG:5070"}


def _squares():
    return gpd.GeoDataFrame({"region_id": ["W", "E"]},
                            geometry=[box(0, 0, 2, 4), box(2, 0, 4, 4)], crs="EPSG:5070")


def test_rasterstats_example_with_known_answers():
    raster = np.array([[np.nan, 12.25], [-999, 12.75]])
    regions = gpd.GeoDataFrame({"region_id": ["A"]}, geometry=[box(0, 0, 2, 2)],
                               crs="EPSG:5070")
    row = zonal_stats(regions, raster, transform=Affine(1, 0, 0, 0, -1, 2), crs="EPSG:5070",
                      nodata=-999).iloc[0]
    assert (row["count"], row["pixels"], row["valid_fraction"]) == (2, 4, 0.5)
    assert row["mean"] == 12.5 and row["std"] == 0.25 and row["p50"] == 12.5
    assert row["p10"] == pytest.approx(12.3) and row["p90"] == pytest.approx(12.7)


def test_quality_mask_weights_and_explicit_missing():
    raw = np.array([[100, 200, 300, 400]] * 4, dtype=np.int16)
    good = np.ones((4, 4), bool)
    good[:, 0] = False  # clouds over the west's first column
    good[:, 2:] = False  # the whole east is cloudy
    weights = np.zeros((4, 4))
    weights[:, 1] = 0.5
    out = zonal_stats(_squares(), raw, nodata=-3000, scale=0.01, good=good, weights=weights,
                      **GRID).set_index("region_id")
    assert out.loc["W", "count"] == 4 and out.loc["W", "mean"] == pytest.approx(2.0)
    assert out.loc["W", "weighted_mean"] == pytest.approx(2.0)
    assert out.loc["W", "valid_fraction"] == 0.5
    assert np.isnan(out.loc["E", "mean"]) and out.loc["E", "reason"] == NO_VALID


def test_region_smaller_than_a_pixel_is_reported_not_dropped():
    regions = pd.concat([_squares(), gpd.GeoDataFrame(
        {"region_id": ["tiny"]}, geometry=[box(0.1, 0.1, 0.3, 0.3)], crs="EPSG:5070")])
    out = zonal_stats(regions, np.ones((4, 4), np.int16), nodata=None, **GRID)
    tiny = out.set_index("region_id").loc["tiny"]
    assert tiny["pixels"] == 0 and tiny["reason"] == NO_PIXEL and np.isnan(tiny["mean"])


@pytest.fixture(scope="module")
def counties(tiny_world):
    return gpd.read_file(tiny_world.paths("boundaries")[0]).rename(
        columns={"GEOID": "region_id"})


def _ndvi_tiles(world, stamp="A2012193"):
    return sorted(p for p in world.paths("imagery", "MOD13Q1") if stamp in p.name
                  and p.name.endswith("NDVI.tif"))


def test_equals_rasterstats_on_every_county_of_every_tile(tiny_world, counties, tmp_path):
    for path in _ndvi_tiles(tiny_world):
        ours = zonal_stats(counties, path, cache_dir=tmp_path)
        reference = zonal_stats(counties, path, engine="rasterstats")
        np.testing.assert_array_equal(ours["count"], reference["count"])
        for column in ("mean", "std", "p10", "p50", "p90"):
            np.testing.assert_allclose(ours[column], reference[column], rtol=1e-12,
                                       atol=1e-12, err_msg=column)


def test_tiles_combine_into_the_mosaic(tiny_world, counties, tmp_path):
    paths = _ndvi_tiles(tiny_world)
    assert len(paths) >= 2
    total = zonal_stats(counties, paths[0], accumulate_only=True)
    for path in paths[1:]:
        total.add(zonal_stats(counties, path, accumulate_only=True))
    combined = total.result()
    with rasterio.open(paths[0]) as first:
        profile = first.profile
    mosaic, transform = merge([str(p) for p in paths], nodata=-3000)
    profile.update(width=mosaic.shape[2], height=mosaic.shape[1], transform=transform,
                   tiled=False)
    profile.pop("blockxsize", None)
    profile.pop("blockysize", None)
    with rasterio.open(tmp_path / "mosaic.tif", "w", **profile) as dst:
        dst.write(mosaic)
        dst.scales = (0.0001,)
    reference = zonal_stats(counties, tmp_path / "mosaic.tif", engine="rasterstats")
    np.testing.assert_array_equal(combined["count"], reference["count"])
    for column in ("mean", "std", "p10", "p50", "p90"):
        np.testing.assert_allclose(combined[column], reference[column], rtol=1e-12,
                                   atol=1e-12, err_msg=column)
    spanning = (combined["count"] > 0).sum()
    assert spanning == (reference["count"] > 0).sum() > 90


def test_strips_do_not_change_the_answer(tiny_world, counties, monkeypatch):
    path = _ndvi_tiles(tiny_world)[-1]
    whole = zonal_stats(counties, path)
    monkeypatch.setattr(zonal, "_STRIP_ROWS", 7)
    pd.testing.assert_frame_equal(zonal_stats(counties, path), whole)


def test_labels_are_cached_by_content_and_grid(tiny_world, counties, tmp_path):
    path = _ndvi_tiles(tiny_world)[0]
    first = zonal_stats(counties, path, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("labels-*.json"))) == 1
    again = zonal_stats(counties, path, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)
    moved = counties.copy()
    moved.loc[0, "geometry"] = moved.geometry.iloc[0].buffer(5000)
    zonal_stats(moved, path, cache_dir=tmp_path)
    zonal_stats(counties, _ndvi_tiles(tiny_world)[1], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("labels-*.json"))) == 3


# ---- traps ------------------------------------------------------------------------------

def test_regions_in_another_crs_are_reprojected_not_emptied(tiny_world, counties):
    path = _ndvi_tiles(tiny_world)[0]
    native = zonal_stats(counties, path)
    lonlat = zonal_stats(counties.to_crs("EPSG:4326"), path)
    np.testing.assert_array_equal(native["count"], lonlat["count"])
    assert (native["count"] > 0).sum() > 40


def test_an_array_without_a_declared_fill_is_refused():
    raster = np.full((4, 4), -3000, dtype=np.int16)
    raster[0, 0] = 5000
    with pytest.raises(CropcastError, match=r"needs nodata="):
        zonal_stats(_squares(), raster, **GRID)
    out = zonal_stats(_squares(), raster, nodata=-3000, **GRID).set_index("region_id")
    assert out.loc["W", "mean"] == 5000 and out.loc["W", "count"] == 1


def test_a_files_scale_tag_is_applied(tmp_path):
    raw = np.full((4, 4), 8000, dtype=np.int16)
    with rasterio.open(tmp_path / "s.tif", "w", driver="GTiff", width=4, height=4, count=1,
                       dtype="int16", nodata=-3000, **GRID) as dst:
        dst.write(raw, 1)
        dst.scales = (0.0001,)
    out = zonal_stats(_squares(), tmp_path / "s.tif")
    assert out["mean"].tolist() == pytest.approx([0.8, 0.8])
    assert zonal_stats(_squares(), tmp_path / "s.tif", scale=1.0)["mean"].iloc[0] == 8000


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(CropcastError, match=r"engine must be"):
        zonal_stats(_squares(), np.ones((4, 4)), nodata=None, engine="fast", **GRID)
    with pytest.raises(CropcastError, match=r"good has shape \(2, 2\); the raster is \(4, 4\)"):
        zonal_stats(_squares(), np.ones((4, 4)), nodata=None, good=np.ones((2, 2), bool),
                    **GRID)
    with pytest.raises(CropcastError, match=r"regions have no CRS"):
        zonal_stats(_squares().set_crs(None, allow_override=True), np.ones((4, 4)),
                    nodata=None, **GRID)
    (tmp_path / "x.tif").write_bytes(b"nope")
    with pytest.raises(CropcastError, match=r"x\.tif: cannot be opened as a raster"):
        zonal_stats(_squares(), tmp_path / "x.tif")


# ---- coverage rule and workers -----------------------------------------------------------

def test_coverage_rule_equals_exactextract(tiny_world, counties, tmp_path):
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    path = _ndvi_tiles(tiny_world)[0]
    ours = zonal_stats(counties, path, rule="coverage", cache_dir=tmp_path)
    with rasterio.open(path) as src:
        crs, raw, t = src.crs, src.read(1).astype(np.float64), src.transform
    # exactextract applies the file's scale tag but then misses the -3000 fill in some
    # zones (one of the traps): give it physical values with NaN for fill instead.
    raw[raw == -3000] = np.nan
    rows, cols = raw.shape
    source = NumPyRasterSource(raw, t.c, t.f + rows * t.e, t.c + cols * t.a, t.f,
                               srs_wkt=crs.to_wkt())
    reference = exact_extract(source, counties.to_crs(crs), ["mean", "count"],
                              output="pandas", include_cols=["region_id"])
    merged = ours.merge(reference, on="region_id", suffixes=("", "_ee"))
    covered = merged["count_ee"] > 0
    assert covered.sum() > 40
    np.testing.assert_allclose(merged.loc[covered, "mean"],
                               merged.loc[covered, "mean_ee"] * 1e-4, rtol=1e-9)
    np.testing.assert_allclose(merged.loc[covered, "count"], merged.loc[covered, "count_ee"],
                               rtol=1e-9)
    assert merged.loc[covered, "p50"].isna().all()  # percentiles: centre rule only


def test_a_region_smaller_than_a_pixel_gets_a_value_under_the_coverage_rule():
    regions = pd.concat([_squares(), gpd.GeoDataFrame(
        {"region_id": ["tiny"]}, geometry=[box(0.1, 0.1, 0.3, 0.3)], crs="EPSG:5070")])
    raster = np.arange(16, dtype=np.int16).reshape(4, 4)
    out = zonal_stats(regions, raster, nodata=None, rule="coverage", **GRID)
    tiny = out.set_index("region_id").loc["tiny"]
    assert tiny["mean"] == 12.0 and tiny["count"] == pytest.approx(0.04)  # pixel (3, 0)
    assert tiny["reason"] == ""
    west = out.set_index("region_id").loc["W"]
    assert west["mean"] == pytest.approx(np.mean(raster[:, :2]))


def test_workers_give_the_same_answer(tiny_world, counties, monkeypatch):
    monkeypatch.setattr(zonal, "_STRIP_ROWS", 9)
    path = _ndvi_tiles(tiny_world)[-1]
    one = zonal_stats(counties, path, workers=1)
    two = zonal_stats(counties, path, workers=2)
    pd.testing.assert_frame_equal(one, two, check_exact=False, rtol=1e-12)
    np.testing.assert_array_equal(one["p50"], two["p50"])


def test_labels_reused_across_dates_must_fit_the_grid(tiny_world, counties):
    from cropcast.features.zonal import region_labels
    from cropcast.grid import TargetGrid

    first, second = _ndvi_tiles(tiny_world)[:2]
    with rasterio.open(first) as src:
        labels = region_labels(counties, TargetGrid(src.crs, src.transform, src.shape))
    pd.testing.assert_frame_equal(zonal_stats(counties, first, labels=labels),
                                  zonal_stats(counties, first))
    with pytest.raises(CropcastError, match=r"labels are for a .* grid .* build them with "
                                            r"region_labels for this grid"):
        zonal_stats(counties, second, labels=labels)


def test_overlapping_regions_each_get_their_pixels_under_the_coverage_rule():
    regions = gpd.GeoDataFrame({"region_id": ["A", "B", "C"]},
                               geometry=[box(0, 0, 2, 4), box(0, 0, 2, 4), box(0, 0, 2, 4)],
                               crs="EPSG:5070")
    raster = np.arange(16, dtype=np.int16).reshape(4, 4)
    expected = np.mean(raster[:, :2])
    coverage = zonal_stats(regions, raster, nodata=None, rule="coverage", **GRID)
    assert coverage["mean"].tolist() == [expected] * 3
    assert coverage["count"].tolist() == [8.0] * 3
