"""The feature store and as-of matrices on the tiny world, through the real files.

Shown here: the look-ahead test (every input after the as-of date changed, the matrix
does not move), a rerun after one new composite recomputes only it, a run killed with
SIGKILL and rerun gives the store an uninterrupted run gives, and the world's signal
(NDVI peaks in July-August and sags in 2012, EDD agrees with the world's truth).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import compose_command
from features.asof import CurveSpec, as_of_matrix
from features.errors import CropcastError
from features.sources.catalog import catalog_from_manifest
from features.store import FeatureStore
from forecast.commands import run_features
from forecast.feature_store import build_store

CURVES = [CurveSpec("MOD13Q1", "NDVI", "weighted_mean", 16),
          CurveSpec("MOD09Q1", "EVI2", "weighted_mean", 8)]


def _copy_world(tiny_world, tmp_path: Path) -> Path:
    root = tmp_path / "world"
    shutil.copytree(tiny_world.root, root)
    return root


def _build(root: Path, store_dir: Path, years=None, workers: int = 1):
    catalog = catalog_from_manifest(str(root / "manifest.json"))
    regions, _ = catalog.boundaries.load()
    store = FeatureStore(store_dir)
    return build_store(catalog, regions, store, years=years, workers=workers,
                       progress=False), store


@pytest.fixture(scope="module")
def built(tiny_world, tmp_path_factory):
    """The tiny world's whole store, built once on 2 processes."""
    tmp = tmp_path_factory.mktemp("store")
    report, store = _build(tiny_world.root, tmp / "store", workers=2)
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
    matrix = as_of_matrix(store.load(), None, CURVES)
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
    matrix = as_of_matrix(store.load(), dt.date(2012, 7, 1), CURVES)
    assert sorted(matrix["year"].unique()) == [2009, 2010, 2011, 2012]  # no later season
    steps = sorted(c for c in matrix.columns if c.startswith("mod13q1_ndvi_weighted_mean_d"))
    # windows starting on DOY 129, 145, 161 ended by July 1 (DOY 182); 177 had not
    assert steps == ["mod13q1_ndvi_weighted_mean_d129", "mod13q1_ndvi_weighted_mean_d145",
                     "mod13q1_ndvi_weighted_mean_d161"]
    assert not any(c.startswith("mod09q1") for c in matrix.columns)  # starts DOY 185
    assert "wx_edd_jun" in matrix and "wx_edd_jul" in matrix and "wx_edd_aug" not in matrix
    assert (matrix["wx_days_jul"] == 1).all()  # July 1 itself


def _scramble_raster(path: Path, rng) -> None:
    with rasterio.open(path, "r+") as dst:
        data = dst.read(1)
        dst.write(rng.permutation(data.ravel()).reshape(data.shape), 1)


def _change_after(root: Path, as_of: dt.date, rng) -> None:
    """Change every input observed after ``as_of``'s month and day, in every season (the
    matrix cuts each season there), and every later season, yields and truth included."""

    def after(day: dt.date) -> bool:
        return day.year > as_of.year or day > as_of.replace(year=day.year)

    for path in (root / "imagery").rglob("*.tif"):
        start = dt.datetime.strptime(path.name.split(".")[1][1:], "%Y%j").date()
        window = 16 if path.name.startswith("MOD13Q1") else 8
        if after(start + dt.timedelta(days=window - 1)):  # straddling windows included
            _scramble_raster(path, rng)
    for path in (root / "weather").glob("*.nc"):
        with netCDF4.Dataset(path, "r+") as nc:
            name = next(v for v in nc.variables if v not in ("crs", "day", "lat", "lon"))
            days = netCDF4.num2date(nc["day"][:], nc["day"].units)
            first = next(i for i, d in enumerate(days) if after(dt.date(d.year, d.month, d.day)))
            nc[name][first:] = nc[name][first:] + 3
    for year in range(as_of.year, 2014):  # a season's crop mask appears after it
        _scramble_raster(next((root / "cropmask").glob(f"{year}_*.tif")), rng)
    truth = pd.read_parquet(root / "truth" / "truth.parquet")
    truth.loc[truth["year"] >= as_of.year, "yield"] += 50
    truth.to_parquet(root / "truth" / "truth.parquet")
    for path in (root / "nass").glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        later = table["Year"].astype(int) >= as_of.year
        table.loc[later, "Value"] = "1"
        table.to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def test_changing_every_input_after_the_as_of_date_leaves_the_matrix_unchanged(
        tiny_world, tmp_path):
    root = _copy_world(tiny_world, tmp_path)
    as_of = dt.date(2012, 7, 20)  # the window starting July 11 ends July 26: straddles it
    report, store = _build(root, tmp_path / "store")
    before = as_of_matrix(store.load(), as_of, CURVES)
    assert "mod13q1_ndvi_weighted_mean_d177" in before  # ended July 11
    assert "mod13q1_ndvi_weighted_mean_d193" not in before  # still open on July 20
    _change_after(root, as_of, np.random.default_rng(0))
    rerun, store = _build(root, tmp_path / "store")
    # the changed inputs were picked up: in 2009-2012 the composites ending after July 20
    # (6 + 2 a season), all of 2013 (14) and every weather year
    assert len(rerun.computed) == 4 * (6 + 2) + 14 + 5
    after = as_of_matrix(FeatureStore(store.root).load(), as_of, CURVES)
    pd.testing.assert_frame_equal(before, after)
    # and the test can fail: a change before the as-of date moves the matrix
    _scramble_raster(next((root / "imagery").rglob("MOD13Q1.A2012161.h10v04*NDVI.tif")),
                     np.random.default_rng(1))
    _build(root, tmp_path / "store")
    moved = as_of_matrix(FeatureStore(store.root).load(), as_of, CURVES)
    assert not moved.equals(before)


def test_a_rerun_after_one_new_composite_computes_only_it(tiny_world, tmp_path):
    root = _copy_world(tiny_world, tmp_path)
    held_back = tmp_path / "held_back"
    held_back.mkdir()
    for path in (root / "imagery").rglob("MOD13Q1.A2013257.*"):
        path.rename(held_back / path.name)
    first, store = _build(root, tmp_path / "store", years=[2013])
    assert len(first.computed) == 9 + 4 + 1
    for path in held_back.iterdir():
        path.rename(root / "imagery" / "MOD13Q1" / "2013" / path.name)
    second, _ = _build(root, tmp_path / "store", years=[2013])
    assert second.computed == ["MOD13Q1/2013-09-14"] and len(second.skipped) == 14


_KILLABLE = """
import sys
from features.sources.catalog import catalog_from_manifest
from features.store import FeatureStore
from forecast.feature_store import build_store
catalog = catalog_from_manifest(sys.argv[1])
regions, _ = catalog.boundaries.load()
build_store(catalog, regions, FeatureStore(sys.argv[2]), years=[2012, 2013], workers=1,
            progress=False)
"""


def test_a_run_killed_midway_then_rerun_equals_an_uninterrupted_run(tiny_world, tmp_path):
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
    rerun, store = _build(tiny_world.root, killed, years=[2012, 2013])
    assert len(rerun.skipped) == len(partial) and len(rerun.computed) == 30 - len(partial)
    _, whole = _build(tiny_world.root, tmp_path / "whole", years=[2012, 2013])
    pd.testing.assert_frame_equal(FeatureStore(killed).load(), whole.load())
    assert sorted(p.name for p in killed.rglob("*.parquet*")) == sorted(
        p.name for p in (tmp_path / "whole").rglob("*.parquet*"))  # no temporary left


def test_features_command_writes_the_store_and_the_matrix(tiny_world, tmp_path):
    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "years=[2012]", "workers=1", "as_of=2012-08-01"]
    out = run_features(compose_command("features", overrides))
    assert out["matrix_path"] == tmp_path / "features" / "matrix_asof-2012-08-01.parquet"
    written = pd.read_parquet(out["matrix_path"])
    assert len(written) == 99 and set(written["year"]) == {2012}
    assert "mod13q1_ndvi_weighted_mean_d193" in written  # July 11-26 ended by Aug 1
    again = run_features(compose_command("features", overrides))
    assert again["report"].computed == [] and len(again["report"].skipped) == 15


def test_features_command_rejects_a_bad_as_of_and_a_bad_curve(tiny_world, tmp_path):
    base = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
            f"workdir={tmp_path}"]
    with pytest.raises(CropcastError, match="as_of must be a date YYYY-MM-DD"):
        run_features(compose_command("features", [*base, "as_of=2012-02-30"]))
    with pytest.raises(CropcastError, match=r"features.curves\[0\]"):
        run_features(compose_command("features", [*base, "features.curves=[{band: NDVI}]"]))
