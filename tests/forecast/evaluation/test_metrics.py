"""Metrics on hand-computed examples: score, per-year coverage, USDA reliability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.evaluation.metrics import (
    SCORE_COLUMNS,
    coverage_by_year,
    reliability_table,
    score,
)

TRUTH = [10.0, 20.0, 30.0, 40.0]
KEYS = [("A", 2020), ("B", 2020), ("A", 2021), ("B", 2021)]


def _rows(model, errors, forecast_date="08-01", keys=KEYS, truth=TRUTH, **extra):
    return pd.DataFrame({
        "model": model, "forecast_date": forecast_date,
        "region_id": [k[0] for k in keys], "year": [k[1] for k in keys],
        "y_true": truth, "y_pred": [t + e for t, e in zip(truth, errors, strict=True)],
        **extra})


@pytest.fixture
def predictions() -> pd.DataFrame:
    m = _rows("m", [1, -1, 2, -2], lower=[9.0, 19.5, 31.0, 37.0],
              upper=[12.0, 21.0, 33.0, 39.0])  # 10 in [9, 12]; 20 in; 30 not; 40 not
    m.loc[2, "lower"] = 30.0  # 30 in [30, 33]: bounds are inclusive
    unpublished = _rows("m", [0], keys=[("C", 2021)], truth=[np.nan], lower=[1.0], upper=[2.0])
    good = _rows("good", [1, -1, 1, -1])
    trend = _rows("trend", [2, -2, 2, -2])
    # "extra" also predicts a county-year the trend lacks: skill uses the shared rows only.
    extra = _rows("extra", [1, -1, 1, -1, 10], keys=[*KEYS, ("D", 2021)], truth=[*TRUTH, 50.0])
    later = _rows("m", [3, -3, 3, -3], forecast_date="09-01")  # no trend at 09-01
    return pd.concat([m, unpublished, good, trend, extra, later], ignore_index=True)


def test_score_hand_computed(predictions):
    scores = score(predictions)
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert list(zip(scores["model"], scores["forecast_date"], strict=True)) == [
        ("extra", "08-01"), ("good", "08-01"), ("m", "08-01"), ("m", "09-01"),
        ("trend", "08-01")]
    m = scores.set_index(["model", "forecast_date"]).loc[("m", "08-01")]
    assert m["n"] == 4  # the NaN-truth row is not scored
    assert m["rmse"] == pytest.approx(math.sqrt(2.5))
    assert m["nrmse"] == pytest.approx(100 * math.sqrt(2.5) / 25)
    assert m["mape"] == pytest.approx(100 * (1 / 10 + 1 / 20 + 2 / 30 + 2 / 40) / 4)
    assert m["r2"] == pytest.approx(1 - 10 / 500)
    assert m["bias"] == pytest.approx(0.0)
    assert m["coverage"] == pytest.approx(0.75)
    assert m["skill_vs_trend"] == pytest.approx(1 - math.sqrt(2.5) / 2)


def test_skill_against_the_baseline_on_the_same_rows(predictions):
    scores = score(predictions).set_index(["model", "forecast_date"])
    assert scores.loc[("good", "08-01"), "skill_vs_trend"] == pytest.approx(0.5)
    assert scores.loc[("extra", "08-01"), "n"] == 5
    assert scores.loc[("extra", "08-01"), "skill_vs_trend"] == pytest.approx(0.5)
    assert scores.loc[("trend", "08-01"), "skill_vs_trend"] == 0.0
    assert np.isnan(scores.loc[("m", "09-01"), "skill_vs_trend"])  # no baseline that date
    assert scores.loc[("trend", "08-01"), "bias"] == 0.0
    assert np.isnan(scores.loc[("good", "08-01"), "coverage"])  # no bounds
    other = score(predictions, baseline="good").set_index(["model", "forecast_date"])
    assert other.loc[("trend", "08-01"), "skill_vs_trend"] == pytest.approx(-1.0)


def test_score_without_bound_columns_and_small_groups():
    one = _rows("m", [2], keys=[("A", 2020)], truth=[10.0])
    scores = score(one)
    assert scores.loc[0, "n"] == 1
    assert scores.loc[0, "rmse"] == 2.0
    assert np.isnan(scores.loc[0, "r2"]) and np.isnan(scores.loc[0, "coverage"])
    assert np.isnan(scores.loc[0, "skill_vs_trend"])
    nothing = _rows("m", [0], keys=[("A", 2020)], truth=[np.nan])
    empty = score(nothing)
    assert empty.loc[0, "n"] == 0 and np.isnan(empty.loc[0, "rmse"])


def test_coverage_counts_only_rows_with_both_bounds():
    rows = _rows("m", [0, 0, 0, 0], lower=[0.0, 200.0, np.nan, 0.0], upper=[999.0] * 4)
    assert score(rows).loc[0, "coverage"] == pytest.approx(2 / 3)
    unbounded = _rows("m", [0, 0, 0, 0], lower=[np.nan] * 4, upper=[99.0] * 4)
    assert np.isnan(score(unbounded).loc[0, "coverage"])


def test_coverage_by_year(predictions):
    table = coverage_by_year(predictions[predictions["model"] == "m"])
    assert list(table.columns) == ["model", "forecast_date", "year", "n", "coverage"]
    at_aug = table[table["forecast_date"] == "08-01"]
    assert at_aug["year"].tolist() == [2020, 2021]
    assert at_aug["n"].tolist() == [2, 2]
    assert at_aug["coverage"].tolist() == [1.0, 0.5]
    assert table[table["forecast_date"] == "09-01"]["coverage"].isna().all()


def test_reliability_table_on_four_years():
    truth = [100.0, 200.0, 150.0, 120.0]
    pred = [101.0, 196.0, 153.0, 120.0]  # percent errors 1, -2, 2, 0
    aggregated = pd.DataFrame({"model": "m", "forecast_date": "08-01", "region_id": "US",
                               "year": [2018, 2019, 2020, 2021], "y_true": truth,
                               "y_pred": pred})
    row = reliability_table(aggregated).iloc[0]
    assert row["rmse_pct"] == pytest.approx(1.5)
    assert row["ci90_pct"] == pytest.approx(1.5 * 2.353363, abs=1e-5)  # t(0.95, 3 df)
    assert row["p5_error_pct"] == pytest.approx(-2 + 0.15 * 2)  # position 0.15 of [-2, 0, 1, 2]
    assert row["p95_error_pct"] == pytest.approx(1 + 0.85 * 1)
    assert row["mean_abs_miss"] == pytest.approx(2.0)
    assert (row["smallest_miss"], row["largest_miss"]) == (0.0, 4.0)
    assert (row["years_below"], row["years_above"], row["n_years"]) == (1, 2, 4)
    assert row["region_id"] == "US"


def test_reliability_table_keeps_regions_apart_and_skips_unpublished():
    aggregated = pd.DataFrame({"model": "m", "forecast_date": "08-01",
                               "region_id": ["17", "19", "19"], "year": [2020, 2020, 2021],
                               "y_true": [100.0, 200.0, np.nan], "y_pred": [110.0, 190.0, 1.0]})
    table = reliability_table(aggregated)
    assert table["region_id"].tolist() == ["17", "19"]
    assert table["rmse_pct"].tolist() == pytest.approx([10.0, 5.0])
    assert table["n_years"].tolist() == [1, 1]
    assert table["ci90_pct"].isna().all()


def test_missing_columns_are_named():
    bad = pd.DataFrame({"model": ["m"], "forecast_date": ["08-01"], "region_id": ["A"],
                        "year": [2020], "y_pred": [1.0]})
    with pytest.raises(CropcastError, match=r"score: predictions is missing the column\(s\) "
                                            r"\['y_true'\]"):
        score(bad)
    with pytest.raises(CropcastError, match=r"missing the column\(s\) \['y_true', 'lower', "
                                            r"'upper'\]"):
        coverage_by_year(bad)
    with pytest.raises(CropcastError, match=r"reliability_table: aggregated is missing"):
        reliability_table(bad)


def test_bad_rows_are_errors():
    rows = _rows("m", [0, 0, 0, 0])
    twice = pd.concat([rows, rows.iloc[[0]]], ignore_index=True)
    with pytest.raises(CropcastError, match=r"2 rows sharing a .* \('m', '08-01', 'A', 2020\)"):
        score(twice)
    missing = rows.assign(y_pred=[1.0, np.nan, 3.0, 4.0])
    with pytest.raises(CropcastError, match="y_pred is missing or infinite in 1 scored row"):
        score(missing)
    with pytest.raises(CropcastError, match="y_true is 0"):
        reliability_table(rows.assign(y_true=[0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(CropcastError, match="column 'y_true' of predictions must be numeric"):
        score(rows.assign(y_true=["1", "2", "3", "4"]))
