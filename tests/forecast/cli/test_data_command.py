"""`cropcast data`: every configured source checked before anything expensive runs."""

import json
import sys
from pathlib import Path

import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.cli import data

CROPCAST = Path(sys.executable).with_name("cropcast")


def _plotly_counties() -> Path:
    from cropcast.features.world.counties import _shapefile

    return _shapefile()


def test_demo_config_reads_the_world_through_its_manifest(tiny_world, tmp_path, compose):
    manifest = tiny_world.root / "manifest.json"
    cfg = compose("data", ["data=demo", f"data.manifest={manifest}",
                                   f"workdir={tmp_path}"])
    report = data.run(cfg)
    written = json.loads((tmp_path / "data_report.json").read_text())
    assert written["yields"]["rows"] == report["yields"]["rows"] == 495
    assert written["boundaries"]["features"] == 99
    assert list(tmp_path.glob(".data_report.json.*")) == []  # no temporary left behind
    ndvi = written["imagery"]["MOD13Q1"]
    assert ndvi["dates"] == 50 and sorted(ndvi["tiles"]) == ["h10v04", "h11v04"]
    assert ndvi["first"] == "2009-05-09" and ndvi["first_observed"] == "2009-05-24"
    assert 0.5 < ndvi["good_pixel_share"] < 1.0
    assert written["imagery"]["MOD09Q1"]["layers"] == ["nir", "red", "NDVI", "EVI2"]
    assert written["cropmask"]["years"] == [2009, 2010, 2011, 2012, 2013]
    assert written["weather"]["variables"]["tmax"]["units"] == "degC"


def test_us_corn_config_on_real_downloads(tmp_path, compose, shared_nass):
    yields = shared_nass / "quickstats_export_county_corn_yield_2012_2021.csv"
    acres = shared_nass / "quickstats_export_county_corn_acres_harvested_2012_2021.csv"
    cfg = compose("data", [
        "data=us_corn", f"data.yields.paths=[{yields},{acres}]",
        f"data.boundaries.path={_plotly_counties()}", "data.boundaries.crs=EPSG:4269",
        "data.boundaries.encoding=UTF-8", f"workdir={tmp_path}"])
    report = data.run(cfg)
    assert report["yields"]["rows"] == 14_957 and report["yields"]["other_rows"] == 1_404
    assert report["boundaries"]["features"] == 3_233
    assert report["yields_vs_boundaries"]["regions_without_boundary"] == []


def test_tables_config(tmp_path, compose):
    (tmp_path / "y.csv").write_text("GEOID,year,yield\n19169,2019,180\n19153,2019,170\n")
    (tmp_path / "s.csv").write_text("GEOID,date,NDVI\n19169,20190712,0.8\n")
    (tmp_path / "f.csv").write_text("GEOID,year,peak\n19169,2019,0.9\n")
    cfg = compose("data", [
        "data=tables", f"data.yields.path={tmp_path / 'y.csv'}",
        "data.yields.region_column=GEOID",
        f"+data.series=[{{_target_: cropcast.features.sources.tables.RegionTimeSeries, "
        f"path: {tmp_path / 's.csv'}, region_column: GEOID, value_columns: [NDVI], name: ee}}]",
        f"+data.features=[{{_target_: cropcast.features.sources.tables.FeatureTable, "
        f"path: {tmp_path / 'f.csv'}, region_column: GEOID, name: bench}}]",
        f"workdir={tmp_path / 'w'}"])
    report = data.run(cfg)
    assert report["yields"]["regions"] == 2
    assert report["series"]["ee"]["dates"] == {"first": "2019-07-12", "last": "2019-07-12"}
    assert report["features"]["bench"]["as_of"].startswith("end of season only")


def test_missing_required_path_names_the_setting(tmp_path, compose):
    cfg = compose("data", ["data=us_corn", f"workdir={tmp_path}"])
    with pytest.raises(CropcastError, match=r"data\.yields\.paths is required \(it is \?\?\? "
                                            r"in the config\)"):
        data.run(cfg)


def test_an_invalid_source_fails_the_command_and_keeps_the_old_report(tmp_path, compose):
    good = tmp_path / "y.csv"
    good.write_text("region_id,year,yield\nA,2019,1\n")
    cfg = compose("data", ["data=tables", f"data.yields.path={good}",
                                   f"workdir={tmp_path}"])
    data.run(cfg)
    before = (tmp_path / "data_report.json").read_text()
    good.write_text("region_id,year,yield\nA,2019,lots\n")
    with pytest.raises(CropcastError, match=r"y\.csv, line 2: yield 'lots'"):
        data.run(cfg)
    assert (tmp_path / "data_report.json").read_text() == before
