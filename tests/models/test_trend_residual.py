"""TrendResidualRegressor: exact recovery, dropped empty features, LightGBM, forests, Hydra."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from lightgbm import LGBMRegressor
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from cropcast.errors import CropcastError
from cropcast.models.baselines import RegionTrend
from cropcast.models.residual import TrendResidualRegressor

# Thue-Morse signs: sum to 0 and orthogonal to the year over every 8 consecutive years, so
# a per-region OLS trend fitted on y = trend + 2 * x1 sees exactly the trend.
SIGNS = np.array([1, -1, -1, 1, -1, 1, 1, -1], dtype=float)
YEARS = np.arange(2000, 2008)
LINES = {"19001": ("19", -3900.0, 2.0), "19003": ("19", -5850.0, 3.0), "17001": ("17", 100.0, 0.0)}


@pytest.fixture
def season() -> tuple[pd.DataFrame, np.ndarray]:
    parts = []
    for i, (region, (parent, a, b)) in enumerate(LINES.items()):
        x1 = SIGNS * (i + 1)
        parts.append(
            pd.DataFrame(
                {
                    "region_id": region,
                    "state_fips": parent,
                    "year": YEARS,
                    "x1": x1,
                    "county": "name",
                    "yield": a + b * YEARS + 2.0 * x1,
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)
    return table.drop(columns="yield"), table["yield"].to_numpy()


def later(region: str, year: int, x1: float) -> pd.DataFrame:
    parent = LINES.get(region, ("55",))[0]
    return pd.DataFrame({"region_id": [region], "state_fips": parent, "year": year, "x1": x1})


def test_linear_regression_recovers_trend_plus_two_x1(season):
    X, y = season
    model = TrendResidualRegressor(regressor=LinearRegression()).fit(X, y)
    assert model.feature_columns_ == ["x1"]  # keys and the text column are not features
    assert model.regressor_.coef_[0] == pytest.approx(2.0, abs=1e-9)
    assert model.regressor_.intercept_ == pytest.approx(0.0, abs=1e-9)
    assert model.trend_.coef_.loc["19003", "slope"] == pytest.approx(3.0, abs=1e-9)
    np.testing.assert_allclose(model.predict(X), y, rtol=0, atol=1e-9)
    pred = model.predict(pd.concat([later("19001", 2012, 5.0), later("19003", 2010, -1.0)]))
    np.testing.assert_allclose(pred, [124.0 + 10.0, 180.0 - 2.0], rtol=0, atol=1e-9)


def test_default_regressor_is_imputing_ridge(season):
    X, y = season
    model = TrendResidualRegressor().fit(X.assign(x2=np.where(X["year"] == 2003, np.nan, 1.0)), y)
    assert [name for name, _ in model.regressor_.steps] == ["impute", "scale", "ridge"]
    assert np.isfinite(model.predict(later("19001", 2010, np.nan).assign(x2=np.nan))).all()


def test_all_nan_feature_is_dropped_and_ignored_at_predict(season):
    X, y = season
    model = TrendResidualRegressor(regressor=LinearRegression())
    model.fit(X.assign(late_ndvi=np.nan), y)
    assert model.dropped_columns_ == ["late_ndvi"]
    assert model.feature_columns_ == ["x1"]
    query = later("19001", 2012, 5.0)
    expected = model.predict(query)
    assert model.predict(query.assign(late_ndvi=0.9)) == pytest.approx(expected)
    assert expected[0] == pytest.approx(134.0, abs=1e-9)


def test_keys_are_passed_to_the_trend(season):
    X, y = season
    trend = RegionTrend(shrinkage=2.0)
    model = TrendResidualRegressor(trend=trend, parent_column="state_fips").fit(X, y)
    assert model.trend_.parent_column == "state_fips" and model.trend_.shrinkage == 2.0
    assert trend.parent_column is None  # the given trend is cloned, never fitted or changed
    assert not hasattr(trend, "coef_")
    assert list(model.trend_.parent_coef_.index) == ["17", "19"]


def test_trend_is_fitted_on_training_rows_only(season):
    X, y = season
    y = y + np.where(X["year"] == 2007, 30.0, 0.0)  # a record year, in the test fold only
    train = (X["year"] < 2007).to_numpy()
    model = TrendResidualRegressor(regressor=LinearRegression()).fit(X[train], y[train])
    alone = RegionTrend().fit(X[train], y[train])
    seen = RegionTrend().fit(X, y)
    test_rows = X[~train]
    np.testing.assert_allclose(model.trend_.predict(test_rows), alone.predict(test_rows))
    assert not np.allclose(alone.predict(test_rows), seen.predict(test_rows))


def test_lightgbm_handles_nan_features(season):
    X, y = season
    rng = np.random.default_rng(0)
    X = X.assign(x2=np.where(rng.random(len(X)) < 0.3, np.nan, rng.normal(size=len(X))))
    regressor = LGBMRegressor(n_estimators=5, min_child_samples=2, verbose=-1, random_state=0)
    model = TrendResidualRegressor(regressor=regressor).fit(X, y)
    query = later("19001", 2010, np.nan).assign(x2=np.nan)
    pred = model.predict(query)
    assert np.isfinite(pred).all()
    np.testing.assert_array_equal(pred, clone(model).fit(X, y).predict(query))  # random_state


def test_package_exports_are_lazy(tmp_path):
    """``import cropcast.models`` loads nothing heavy; names load on first use (also via
    Hydra). Run in a fresh interpreter: this pytest process has imported them already."""
    code = (
        "import sys, cropcast.models\n"
        "assert not {'sklearn', 'pandas', 'lightgbm'} & set(sys.modules), sorted(sys.modules)\n"
        "from hydra.utils import instantiate\n"
        "m = instantiate({'_target_': 'cropcast.models.TrendResidualRegressor',\n"
        "                 'trend': {'_target_': 'cropcast.models.RegionTrend',\n"
        "                           'shrinkage': 1.0}})\n"
        "assert type(m.trend).__name__ == 'RegionTrend'\n"
        "from cropcast.models import (RecentMean, RegionMean, conformal_halfwidth,\n"
        "                             default_regressor)\n"
        "assert 'lightgbm' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_random_forest_needs_an_imputer_in_a_pipeline(season):
    X, y = season
    X = X.assign(x1=np.where(X["year"] == 2003, np.nan, X["x1"]))
    forest = RandomForestRegressor(n_estimators=5, random_state=0)
    model = TrendResidualRegressor(regressor=make_pipeline(SimpleImputer(), forest)).fit(X, y)
    assert np.isfinite(model.predict(X)).all()


def test_explicit_features_must_be_numeric(season):
    X, y = season
    model = TrendResidualRegressor(feature_columns=["x1", "county"])
    with pytest.raises(
        CropcastError, match=r"Feature columns must be numeric; \{'county': 'str'\}"
    ):
        model.fit(X, y)
    with pytest.raises(CropcastError, match=r"'feature_columns' parameter .* Got 'x1' instead"):
        TrendResidualRegressor(feature_columns="x1").fit(X, y)


def test_missing_columns_are_named(season):
    X, y = season
    with pytest.raises(CropcastError, match=r"X has no key column\(s\) \['region_id'\]"):
        TrendResidualRegressor().fit(X.drop(columns="region_id"), y)
    model = TrendResidualRegressor().fit(X, y)
    with pytest.raises(CropcastError, match=r"X has no feature column\(s\) \['x1'\]"):
        model.predict(X.drop(columns="x1"))


def test_only_empty_features_is_an_error(season):
    X, y = season
    with pytest.raises(CropcastError, match=r"Every feature column of X is empty .* \['x1'\]"):
        TrendResidualRegressor().fit(X.assign(x1=np.nan), y)


def test_hydra_instantiates_and_clone_keeps_nested_parameters():
    # Module-qualified targets: under `.venv/bin/pytest`, tests/ is on sys.path and the
    # folder tests/models shadows the package name `models` (see test_package_exports).
    model = instantiate(
        {
            "_target_": "cropcast.models.residual.TrendResidualRegressor",
            "parent_column": "state_fips",
            "trend": {"_target_": "cropcast.models.baselines.RegionTrend", "shrinkage": 3.0,
                      "robust": True},
            "regressor": {"_target_": "lightgbm.LGBMRegressor", "verbose": -1},
        }
    )
    copy = clone(model)
    params = copy.get_params()
    assert params["trend__shrinkage"] == 3.0 and params["trend__robust"] is True
    assert params["regressor__verbose"] == -1 and params["parent_column"] == "state_fips"
    assert copy.trend is not model.trend


def drought_at_the_end() -> tuple[pd.DataFrame, np.ndarray]:
    """One region, y = 100 + 2 (year - 2000) + 10 x, with the worst seasons (x < 0) last.

    A trend fitted on y takes the late droughts for a slower technology gain.
    """
    years = np.arange(2000, 2010)
    x = np.array([0.5, -0.2, 0.8, 0.1, 0.3, 0.6, -0.4, 0.2, -1.5, -1.2])
    X = pd.DataFrame({"region_id": "19001", "year": years, "x": x})
    return X, 100.0 + 2.0 * (years - 2000) + 10.0 * x


def test_backfitting_separates_the_trend_from_the_weather():
    X, y = drought_at_the_end()
    plain = TrendResidualRegressor(regressor=LinearRegression()).fit(X, y)
    assert plain.trend_.coef_.loc["19001", "slope"] < 1.0  # the droughts tilt it down
    model = TrendResidualRegressor(regressor=LinearRegression(), backfit_rounds=50,
                                   backfit_regressor=LinearRegression()).fit(X, y)
    # Backfitting two linear terms converges to their joint least-squares fit: exact here.
    assert model.trend_.coef_.loc["19001", "slope"] == pytest.approx(2.0, abs=1e-6)
    assert model.regressor_.coef_[0] == pytest.approx(10.0, abs=1e-5)
    new = pd.DataFrame({"region_id": ["19001"], "year": [2012], "x": [0.0]})
    assert model.predict(new)[0] == pytest.approx(124.0, abs=1e-4)
    assert plain.predict(new)[0] < 115.0


def test_relative_departures_multiply_the_trend():
    X, y = drought_at_the_end()
    line = 100.0 + 2.0 * (X["year"].to_numpy() - 2000)
    y = line * (1.0 + 0.1 * X["x"].to_numpy())  # the weather takes a share of the trend
    model = TrendResidualRegressor(regressor=LinearRegression(), relative=True,
                                   backfit_rounds=200,
                                   backfit_regressor=LinearRegression()).fit(X, y)
    # Fixed points form a family (trend / (1 + c), departure c + 0.1 (1 + c) x): the split
    # between a common share and the trend is not identified, their product is.
    new = pd.DataFrame({"region_id": ["19001"] * 2, "year": [2012] * 2, "x": [0.0, -2.0]})
    assert model.predict(new) == pytest.approx([124.0, 124.0 * 0.8], abs=1e-3)
    plain = TrendResidualRegressor(regressor=LinearRegression(), relative=True).fit(X, y)
    assert abs(plain.predict(new)[0] - 124.0) > 5.0


def test_relative_needs_a_positive_trend():
    X, y = drought_at_the_end()
    with pytest.raises(CropcastError, match=r"relative=True\) needs a positive trend.*row 0"):
        TrendResidualRegressor(relative=True).fit(X, y - 200.0)


@pytest.mark.parametrize("rounds", [-1, 1.5, True])
def test_backfit_rounds_must_be_a_count(rounds):
    X, y = drought_at_the_end()
    with pytest.raises(CropcastError, match=r"'backfit_rounds' parameter .* int >= 0"):
        TrendResidualRegressor(backfit_rounds=rounds).fit(X, y)


def test_backfit_columns_are_for_the_trend_only():
    X, y = drought_at_the_end()
    # The training seasons' complete weather (final_x) for the trend, and an in-season
    # value of it (x_july, known at the forecast date) for the residual regressor.
    X = X.assign(final_x=X["x"], x_july=X["x"]).drop(columns="x")
    kwargs = {"regressor": LinearRegression(), "backfit_rounds": 50,
              "backfit_regressor": LinearRegression()}
    model = TrendResidualRegressor(backfit_columns=["final_x"], **kwargs).fit(X, y)
    assert model.backfit_columns_ == ["final_x"] and model.feature_columns_ == ["x_july"]
    assert model.trend_.coef_.loc["19001", "slope"] == pytest.approx(2.0, abs=1e-6)
    # In season the test row has no final value; the prediction does not need one.
    new = pd.DataFrame({"region_id": ["19001"], "year": [2012], "final_x": [np.nan],
                        "x_july": [-1.0]})
    assert model.predict(new)[0] == pytest.approx(124.0 - 10.0, abs=1e-4)
    with pytest.raises(CropcastError, match=r"Every feature of X is one of backfit_columns "
                                            r"\(\['final_x', 'x_july'\]\)"):
        TrendResidualRegressor(backfit_columns=["final_x", "x_july"], **kwargs).fit(X, y)


def test_a_backfitting_that_sees_a_yearly_drift_misses_the_slope():
    X, y = drought_at_the_end()
    # A feature that tracks the years (a greener crop every season) soaks up the slope
    # when the backfitting weather model sees it.
    X = X.assign(greener=np.linspace(0.0, 1.0, len(X)), final_x=X["x"])
    kwargs = {"regressor": LinearRegression(), "backfit_rounds": 50,
              "backfit_regressor": LinearRegression()}
    chosen = TrendResidualRegressor(backfit_columns=["final_x"], **kwargs).fit(X, y)
    assert chosen.trend_.coef_.loc["19001", "slope"] == pytest.approx(2.0, abs=1e-6)
    everything = TrendResidualRegressor(**kwargs).fit(X, y)
    assert abs(everything.trend_.coef_.loc["19001", "slope"] - 2.0) > 0.5


def test_backfit_columns_absent_from_X_are_skipped():
    X, y = drought_at_the_end()
    kwargs = {"regressor": LinearRegression(), "backfit_rounds": 3}
    X = X.assign(greener=np.linspace(0.0, 1.0, len(X)))
    some = TrendResidualRegressor(backfit_columns=["x", "final_edd"], **kwargs).fit(X, y)
    assert some.backfit_columns_ == ["x"] and some.feature_columns_ == ["greener"]
    # No final values at all (e.g. data without weather): every feature, as without.
    none = TrendResidualRegressor(backfit_columns=["final_edd"], **kwargs).fit(X, y)
    assert none.backfit_columns_ == ["x", "greener"]
    assert none.feature_columns_ == ["x", "greener"]
    every = TrendResidualRegressor(**kwargs).fit(X, y)
    assert none.predict(X) == pytest.approx(every.predict(X), abs=1e-9)


@pytest.mark.parametrize("columns", ["x", [], ["x", 3]])
def test_backfit_columns_must_be_a_list_of_names(columns):
    X, y = drought_at_the_end()
    with pytest.raises(CropcastError, match="'backfit_columns' parameter .* non-empty list of "
                                            "column names"):
        TrendResidualRegressor(backfit_rounds=1, backfit_columns=columns).fit(X, y)
