"""``cropcast backtest``: configured backtests from data to tracked results.

Shown here: the late-season model beating the trend baseline with RMSE falling through
the season, the results folder, leave-one-year-out saying it trains on later seasons,
MLflow runs nested as designed, peer-shaped tables, the NASS study's config, and errors
refused before any work (no experiment, a bad objective, a bad tracking URI).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.cli import backtest

TEN_SEASONS = ["world=tiny", "world.first_year=2004", "world.last_year=2013",
               "experiment=demo_expanding"]


@pytest.fixture(scope="module")
def ten_seasons(tmp_path_factory, compose):
    """A ten-season Iowa world backtested once (LightGBM on trend residuals vs trend)."""
    workdir = tmp_path_factory.mktemp("backtest")
    overrides = [*TEN_SEASONS, f"workdir={workdir}", "tracking=none", "model=lgbm",
                 "forecast.dates=[06-15,07-31,09-30]", "model.estimator.regressor.n_estimators=150"]
    return backtest.run(compose("backtest", overrides)), workdir


@pytest.mark.slow
def test_late_season_model_beats_the_trend_and_improves_through_the_season(ten_seasons):
    out, _ = ten_seasons
    metrics = out["result"].metrics.set_index(["model", "forecast_date"])
    assert metrics.loc[("lgbm", "09-30"), "skill_vs_trend"] > 0.2
    assert (metrics.loc[("lgbm", "09-30"), "rmse"] < metrics.loc[("lgbm", "07-31"), "rmse"]
            < metrics.loc[("lgbm", "06-15"), "rmse"])


@pytest.mark.slow
def test_backtest_writes_its_results_folder(ten_seasons):
    out, workdir = ten_seasons
    folder = out["folder"]
    assert folder.parent == workdir / "backtests" / "demo_expanding"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["aggregated.parquet", "config.yaml", "county_errors.png",
                     "coverage_by_year.csv", "metrics.csv", "notes.txt",
                     "predicted_vs_observed.png", "predictions.parquet", "reliability.csv",
                     "skill_by_date.png"]
    metrics = pd.read_csv(folder / "metrics.csv")
    assert list(metrics.columns) == ["model", "forecast_date", "n", "rmse", "nrmse", "mape",
                                     "r2", "bias", "skill_vs_trend", "coverage"]
    assert set(metrics["model"]) == {"trend", "lgbm"} and len(metrics) == 6
    reliability = pd.read_csv(folder / "reliability.csv", dtype={"region_id": str})
    assert set(reliability["region_id"]) == {"US"}
    predictions = pd.read_parquet(folder / "predictions.parquet")
    assert sorted(predictions["year"].unique()) == list(range(2009, 2014))
    assert "no comparison with USDA" in (folder / "notes.txt").read_text()
    assert not list(folder.parent.glob(".*"))  # no staging folder left


@pytest.mark.slow
def test_loyo_says_it_trains_on_later_seasons(tiny_world, tmp_path, compose):
    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "experiment=demo_loyo", "tracking=none", "model=ridge",
                 "forecast.dates=[08-15]", "workers=1"]
    out = backtest.run(compose("backtest", overrides))
    assert "trains on later seasons" in (out["folder"] / "notes.txt").read_text()
    assert sorted(out["result"].predictions["year"].unique()) == list(range(2009, 2014))


@pytest.mark.slow
def test_mlflow_runs_nest_models_under_the_experiment(tiny_world, tmp_path, compose):
    import mlflow

    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "experiment=demo_expanding", "model=ridge",
                 "cv.min_train_years=3",
                 "forecast.dates=[07-31,09-30]", "workers=1"]
    out = backtest.run(compose("backtest", overrides))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = mlflow.get_experiment_by_name("demo_expanding")
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    by_name = {r.info.run_name: r for r in runs}
    assert {"demo_expanding", "trend", "ridge"} <= set(by_name)
    job = next(r for r in runs if r.data.tags.get("mlflow.parentRunId")
               == by_name["demo_expanding"].info.run_id)
    assert job.data.params["model.name"] == "ridge" and job.data.tags["git_commit"]
    ridge = by_name["ridge"]
    assert ridge.data.tags["mlflow.parentRunId"] == job.info.run_id
    history = mlflow.MlflowClient().get_metric_history(ridge.info.run_id, "rmse")
    assert sorted(m.step for m in history) == [212, 273]  # day of year of Jul 31, Sep 30
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(ridge.info.run_id)}
    assert {"metrics.csv", "skill_by_date.png", "reliability.csv"} <= artifacts
    model = mlflow.sklearn.load_model(f"runs:/{ridge.info.run_id}/model")
    example = out["result"].final_inputs.assign(year=2014)  # a season it never saw
    assert np.isfinite(model.predict(example)).all()


def _peer_data_set(folder):
    """A peer's data set: yields, a region NDVI series whose peak tracks each season's
    shock, and a precomputed soil table (no dates)."""
    rng = np.random.default_rng(1)
    regions = [f"19{i:03d}" for i in range(1, 41)]
    yields, series, soil = [], [], []
    for year in range(2008, 2020):
        shock = rng.normal(0, 15)
        for region in regions:
            local = shock + rng.normal(0, 5)
            yields.append((region, year, 160 + 2 * (year - 2008) + local))
            for k, doy in enumerate(range(129, 274, 16)):
                day = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
                peak = 0.8 + local / 100 if k == 5 else 0.3 + 0.08 * k
                series.append((region, day.strftime("%Y%m%d"), peak))
            soil.append((region, year, rng.uniform(0.1, 0.3)))
    pd.DataFrame(yields, columns=["GEOID", "year", "yield"]).to_csv(folder / "y.csv",
                                                                     index=False)
    pd.DataFrame(series, columns=["GEOID", "date", "NDVI"]).to_csv(folder / "s.csv",
                                                                   index=False)
    pd.DataFrame(soil, columns=["GEOID", "year", "awc"]).to_csv(folder / "f.csv", index=False)
    return [
        "data=tables", f"data.yields.path={folder / 'y.csv'}", "data.yields.region_column=GEOID",
        f"+data.series=[{{_target_: cropcast.features.sources.tables.RegionTimeSeries, "
        f"path: {folder / 's.csv'}, region_column: GEOID, value_columns: [NDVI], name: ee}}]",
        "features.curves=[{product: ee, variable: NDVI, stat: value, window_days: 16}]",
        f"workdir={folder / 'w'}", "experiment_name=peer", "tracking=none", "model=ridge",
        "workers=1"]


@pytest.mark.slow
def test_a_peer_data_set_backtests_with_nothing_but_a_data_config(tmp_path, compose):
    overrides = _peer_data_set(tmp_path)
    out = backtest.run(compose("backtest",
                                               [*overrides, "forecast.dates=[06-01,09-30]"]))
    metrics = out["result"].metrics.set_index(["model", "forecast_date"])
    assert metrics.loc[("ridge", "09-30"), "skill_vs_trend"] > 0.3  # the peak is known
    assert abs(metrics.loc[("ridge", "06-01"), "skill_vs_trend"]) < 0.1  # nothing yet
    assert set(out["result"].predictions["year"]) == set(range(2013, 2020))


@pytest.mark.slow
def test_a_feature_table_backtests_at_the_end_of_season_only(tmp_path, compose):
    table = (f"+data.features=[{{_target_: cropcast.features.sources.tables.FeatureTable, "
             f"path: {tmp_path / 'f.csv'}, region_column: GEOID, name: soil}}]")
    overrides = [*_peer_data_set(tmp_path), table]
    out = backtest.run(compose("backtest", [*overrides, "forecast.dates=[end]"]))
    assert list(out["result"].metrics["forecast_date"].unique()) == ["end"]
    with pytest.raises(CropcastError, match="has no dates.*as_of=end"):
        backtest.run(compose("backtest", [*overrides, "forecast.dates=[08-01]"]))


def test_a_backtest_without_an_experiment_lists_the_experiments(tmp_path, compose):
    with pytest.raises(CropcastError, match=r"needs an experiment: add experiment=NAME, one "
                                            r"of demo_expanding, demo_lgbm_search, .*"
                                            r"nass_trend_baselines"):
        backtest.run(compose("backtest", [f"workdir={tmp_path}"]))
    assert not (tmp_path / "world").exists()


def test_a_bad_objective_is_refused_before_any_work(tmp_path, compose):
    cfg = compose("backtest", [f"workdir={tmp_path}", "experiment=demo_expanding",
                               "objective=r2"])
    with pytest.raises(CropcastError, match=r"objective must be one of \['rmse'"):
        backtest.run(cfg)
    assert not (tmp_path / "world").exists()


def test_a_bad_tracking_uri_is_refused_before_any_work(tmp_path, compose):
    cfg = compose("backtest", [f"workdir={tmp_path}", "experiment=demo_expanding",
                               "tracking.uri=notascheme://x"])
    with pytest.raises(CropcastError, match=r"tracking.uri='notascheme://x': MLflow cannot "
                                            r"open experiment 'demo_expanding'"):
        backtest.run(cfg)
    assert not (tmp_path / "world").exists()


@pytest.mark.slow
def test_nass_trend_baselines_run_through_the_backtest_command(tmp_path, compose):
    """The real-history study's config on a file of the same shape with exact lines."""
    rows = ["fips,state_fips,year,yield_bu_ac,area_harvested_ac"]
    for fips, level in (("19001", 150.0), ("19003", 170.0), ("17001", 160.0)):
        rows += [f"{fips},{fips[:2]},{year},{level + 2 * (year - 2000):.1f},10000"
                 for year in range(1985, 2013)]
    rows.append("17003,17,2005,0.0,")  # a "not published" placeholder: read as missing
    path = tmp_path / "nass_county.csv"
    path.write_text("\n".join(rows) + "\n")
    overrides = ["experiment=nass_trend_baselines", f"data.yields.path={path}",
                 "cv.test_years=[2010,2011,2012]", "tracking=none", f"workdir={tmp_path}"]
    out = backtest.run(compose("backtest", overrides))
    rmse = out["result"].metrics.set_index("model")["rmse"]
    assert set(rmse.index) == {"trend", "ols_since1990", "theilsen_15y", "shrunk5_15y",
                               "recent_mean"}
    # Straight lines are extrapolated exactly; the mean of the last 5 seasons lags by 3.
    assert rmse.drop("recent_mean").max() == pytest.approx(0.0, abs=1e-9)
    assert rmse["recent_mean"] == pytest.approx(6.0)
    assert (out["result"].predictions["year"] >= 2010).all()


def test_a_target_of_the_old_layout_names_its_new_path(tmp_path, compose):
    old = "models.residual.TrendResidualRegressor"
    cfg = compose("backtest", [f"workdir={tmp_path}", "experiment=demo_expanding",
                               f"model.estimator._target_={old}"])
    with pytest.raises(CropcastError, match=rf"model.estimator._target_='{old}' names a module "
                                            r"of cropcast 0.1; since 0.2 it is "
                                            rf"'cropcast.{old}': update your config"):
        backtest.run(cfg)
    assert not (tmp_path / "world").exists()


def test_imagery_without_boundaries_is_the_features_commands_error(tiny_world, tmp_path,
                                                                   compose):
    (tmp_path / "y.csv").write_text("region_id,year,yield\n19001,2012,150\n")
    imagery = (f"+data.imagery=[{{_target_: cropcast.features.sources.catalog.ImagerySource, "
               f"product: MOD13Q1, route: folder, path: {tiny_world.root / 'imagery'}}}]")
    base = ["data=tables", f"data.yields.path={tmp_path / 'y.csv'}", imagery,
            f"workdir={tmp_path / 'w'}", "tracking=none"]
    message = r"imagery and weather need region polygons: set data.boundaries"
    with pytest.raises(CropcastError, match=message):
        backtest.run(compose("backtest", [*base, "experiment=demo_expanding"]))
    from cropcast.forecast.cli import features

    with pytest.raises(CropcastError, match=message):
        features.run(compose("features", base[:-1]))
