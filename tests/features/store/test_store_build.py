"""The feature store and as-of matrices on the tiny world, through the real files.

Shown here: the look-ahead test (every input after the as-of date changed, the matrix
does not move), a rerun after one new composite recomputes only it, a run killed with
SIGKILL and rerun gives the store an uninterrupted run gives, and the world's signal
(NDVI peaks in July-August and sags in 2012, EDD agrees with the world's truth).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from cropcast.features.store.matrix import CurveSpec, MatrixSpec, as_of_matrix
from cropcast.features.store.store import FeatureStore

SPEC = MatrixSpec(curves=[CurveSpec("MOD13Q1", "NDVI", "weighted_mean", 16),
                          CurveSpec("MOD09Q1", "EVI2", "weighted_mean", 8)])


@pytest.fixture(scope="module")
def built(tiny_world, tmp_path_factory, build_tiny_store):
    """The tiny world's whole store, built once on 2 processes."""
    tmp = tmp_path_factory.mktemp("store")
    report, store = build_tiny_store(tiny_world.root, tmp / "store", workers=2)
    return report, store


def test_store_holds_every_composite_and_weather_year_in_the_long_schema(built):
    report, store = built
    # 5 years x (10 MOD13Q1 + 4 MOD09Q1 composites + 1 weather year)
    assert len(report.computed) == 75 and report.skipped == []
    rows = store.load()
    assert list(rows.columns) == ["region_id", "year", "product", "variable", "stat", "date",
                                  "obs_date", "value", "n_valid", "reason"]
    ndvi = rows[(rows["product"] == "MOD13Q1") & (rows["stat"] == "mean")]
    assert ndvi["region_id"].nunique() == 99 and ndvi["date"].nunique() == 50
    # obs_date = window end: 16-day windows
    assert ((ndvi["obs_date"] - ndvi["date"]).dt.days == 15).all()
    missing = ndvi[ndvi["value"].isna()]
    assert (missing["reason"] != "").all() and (ndvi.loc[ndvi["value"].notna(), "reason"]
                                                == "").all()
    weather = rows[rows["product"] == "weather"]
    assert set(weather["variable"]) == {"tmax", "tmin", "pr"}
    assert len(weather) == 99 * 3 * (365 * 4 + 366)
    parts = sorted(p.relative_to(store.root).as_posix() for p in store.parts())
    assert "product=MOD13Q1/year=2012/2012-07-11.parquet" in parts
    assert "product=weather/year=2012/daily.parquet" in parts


def test_curves_peak_in_july_august_and_sag_in_the_heat_year(built, tiny_world):
    _, store = built
    matrix = as_of_matrix(store.load(), None, SPEC)
    peak = matrix["mod13q1_ndvi_weighted_mean_peak"]
    middle = matrix["mod13q1_ndvi_weighted_mean_peak_doy"] + 8  # the window's middle
    known = peak.notna()
    assert known.sum() >= 4 * 99  # 2009 has no earlier crop mask for the weights
    assert middle[known].between(182, 244).mean() > 0.95  # July 1 .. August 31
    by_year = matrix.groupby("year")["mod13q1_ndvi_weighted_mean_peak"].mean()
    assert by_year[2012] < by_year.drop(2012).min() - 0.02
    truth = pd.read_parquet(tiny_world.root / "truth" / "truth.parquet")
    joined = matrix.merge(truth, on=["region_id", "year"])
    assert np.corrcoef(joined["wx_edd_season"], joined["edd_season"])[0, 1] > 0.99
    assert np.corrcoef(joined["wx_pr_jun"] + joined["wx_pr_jul"] + joined["wx_pr_aug"],
                       joined["precip_jun_aug_mm"])[0, 1] > 0.95


def test_as_of_matrix_has_the_steps_and_periods_known_by_then(built):
    _, store = built
    matrix = as_of_matrix(store.load(), dt.date(2012, 7, 1), SPEC)
    assert sorted(matrix["year"].unique()) == [2009, 2010, 2011, 2012]  # no later season
    steps = sorted(c for c in matrix.columns if c.startswith("mod13q1_ndvi_weighted_mean_d"))
    # windows starting on DOY 129, 145, 161 ended by July 1 (DOY 182); 177 had not
    assert steps == ["mod13q1_ndvi_weighted_mean_d129", "mod13q1_ndvi_weighted_mean_d145",
                     "mod13q1_ndvi_weighted_mean_d161"]
    assert not any(c.startswith("mod09q1") for c in matrix.columns)  # starts DOY 185
    assert "wx_edd_jun" in matrix and "wx_edd_jul" in matrix and "wx_edd_aug" not in matrix
    assert (matrix["wx_days_jul"] == 1).all()  # July 1 itself


@pytest.mark.slow
def test_changing_every_input_after_the_as_of_date_leaves_the_matrix_unchanged(
        world_copy, tmp_path, build_tiny_store, change_after, scramble_raster):
    root = world_copy
    as_of = dt.date(2012, 7, 20)  # the window starting July 11 ends July 26: straddles it
    report, store = build_tiny_store(root, tmp_path / "store")
    before = as_of_matrix(store.load(), as_of, SPEC)
    assert "mod13q1_ndvi_weighted_mean_d177" in before  # ended July 11
    assert "mod13q1_ndvi_weighted_mean_d193" not in before  # still open on July 20
    change_after(root, as_of, np.random.default_rng(0))
    rerun, store = build_tiny_store(root, tmp_path / "store")
    # the changed inputs were picked up: in 2009-2012 the composites ending after July 20
    # (6 + 2 a season), all of 2013 (14) and every weather year
    assert len(rerun.computed) == 4 * (6 + 2) + 14 + 5
    after = as_of_matrix(FeatureStore(store.root).load(), as_of, SPEC)
    pd.testing.assert_frame_equal(before, after)
    # and the test can fail: a change before the as-of date moves the matrix
    scramble_raster(next((root / "imagery").rglob("MOD13Q1.A2012161.h10v04*NDVI.tif")),
                     np.random.default_rng(1))
    build_tiny_store(root, tmp_path / "store")
    moved = as_of_matrix(FeatureStore(store.root).load(), as_of, SPEC)
    assert not moved.equals(before)


def test_a_rerun_after_one_new_composite_computes_only_it(world_copy, tmp_path,
                                                        build_tiny_store):
    root = world_copy
    held_back = tmp_path / "held_back"
    held_back.mkdir()
    for path in (root / "imagery").rglob("MOD13Q1.A2013257.*"):
        path.rename(held_back / path.name)
    first, store = build_tiny_store(root, tmp_path / "store", years=[2013])
    assert len(first.computed) == 9 + 4 + 1
    for path in held_back.iterdir():
        path.rename(root / "imagery" / "MOD13Q1" / "2013" / path.name)
    second, _ = build_tiny_store(root, tmp_path / "store", years=[2013])
    assert second.computed == ["MOD13Q1/2013-09-14"] and len(second.skipped) == 14


_KILLABLE = """
import sys
from cropcast.features.sources.catalog import catalog_from_manifest
from cropcast.features.store.store import FeatureStore
from cropcast.features.store.build import build_store
catalog = catalog_from_manifest(sys.argv[1])
build_store(catalog, FeatureStore(sys.argv[2]), years=[2012, 2013], workers=1, progress=False)
"""


@pytest.mark.slow
def test_a_run_killed_midway_then_rerun_equals_an_uninterrupted_run(tiny_world, tmp_path,
                                                                  build_tiny_store):
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-c", _KILLABLE,
                                str(tiny_world.root / "manifest.json"), str(killed)])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        manifest = killed / "manifest.json"
        if manifest.is_file() and manifest.read_text().count('"part"') >= 4:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the build finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = FeatureStore(killed).manifest()["units"]
    assert 4 <= len(partial) < 30
    rerun, store = build_tiny_store(tiny_world.root, killed, years=[2012, 2013])
    assert len(rerun.skipped) == len(partial) and len(rerun.computed) == 30 - len(partial)
    _, whole = build_tiny_store(tiny_world.root, tmp_path / "whole", years=[2012, 2013])
    pd.testing.assert_frame_equal(FeatureStore(killed).load(), whole.load())
    assert sorted(p.name for p in killed.rglob("*.parquet*")) == sorted(
        p.name for p in (tmp_path / "whole").rglob("*.parquet*"))  # no temporary left
