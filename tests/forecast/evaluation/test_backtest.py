"""The backtest engine: honest by construction.

Shown here: the forecast dates, the look-ahead test for an expanding-window backtest
(everything after the forecast date changed, the predictions do not move), a test season
never showing its own end-of-season weather, and the comparison with USDA's forecasts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from cropcast.errors import CropcastError
from cropcast.features.sources.catalog import catalog_from_manifest
from cropcast.features.store.matrix import CurveSpec, MatrixSpec, as_of_matrix
from cropcast.forecast.evaluation.backtest import BacktestData, forecast_dates, run_backtest
from cropcast.forecast.evaluation.splits import ExpandingWindow
from cropcast.models.baselines import RegionTrend
from cropcast.models.residual import TrendResidualRegressor

SPEC = MatrixSpec(curves=[CurveSpec("MOD13Q1", "NDVI", "weighted_mean", 16),
                          CurveSpec("MOD09Q1", "EVI2", "weighted_mean", 8)])


def _data(root, store) -> BacktestData:
    quickstats = catalog_from_manifest(str(root / "manifest.json")).yields.load()
    rows = store.load()
    return BacktestData(quickstats.counties, lambda as_of: as_of_matrix(rows, as_of, SPEC),
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


@pytest.mark.slow
def test_expanding_backtest_predictions_ignore_everything_after_the_forecast_date(
        world_copy, tmp_path, build_tiny_store, change_after):
    root = world_copy
    _, store = build_tiny_store(root, tmp_path / "store")
    splitter = ExpandingWindow(min_train_years=3, test_years=[2012])
    before = run_backtest(_data(root, store), _models(), splitter, ["07-20"], last_year=2012,
                          progress=False).predictions
    change_after(root, dt.date(2012, 7, 20), np.random.default_rng(0))
    rerun, store = build_tiny_store(root, tmp_path / "store")
    assert rerun.computed  # the changed files were read again
    after = run_backtest(_data(root, store), _models(), splitter, ["07-20"], last_year=2012,
                         progress=False).predictions
    assert not after["y_true"].equals(before["y_true"])  # the 2012 yields did change
    pd.testing.assert_series_equal(before["y_pred"], after["y_pred"])


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


