"""RegionTrend: exact lines, robustness, shrinkage, fallbacks, training years only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.models.baselines import RegionTrend

YEARS = np.arange(2000, 2010)


def lines(spec: dict[str, tuple[str, float, float, np.ndarray]]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows ``y = intercept + slope * year`` for each region: {region: (parent, a, b, years)}."""
    parts = [
        pd.DataFrame({"region_id": r, "state_fips": p, "year": years, "yield": a + b * years})
        for r, (p, a, b, years) in spec.items()
    ]
    table = pd.concat(parts, ignore_index=True)
    return table.drop(columns="yield"), table["yield"].to_numpy()


def rows(region: str, parent: str, years) -> pd.DataFrame:
    years = np.atleast_1d(years)
    return pd.DataFrame({"region_id": region, "state_fips": parent, "year": years})


@pytest.fixture
def two_lines() -> tuple[pd.DataFrame, np.ndarray]:
    return lines({"19001": ("19", -3900.0, 2.0, YEARS), "19003": ("19", -5850.0, 3.0, YEARS)})


@pytest.mark.parametrize("robust", [False, True])
def test_perfect_lines_are_recovered_and_extrapolated(two_lines, robust):
    X, y = two_lines
    model = RegionTrend(robust=robust).fit(X, y)
    assert model.coef_.loc["19001", "slope"] == pytest.approx(2.0, abs=1e-9)
    assert model.coef_.loc["19001", "intercept"] == pytest.approx(-3900.0, abs=1e-9)
    assert model.coef_.loc["19003", "slope"] == pytest.approx(3.0, abs=1e-9)
    assert model.coef_.loc["19003", "intercept"] == pytest.approx(-5850.0, abs=1e-9)
    assert model.coef_["source"].tolist() == ["region", "region"]
    assert model.coef_["n_years"].tolist() == [10, 10]
    pred = model.predict(pd.concat([rows("19001", "19", [2015, 2030]), rows("19003", "19", 2025)]))
    np.testing.assert_allclose(pred, [130.0, 160.0, 225.0], rtol=0, atol=1e-9)


def test_robust_trend_ignores_one_huge_outlier_and_ols_does_not(two_lines):
    X, y = two_lines
    y = y.copy()
    y[4] -= 100.0  # 2004 drought in 19001
    robust = RegionTrend(robust=True).fit(X, y)
    ols = RegionTrend().fit(X, y)
    assert robust.coef_.loc["19001", "slope"] == pytest.approx(2.0, abs=1e-9)
    assert robust.predict(rows("19001", "19", 2012))[0] == pytest.approx(124.0, abs=1e-9)
    assert abs(ols.coef_.loc["19001", "slope"] - 2.0) > 0.5
    assert abs(ols.predict(rows("19001", "19", 2012))[0] - 124.0) > 5.0


def test_shrinkage_pulls_the_slope_toward_the_parent_by_the_formula(two_lines):
    X, y = two_lines
    k = 5.0
    model = RegionTrend(shrinkage=k, parent_column="state_fips").fit(X, y)
    parent = 2.5  # within slope of two regions with the same years: the mean of 2 and 3
    assert model.parent_coef_.loc["19", "slope"] == pytest.approx(parent, abs=1e-12)
    for region, own in [("19001", 2.0), ("19003", 3.0)]:
        shrunk = (10 * own + k * parent) / (10 + k)
        assert model.coef_.loc[region, "slope"] == pytest.approx(shrunk, abs=1e-12)
        # The line still passes through the region's mean point.
        mask = X["region_id"] == region
        mean_point = model.predict(rows(region, "19", X.loc[mask, "year"].mean()))[0]
        assert mean_point == pytest.approx(y[mask.to_numpy()].mean(), abs=1e-9)


def test_without_parent_shrinkage_targets_the_pooled_slope(two_lines):
    X, y = two_lines
    model = RegionTrend(shrinkage=10.0).fit(X, y)
    assert model.pooled_slope_ == pytest.approx(2.5)
    assert model.coef_.loc["19001", "slope"] == pytest.approx((10 * 2.0 + 10 * 2.5) / 20)
    assert model.parent_coef_.empty and "state_fips" not in model.coef_.columns


def test_short_series_uses_the_parent_slope_through_its_own_mean(two_lines):
    X, y = two_lines
    short_X, short_y = lines({"19005": ("19", -3000.0, 9.0, np.array([2007, 2008, 2009]))})
    model = RegionTrend(min_years=5, parent_column="state_fips").fit(
        pd.concat([X, short_X], ignore_index=True), np.concatenate([y, short_y])
    )
    coef = model.coef_.loc["19005"]
    assert (coef["source"], coef["n_years"]) == ("parent", 3)
    # Iowa's within slope: sum(Sxy) / sum(Sxx) over its regions, 19005 included.
    sxx = 82.5  # 10 consecutive years
    parent = (2.0 * sxx + 3.0 * sxx + 9.0 * 2.0) / (sxx + sxx + 2.0)
    assert coef["slope"] == pytest.approx(parent, abs=1e-12)
    assert model.predict(rows("19005", "19", 2008))[0] == pytest.approx(short_y.mean(), abs=1e-9)


def test_unseen_region_gets_parent_line_then_pooled_line(two_lines):
    X, y = two_lines
    other, other_y = lines({"17001": ("17", -1850.0, 1.0, YEARS)})
    model = RegionTrend(parent_column="state_fips").fit(
        pd.concat([X, other], ignore_index=True), np.concatenate([y, other_y])
    )
    iowa = model.parent_coef_.loc["19"]
    assert iowa["slope"] == pytest.approx(2.5)
    # Iowa's line passes through its mean point: year 2004.5, yield (109 + 163.5) / 2.
    assert iowa["intercept"] + iowa["slope"] * 2004.5 == pytest.approx(136.25)
    assert model.pooled_slope_ == pytest.approx(2.0)  # (2 + 3 + 1) / 3, equal spreads
    pred = model.predict(pd.concat([rows("19999", "19", 2010), rows("55001", "55", 2010)]))
    overall = np.concatenate([y, other_y]).mean()  # at 2004.5, every region's mean year
    np.testing.assert_allclose(pred, [136.25 + 2.5 * 5.5, overall + 2.0 * 5.5])


def test_max_years_keeps_each_regions_latest_years():
    years = np.arange(2000, 2015)
    y = np.where(years < 2010, years - 1900.0, 110.0 + 3.0 * (years - 2010))  # kink in 2010
    X = rows("19001", "19", years)
    recent = RegionTrend(max_years=5).fit(X, y)
    assert recent.coef_.loc["19001", "slope"] == pytest.approx(3.0, abs=1e-9)
    assert recent.coef_.loc["19001", "n_years"] == 5
    assert recent.predict(rows("19001", "19", 2016))[0] == pytest.approx(128.0, abs=1e-9)
    full = RegionTrend().fit(X, y)
    assert full.coef_.loc["19001", "n_years"] == 15
    assert abs(full.coef_.loc["19001", "slope"] - 3.0) > 0.5


def test_trend_is_fitted_on_training_years_only(two_lines):
    X, y = two_lines
    y = y + np.where(X["year"] % 2 == 0, 4.0, -4.0)  # noise: lines are no longer exact
    train = X["year"] < 2009
    before = RegionTrend().fit(X[train], y[train.to_numpy()])
    after = RegionTrend().fit(X, y)
    test_rows = X[~train]
    assert not np.allclose(before.coef_["slope"], after.coef_["slope"])
    expected = before.coef_["intercept"] + before.coef_["slope"] * 2009
    np.testing.assert_allclose(before.predict(test_rows), expected.loc[test_rows["region_id"]])
    assert not np.allclose(before.predict(test_rows), after.predict(test_rows))


def test_array_input_is_a_constant():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    assert RegionTrend().fit(X, y).predict(X[:1])[0] == pytest.approx(22.0)
    assert RegionTrend(robust=True).fit(X, y).predict(X[:1])[0] == pytest.approx(3.0)


def test_region_with_two_parents_is_an_error(two_lines):
    X, y = two_lines
    X = X.assign(state_fips=np.where(X["year"] == 2005, "17", X["state_fips"]))
    with pytest.raises(
        CropcastError, match=r"Region '19001' has 2 values in parent column 'state_fips'"
    ):
        RegionTrend(parent_column="state_fips").fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"shrinkage": -1.0},
            r"'shrinkage' parameter of RegionTrend must be a float in the range "
            r"\[0\.0, inf\)\. Got -1\.0 instead",
        ),
        ({"shrinkage": float("inf")}, r"'shrinkage' .* Got inf instead"),
        ({"shrinkage": "5"}, r"'shrinkage' .* Got '5' instead"),
        (
            {"min_years": 1},
            r"'min_years' parameter of RegionTrend must be an int >= 2\. Got 1 instead",
        ),
        (
            {"max_years": 1},
            r"'max_years' parameter of RegionTrend must be an int >= 2 or None\. Got 1",
        ),
        ({"robust": "yes"}, r"'robust' parameter of RegionTrend must be a bool\. Got 'yes'"),
    ],
)
def test_parameter_errors_name_parameter_allowed_values_and_value(two_lines, params, message):
    X, y = two_lines
    with pytest.raises(CropcastError, match=message):
        RegionTrend(**params).fit(X, y)


@pytest.mark.parametrize("shrinkage", [0.0, 7.0])
def test_ols_lines_match_numpy_region_by_region(shrinkage):
    """Noisy ragged panels: every line equals numpy's, pooled within the parent."""
    rng = np.random.default_rng(3)
    parts = []
    for i in range(40):
        years = np.sort(rng.choice(np.arange(1995, 2015), size=rng.integers(1, 12),
                                   replace=False))
        noisy = 150 + 2 * (years - 2000) + rng.normal(0, 9, len(years))
        parts.append(pd.DataFrame({"region_id": f"r{i:02d}", "state_fips": f"p{i % 3}",
                                   "year": years, "yield": noisy}))
    table = pd.concat(parts, ignore_index=True)
    model = RegionTrend(shrinkage=shrinkage, min_years=4, parent_column="state_fips")
    model.fit(table.drop(columns="yield"), table["yield"])

    def moments(g):
        dt = g["year"] - g["year"].mean()
        return pd.Series({"sxy": (dt * (g["yield"] - g["yield"].mean())).sum(),
                          "sxx": (dt ** 2).sum()})

    per_region = table.groupby("region_id").apply(moments, include_groups=False)
    parent_of = table.groupby("region_id")["state_fips"].first()
    within = per_region.groupby(parent_of).sum()
    parent_slope = within["sxy"] / within["sxx"]
    for region, g in table.groupby("region_id"):
        n, b = g["year"].nunique(), parent_slope[parent_of[region]]
        if n >= 4:
            b = (n * np.polyfit(g["year"], g["yield"], 1)[0] + shrinkage * b) / (n + shrinkage)
        line = model.coef_.loc[region]
        assert line["slope"] == pytest.approx(b, rel=1e-9)
        assert line["intercept"] == pytest.approx(g["yield"].mean() - b * g["year"].mean(),
                                                  rel=1e-9)
        assert line["source"] == ("region" if n >= 4 else "parent")
    assert model.parent_coef_["slope"].to_dict() == pytest.approx(parent_slope.to_dict())


@pytest.mark.parametrize("robust", [False, True])
def test_a_stale_region_takes_the_parent_slope_through_its_own_mean(robust):
    """19001 was last seen in 1994, falling 30 bu/ac a year; 19003 rises 2 a year."""
    old, recent = np.arange(1990, 1995), np.arange(1990, 2016)
    X, y = lines({"19001": ("19", 59900.0, -30.0, old), "19003": ("19", -3860.0, 2.0, recent)})
    model = RegionTrend(robust=robust, stale_years=10, parent_column="state_fips").fit(X, y)
    parent = model.parent_coef_.loc["19", "slope"]
    if not robust:  # the within slope: sum Sxy / sum Sxx (Sxx 10 and 1462.5)
        assert parent == pytest.approx((10 * -30.0 + 1462.5 * 2.0) / 1472.5)
    mean_year, mean_y = 1992.0, 59900.0 - 30.0 * 1992
    later = pd.DataFrame({"region_id": "19001", "state_fips": "19", "year": [2000, 2018]})
    # 2000 is 6 seasons after 1994: the own line; 2018 is 24 after: the parent's slope.
    assert model.predict(later) == pytest.approx([59900.0 - 30.0 * 2000,
                                                  mean_y + parent * (2018 - mean_year)])
    plain = RegionTrend(robust=robust, parent_column="state_fips").fit(X, y)
    assert plain.predict(later)[1] == pytest.approx(59900.0 - 30.0 * 2018)  # -640.0
    assert model.coef_.loc["19001", "last_year"] == 1994
