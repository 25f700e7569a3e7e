"""Backtests on small simulated worlds: honest by construction, skilful where the world is.

Shown here: the look-ahead test for an expanding-window backtest (everything after the
forecast date changed, the predictions do not move), the late-season model beating the
trend baseline with RMSE falling through the season, the outputs of `cropcast backtest`,
leave-one-year-out saying it trains on later seasons, and MLflow runs nested as designed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from test_feature_store import CURVES, _build, _change_after, _copy_world

from conftest import compose_command
from features.asof import as_of_matrix
from features.errors import CropcastError
from features.sources.catalog import catalog_from_manifest
from forecast.backtest import BacktestData, forecast_dates, run_backtest
from forecast.experiment import run_backtest_command
from forecast.splits import ExpandingWindow
from models.baselines import RegionTrend
from models.residual import TrendResidualRegressor

TEN_SEASONS = ["world=tiny", "world.first_year=2004", "world.last_year=2013"]


def _data(root, store) -> BacktestData:
    quickstats = catalog_from_manifest(str(root / "manifest.json")).yields.load()
    rows = store.load()
    return BacktestData(quickstats.counties, lambda as_of: as_of_matrix(rows, as_of, CURVES),
                        quickstats.states, quickstats.others)


def _models():
    from lightgbm import LGBMRegressor

    return {"trend": RegionTrend(parent_column="state_fips"),
            "lgbm": TrendResidualRegressor(
                parent_column="state_fips",
                regressor=LGBMRegressor(n_estimators=50, num_leaves=7, random_state=0,
                                        n_jobs=1, verbose=-1))}


def test_forecast_dates_every_16_days_from_june_1():
    assert forecast_dates() == ["06-01", "06-17", "07-03", "07-19", "08-04", "08-20", "09-05",
                                "09-21"]
    assert forecast_dates(dates=["09-01", "end", "07-15"]) == ["07-15", "09-01", "end"]
    with pytest.raises(CropcastError, match="MM-DD"):
        forecast_dates(dates=["July 1"])


def test_expanding_backtest_predictions_ignore_everything_after_the_forecast_date(
        tiny_world, tmp_path):
    root = _copy_world(tiny_world, tmp_path)
    _, store = _build(root, tmp_path / "store")
    splitter = ExpandingWindow(min_train_years=3, test_years=[2012])
    before = run_backtest(_data(root, store), _models(), splitter, ["07-20"], last_year=2012,
                          progress=False).predictions
    _change_after(root, dt.date(2012, 7, 20), np.random.default_rng(0))
    rerun, store = _build(root, tmp_path / "store")
    assert rerun.computed  # the changed files were read again
    after = run_backtest(_data(root, store), _models(), splitter, ["07-20"], last_year=2012,
                         progress=False).predictions
    assert not after["y_true"].equals(before["y_true"])  # the 2012 yields did change
    pd.testing.assert_series_equal(before["y_pred"], after["y_pred"])


@pytest.fixture(scope="module")
def ten_seasons(tmp_path_factory):
    """A ten-season Iowa world backtested once (LightGBM on trend residuals vs trend)."""
    workdir = tmp_path_factory.mktemp("backtest")
    overrides = [*TEN_SEASONS, f"workdir={workdir}", "tracking=none", "model=lgbm",
                 "forecast.dates=[06-15,07-31,09-30]", "model.estimator.regressor.n_estimators=150"]
    return run_backtest_command(compose_command("backtest", overrides)), workdir


def test_late_season_model_beats_the_trend_and_improves_through_the_season(ten_seasons):
    out, _ = ten_seasons
    metrics = out["result"].metrics.set_index(["model", "forecast_date"])
    assert metrics.loc[("lgbm", "09-30"), "skill_vs_trend"] > 0.2
    assert (metrics.loc[("lgbm", "09-30"), "rmse"] < metrics.loc[("lgbm", "07-31"), "rmse"]
            < metrics.loc[("lgbm", "06-15"), "rmse"])


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


def test_loyo_says_it_trains_on_later_seasons(tiny_world, tmp_path):
    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "experiment=demo_loyo", "tracking=none", "model=ridge",
                 "forecast.dates=[08-15]", "workers=1"]
    out = run_backtest_command(compose_command("backtest", overrides))
    assert "trains on later seasons" in (out["folder"] / "notes.txt").read_text()
    assert sorted(out["result"].predictions["year"].unique()) == list(range(2009, 2014))


def test_mlflow_runs_nest_models_under_the_experiment(tiny_world, tmp_path):
    import mlflow

    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "model=ridge", "cv.min_train_years=3",
                 "forecast.dates=[07-31,09-30]", "workers=1"]
    out = run_backtest_command(compose_command("backtest", overrides))
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


@pytest.mark.parametrize("option", ["lgbm", "lgbm_search", "ridge", "random_forest",
                                    "lgbm_ridge", "recent_mean", "shrunk_trend"])
def test_every_model_config_fits_and_predicts_a_later_season(option, tmp_path):
    from forecast.commands import build

    cfg = compose_command("backtest", [f"model={option}", f"workdir={tmp_path}"])
    estimator = build(cfg.model.estimator, "model.estimator")
    rng = np.random.default_rng(0)
    seasons = np.repeat(np.arange(2010, 2020), 12)
    frame = pd.DataFrame({"region_id": np.tile([f"19{i:03d}" for i in range(12)], 10),
                          "year": seasons, "state_fips": "19",
                          "edd": rng.gamma(2, 10, seasons.size)})
    target = 150 + 2 * (seasons - 2010) - 0.5 * frame["edd"] + rng.normal(0, 2, seasons.size)
    train = frame["year"] < 2019
    fitted = estimator.fit(frame[train], target[train])
    predicted = fitted.predict(frame[~train])
    assert cfg.model.name == option and np.isfinite(predicted).all()
    error = np.sqrt(np.mean((predicted - target[~train]) ** 2))
    assert error < np.std(target)  # better than knowing nothing


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
        f"+data.series=[{{_target_: features.sources.tables.RegionTimeSeries, "
        f"path: {folder / 's.csv'}, region_column: GEOID, value_columns: [NDVI], name: ee}}]",
        "features.curves=[{product: ee, variable: NDVI, stat: value, window_days: 16}]",
        f"workdir={folder / 'w'}", "tracking=none", "model=ridge", "workers=1"]


def test_a_peer_data_set_backtests_with_nothing_but_a_data_config(tmp_path):
    overrides = _peer_data_set(tmp_path)
    out = run_backtest_command(compose_command("backtest",
                                               [*overrides, "forecast.dates=[06-01,09-30]"]))
    metrics = out["result"].metrics.set_index(["model", "forecast_date"])
    assert metrics.loc[("ridge", "09-30"), "skill_vs_trend"] > 0.3  # the peak is known
    assert abs(metrics.loc[("ridge", "06-01"), "skill_vs_trend"]) < 0.1  # nothing yet
    assert set(out["result"].predictions["year"]) == set(range(2013, 2020))


def test_a_feature_table_backtests_at_the_end_of_season_only(tmp_path):
    table = (f"+data.features=[{{_target_: features.sources.tables.FeatureTable, "
             f"path: {tmp_path / 'f.csv'}, region_column: GEOID, name: soil}}]")
    overrides = [*_peer_data_set(tmp_path), table]
    out = run_backtest_command(compose_command("backtest", [*overrides, "forecast.dates=[end]"]))
    assert list(out["result"].metrics["forecast_date"].unique()) == ["end"]
    with pytest.raises(CropcastError, match="has no dates.*as_of=end"):
        run_backtest_command(compose_command("backtest", [*overrides, "forecast.dates=[08-01]"]))


def test_a_bad_objective_is_refused_before_any_work(tmp_path):
    cfg = compose_command("backtest", [f"workdir={tmp_path}", "objective=r2"])
    with pytest.raises(CropcastError, match=r"objective must be one of \['rmse'"):
        run_backtest_command(cfg)
    assert not (tmp_path / "world").exists()


def test_a_bad_tracking_uri_is_refused_before_any_work(tmp_path):
    cfg = compose_command("backtest", [f"workdir={tmp_path}", "tracking.uri=notascheme://x"])
    with pytest.raises(CropcastError, match=r"tracking.uri='notascheme://x': MLflow cannot "
                                            r"open experiment 'demo_expanding'"):
        run_backtest_command(cfg)
    assert not (tmp_path / "world").exists()


class _Recorder(RegressorMixin, BaseEstimator):
    """The mean yield; writes down every X it is given."""

    seen: list = []

    def fit(self, X, y):
        type(self).seen.append(("fit", X.copy()))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        type(self).seen.append(("predict", X.copy()))
        return np.full(len(X), self.mean_)


def test_a_test_season_never_shows_its_own_final_weather():
    years = range(2010, 2018)
    yields = pd.DataFrame([(c, y, 150.0 + y - 2010) for c in ("19001", "19003") for y in years],
                          columns=["region_id", "year", "yield"])
    # A careless matrix builder: every season's end-of-season value, the test season's too.
    matrix = yields[["region_id", "year"]].assign(x=1.0, final_wx_edd_tt_flowering=5.0)
    _Recorder.seen = []
    run_backtest(BacktestData(yields, lambda as_of: matrix),
                 {"trend": RegionTrend(), "recorder": _Recorder()},
                 ExpandingWindow(min_train_years=5), ["08-01"], progress=False)
    predicted = [X for step, X in _Recorder.seen if step == "predict"]
    assert len(predicted) == 3  # test seasons 2015-2017
    assert all(X["final_wx_edd_tt_flowering"].isna().all() for X in predicted)
    assert all(X["x"].eq(1.0).all() for X in predicted)
    fitted = [X for step, X in _Recorder.seen if step == "fit"]
    assert all(X["final_wx_edd_tt_flowering"].eq(5.0).all() for X in fitted)


def test_usda_forecasts_in_the_data_are_compared_state_by_state():
    """Two states of three counties, 2010-2017; USDA forecast each state's yield +2% in
    August and +1% in September (of the final county-rebuilt yield)."""
    years, counties = range(2010, 2018), ["19001", "19003", "19005", "17001", "17003", "17005"]
    rng = np.random.default_rng(0)
    yields = pd.DataFrame([(c, y, 150 + 2 * (y - 2010) + rng.normal(0, 5), 10_000.0)
                           for c in counties for y in years],
                          columns=["region_id", "year", "yield", "harvested_acres"])
    final = yields.assign(state_fips=yields["region_id"].str[:2]).groupby(
        ["state_fips", "year"])["yield"].mean()  # equal acres: the plain mean
    states = pd.DataFrame([(s, y, f"YEAR - {m} FORECAST", "yield", v * k)
                           for (s, y), v in final.items()
                           for m, k in (("AUG", 1.02), ("SEP", 1.01))],
                          columns=["state_fips", "year", "reference_period", "variable",
                                   "value"])
    matrix = yields[["region_id", "year"]].assign(x=1.0)
    data = BacktestData(yields, lambda as_of: matrix, states)
    result = run_backtest(data, {"trend": RegionTrend()}, ExpandingWindow(min_train_years=5),
                          ["07-15", "08-15", "09-01"], progress=False)
    usda = result.usda
    assert len(usda) == 2 * 3 * 2  # states x test seasons 2015-2017 x months
    pairs = set(zip(usda["usda_month"], usda["forecast_date"], strict=True))
    assert pairs == {("AUG", "07-15"), ("SEP", "09-01")}
    assert usda["final_source"].eq("counties").all()
    by_month = usda.groupby("usda_month")["usda_error_pct"]
    assert by_month.min().to_dict() == pytest.approx({"AUG": 2.0, "SEP": 1.0})
    assert by_month.max().to_dict() == pytest.approx({"AUG": 2.0, "SEP": 1.0})
    trend = result.aggregated.query("level == 'state'").set_index(
        ["region_id", "year", "forecast_date"])["y_pred"]
    row = usda.iloc[0]
    assert row["y_pred"] == trend[(row["region_id"], row["year"], row["forecast_date"])]
    assert not any("no comparison with USDA" in n for n in result.notes)


def test_nass_trend_baselines_run_through_the_backtest_command(tmp_path):
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
    out = run_backtest_command(compose_command("backtest", overrides))
    rmse = out["result"].metrics.set_index("model")["rmse"]
    assert set(rmse.index) == {"trend", "ols_since1990", "theilsen_15y", "shrunk5_15y",
                               "recent_mean"}
    # Straight lines are extrapolated exactly; the mean of the last 5 seasons lags by 3.
    assert rmse.drop("recent_mean").max() == pytest.approx(0.0, abs=1e-9)
    assert rmse["recent_mean"] == pytest.approx(6.0)
    assert (out["result"].predictions["year"] >= 2010).all()
