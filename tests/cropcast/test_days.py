"""MM-DD days: one parser and one reference year for every date a config's day needs."""

import datetime as dt

import pandas as pd
import pytest

from cropcast.days import REFERENCE_YEAR, day_of_year, month_day, reference_date
from cropcast.forecast.evaluation.backtest import forecast_dates
from cropcast.forecast.reporting.plots import skill_by_date
from cropcast.forecast.reporting.tracking import _step


def test_a_day_is_placed_in_the_reference_year():
    assert REFERENCE_YEAR == 2001
    assert month_day("05-01") == 501 and month_day("02-29") == 229
    assert reference_date("08-01") == dt.date(2001, 8, 1)
    assert day_of_year("08-01") == 213 and day_of_year("03-01") == 60
    assert day_of_year("02-29") == day_of_year("02-28") == 59  # as the as-of cut does
    for bad in ("5-1", "May 1", "05-32", 501, None):
        with pytest.raises(ValueError):
            month_day(bad)
    with pytest.raises(ValueError):
        reference_date("02-29")  # not a day of every season


def test_the_mlflow_step_and_the_plot_axis_agree_after_february():
    metrics = pd.DataFrame({"model": "trend", "forecast_date": ["03-01", "08-01", "end"],
                            "rmse": [3.0, 2.0, 1.0], "skill_vs_trend": 0.0})
    figure = skill_by_date(metrics)
    x = list(figure.axes[0].lines[0].get_xdata())
    assert x == [_step("03-01"), _step("08-01"), _step("end")] == [60, 213, 366]


def test_forecast_dates_refuse_a_day_not_in_every_season():
    with pytest.raises(ValueError, match=r"forecast.dates\[\*\] must be a day MM-DD of every "
                                         r"season, such as 06-01; got '02-29'"):
        forecast_dates(dates=["02-29"])
