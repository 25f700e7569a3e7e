"""Every reader round-trips the simulated world's tables and polygons."""

import geopandas as gpd
import numpy as np
import pandas as pd

from cropcast.features.sources.boundaries import read_boundaries
from cropcast.features.sources.catalog import catalog_from_manifest, check_catalog
from cropcast.features.sources.quickstats import read_quickstats
from cropcast.features.sources.tables import YieldTable
from cropcast.manifest import MANIFEST


def test_quickstats_reader_recovers_the_worlds_yields_codes_and_other_rows(tiny_world):
    data = read_quickstats(tiny_world.paths("yields"))
    truth = pd.read_parquet(tiny_world.paths("truth")[0])
    truth = truth[truth["harvested_acres"] > 0]
    merged = truth.merge(data.counties, on=["region_id", "year"], suffixes=("_true", ""))
    assert len(merged) == len(truth)
    published = merged["nass_code"] == ""
    np.testing.assert_allclose(merged.loc[published, "yield"],
                               merged.loc[published, "yield_true"])
    np.testing.assert_allclose(merged.loc[published, "harvested_acres"],
                               merged.loc[published, "harvested_acres_true"])
    assert (merged.loc[~published, "yield_code"] == merged.loc[~published, "nass_code"]).all()
    assert merged.loc[~published, "yield"].isna().all()
    # Withheld counties' acres are what the "other" rows add up to, year by year.
    withheld = merged[merged["nass_code"] == "(D)"].groupby("year")["harvested_acres_true"].sum()
    others = data.others.groupby("year")["harvested_acres"].sum()
    pd.testing.assert_series_equal(others.loc[withheld.index], withheld, check_names=False)
    june = data.states[data.states["reference_period"] == "YEAR - JUN ACREAGE"]
    assert june["variable"].eq("planted_acres").all() and len(june) == 5


def test_boundary_reader_recovers_the_worlds_counties(tiny_world):
    path = tiny_world.paths("boundaries")[0]
    shapes, repairs = read_boundaries(path, layer="counties", region_id_width=5)
    raw = gpd.read_file(path)
    assert shapes["region_id"].tolist() == raw["GEOID"].tolist()
    assert shapes["name"].tolist() == raw["NAME"].tolist()
    assert shapes.crs.to_epsg() == 5070 and repairs.repaired == []
    assert shapes.geometry.geom_equals_exact(raw.geometry, tolerance=0).all()


def test_generic_tables_round_trip_the_truth(tiny_world, tmp_path):
    truth = pd.read_parquet(tiny_world.paths("truth")[0])[["region_id", "year", "yield"]]
    truth.to_csv(tmp_path / "y.csv", index=False)
    truth.to_parquet(tmp_path / "y.parquet")
    for path in (tmp_path / "y.csv", tmp_path / "y.parquet"):
        table = YieldTable(str(path), region_id_width=5).load()
        pd.testing.assert_frame_equal(
            table, truth.sort_values(["region_id", "year"], ignore_index=True),
            check_dtype=False)


def test_catalog_of_the_world_reports_every_source(tiny_world):
    report = check_catalog(catalog_from_manifest(str(tiny_world.root / MANIFEST)))
    assert report["yields"]["regions"] == 99
    assert report["yields"]["years"] == {"first": 2009, "last": 2013, "count": 5}
    assert report["yields"]["missing_by_code"]["yield"]["(D)"] > 0
    assert report["yields"]["series_not_in_files"] == ["production", "planted_acres"]
    assert report["yields_vs_boundaries"]["regions_without_boundary"] == []
    assert report["boundaries"]["features"] == 99
