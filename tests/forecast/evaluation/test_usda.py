"""Our state forecasts beside USDA's Crop Production forecasts: dates paired, errors exact."""

from __future__ import annotations

import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.evaluation.usda import compare_with_usda, usda_forecasts, usda_summary


def _states() -> pd.DataFrame:
    """Iowa 2020: USDA forecast 180 in August, 176 in September, final 175 (bu/acre)."""
    rows = [("19", 2020, "YEAR - AUG FORECAST", "yield", 180.0),
            ("19", 2020, "YEAR - SEP FORECAST", "yield", 176.0),
            ("19", 2020, "YEAR", "yield", 175.0),
            ("19", 2020, "YEAR - JUN ACREAGE", "planted_acres", 13_600_000.0),
            ("17", 2020, "YEAR - AUG FORECAST", "yield", 200.0)]  # not in the backtest
    return pd.DataFrame(rows, columns=["state_fips", "year", "reference_period", "variable",
                                       "value"])


def _aggregated() -> pd.DataFrame:
    days = ["08-01", "08-17", "09-02", "end"]
    return pd.DataFrame({"model": "lgbm", "forecast_date": days, "region_id": "19",
                         "year": 2020, "y_pred": [168.0, 170.0, 173.25, 174.0],
                         "y_true": 174.0})


def test_forecasts_are_the_monthly_rows_of_the_series():
    table = usda_forecasts(_states())
    assert table[["region_id", "usda_month", "usda_forecast"]].values.tolist() == [
        ["19", "AUG", 180.0], ["19", "SEP", 176.0], ["17", "AUG", 200.0]]
    assert usda_forecasts(None).empty


def test_each_usda_forecast_meets_our_latest_forecast_before_its_release():
    table = compare_with_usda(_aggregated(), _states())
    # AUG (released 08-12) meets ours of 08-01; SEP (09-12) meets 09-02; never "end".
    assert table["forecast_date"].tolist() == ["08-01", "09-02"]
    assert table["y_pred"].tolist() == [168.0, 173.25]
    # Both scored against USDA's final 175, not the county rebuild (174).
    assert table["final_source"].tolist() == ["usda", "usda"]
    assert table["usda_error_pct"].tolist() == pytest.approx([100 * 5 / 175, 100 * 1 / 175])
    assert table["error_pct"].tolist() == pytest.approx([-100 * 7 / 175, -100 * 1.75 / 175])
    summary = usda_summary(table)
    assert summary["closer_share"].tolist() == [0.0, 0.0]
    assert summary["rmse_pct"].tolist() == pytest.approx([100 * 7 / 175, 100 * 1.75 / 175])


def test_without_usda_final_the_county_rebuild_scores_both():
    states = _states()
    table = compare_with_usda(_aggregated(), states[states["reference_period"] != "YEAR"],
                              releases={"AUG": "08-20", "SEP": "09-12"})
    assert table["forecast_date"].tolist() == ["08-17", "09-02"]
    assert table["final_source"].tolist() == ["counties", "counties"]
    assert table["usda_error_pct"].iloc[0] == pytest.approx(100 * 6 / 174)


def test_no_forecast_rows_no_comparison_and_unknown_months_are_named():
    states = _states()
    assert compare_with_usda(_aggregated(), states[~states["reference_period"]
                                                   .str.endswith("FORECAST")]).empty
    with pytest.raises(CropcastError, match=r"no release day for USDA forecast months \['SEP'\]"):
        compare_with_usda(_aggregated(), states, releases={"AUG": "08-12"})
