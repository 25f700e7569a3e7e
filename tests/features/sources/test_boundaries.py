"""Boundaries in the formats users have, with the CRS and geometry checks at the door."""

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from cropcast.errors import CropcastError
from cropcast.features.sources.boundaries import join_report, read_boundaries


def _counties():
    return gpd.GeoDataFrame({
        "STATEFP": ["46", "46", "35"], "GEOID": ["46102", "46103", "35013"],
        "NAME": ["Oglala Lakota", "Pennington", "Doña Ana"],
    }, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:4269")


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".geojson", ".parquet", ".zip"])
def test_every_format_reads_to_region_id_name_geometry(tmp_path, suffix):
    frame = _counties()
    if suffix == ".parquet":
        path = tmp_path / "c.parquet"
        frame.to_parquet(path)
    elif suffix == ".zip":
        frame.to_file(tmp_path / "c.shp", encoding="utf-8")
        path = tmp_path / "c.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in tmp_path.glob("c.*"):
                if part.suffix != ".zip":
                    archive.write(part, part.name)
    else:
        path = tmp_path / f"c{suffix}"
        frame.to_file(path)
    shapes, repairs = read_boundaries(path, region_id_width=5)
    assert list(shapes.columns) == ["region_id", "name", "geometry"]
    assert shapes["region_id"].tolist() == ["46102", "46103", "35013"]
    assert "Doña Ana" in set(shapes["name"])
    assert shapes.crs.to_epsg() == 4269 and repairs.repaired == []


def test_file_without_crs_needs_the_setting(tmp_path):
    _counties().to_file(tmp_path / "c.shp")
    (tmp_path / "c.prj").unlink()
    with pytest.raises(CropcastError, match=r"c\.shp: has no CRS .* crs=EPSG:4269"):
        read_boundaries(tmp_path / "c.shp")
    shapes, _ = read_boundaries(tmp_path / "c.shp", crs="EPSG:4269")
    assert shapes.crs.to_epsg() == 4269


def test_conflicting_crs_setting(tmp_path):
    _counties().to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"the file's CRS is EPSG:4269 but crs='EPSG:5070'"):
        read_boundaries(tmp_path / "c.gpkg", crs="EPSG:5070")


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    frame = _counties()
    frame.loc[1, "geometry"] = Polygon([(1, 0), (2, 1), (2, 0), (1, 1)])  # a bow-tie
    frame.to_file(tmp_path / "c.gpkg")
    shapes, repairs = read_boundaries(tmp_path / "c.gpkg")
    assert repairs.repaired == ["46103"]
    assert shapes.geometry.is_valid.all() and shapes.to_crs(5070).area.iloc[1] > 0


def test_empty_geometry_is_an_error_naming_the_id(tmp_path):
    frame = _counties()
    frame.loc[2, "geometry"] = Polygon()
    frame.to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"empty geometries for ids \['35013'\]"):
        read_boundaries(tmp_path / "c.gpkg")


def test_duplicate_ids(tmp_path):
    frame = _counties()
    frame.loc[1, "GEOID"] = "46102"
    frame.to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"duplicate ids \['46102'\]; dissolve them first"):
        read_boundaries(tmp_path / "c.gpkg")


def test_numeric_id_column(tmp_path):
    frame = _counties().assign(GEOID=[46102, 46103, 35013])
    frame.to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"id column 'GEOID' holds numbers"):
        read_boundaries(tmp_path / "c.gpkg")


def test_ids_of_the_wrong_width(tmp_path):
    frame = _counties().assign(GEOID=["46102", "4613", "35013"])
    frame.to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"ids not 5 characters: \['4613'\]"):
        read_boundaries(tmp_path / "c.gpkg", region_id_width=5)


def test_unknown_id_column(tmp_path):
    _counties().rename(columns={"GEOID": "CODE"}).to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"no id_column found .* Set id_column=COLUMN"):
        read_boundaries(tmp_path / "c.gpkg")
    shapes, _ = read_boundaries(tmp_path / "c.gpkg", id_column="CODE")
    assert shapes["region_id"].iloc[0] == "46102"


def test_multi_layer_geopackage_needs_a_layer(tmp_path):
    _counties().to_file(tmp_path / "c.gpkg", layer="counties")
    _counties().to_file(tmp_path / "c.gpkg", layer="states")
    with pytest.raises(CropcastError, match=r"has several layers \['counties', 'states'\]"):
        read_boundaries(tmp_path / "c.gpkg")
    assert len(read_boundaries(tmp_path / "c.gpkg", layer="states")[0]) == 3


def test_corrupt_file(tmp_path):
    (tmp_path / "c.gpkg").write_bytes(b"not a geopackage at all")
    with pytest.raises(CropcastError, match=r"c\.gpkg: cannot be read as boundaries"):
        read_boundaries(tmp_path / "c.gpkg")


def test_missing_file(tmp_path):
    with pytest.raises(CropcastError, match=r"nope\.shp: no such file"):
        read_boundaries(tmp_path / "nope.shp")


def test_join_report_names_what_did_not_match(tmp_path):
    _counties().to_file(tmp_path / "c.gpkg")
    shapes, _ = read_boundaries(tmp_path / "c.gpkg")
    # Shannon County SD became Oglala Lakota (46113 -> 46102) in 2015.
    report = join_report(pd.Series(["46113", "46103", "35013"]), shapes)
    assert report.matched == 2
    assert report.table_only == ["46113"] and report.boundaries_only == ["46102"]
    assert report.as_dict()["regions_without_boundary"] == ["46113"]


def test_encoding_keeps_every_check(tmp_path):
    _counties().to_file(tmp_path / "c.gpkg", layer="counties")
    _counties().to_file(tmp_path / "c.gpkg", layer="states")
    with pytest.raises(CropcastError, match=r"has several layers"):
        read_boundaries(tmp_path / "c.gpkg", encoding="UTF-8")
    with pytest.raises(CropcastError, match=r"cannot be read as boundaries"):
        read_boundaries(tmp_path / "c.gpkg", layer="zzz", encoding="UTF-8")


def test_a_bad_crs_setting_is_named(tmp_path):
    _counties().to_file(tmp_path / "c.shp")
    (tmp_path / "c.prj").unlink()
    with pytest.raises(CropcastError, match=r"boundaries crs 'NAD83x' is not a CRS"):
        read_boundaries(tmp_path / "c.shp", crs="NAD83x")


def test_a_polygon_with_no_area_is_not_repaired_into_lines(tmp_path):
    frame = _counties()
    frame.loc[0, "geometry"] = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area
    frame.to_file(tmp_path / "c.gpkg")
    with pytest.raises(CropcastError, match=r"ids \['46102'\] are invalid and have no area"):
        read_boundaries(tmp_path / "c.gpkg")
