"""Corn degree days and the planting rule on tiny tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.weather.phenology import PlantingRule, corn_degree_days, planting_dates


def test_corn_degree_days_cap_both_temperatures():
    got = corn_degree_days([25.0, 35.0, 8.0, 20.0, np.nan], [15.0, 5.0, 2.0, 32.0, 10.0])
    # (25+15)/2-10; (30+10)/2-10; (8+10)/2-10 < 0; (20+30)/2-10 (tmin capped); NaN
    np.testing.assert_array_equal(got, [10.0, 10.0, 0.0, 15.0, np.nan])


def _spring(region, warm_from, end="2015-06-30", cold=10.0, warm=15.0, year=2015):
    """Daily weather from Apr 1: ``cold`` C before ``warm_from``, ``warm`` C after."""
    days = pd.date_range(f"{year}-04-01", end)
    t = np.where(days < pd.Timestamp(warm_from), cold, warm)
    return pd.DataFrame({"region_id": region, "date": days, "tmax": t + 5, "tmin": t - 5})


def _table():
    return pd.concat([
        _spring("19001", "2015-05-01"),  # the week's mean first reaches 12.5 on May 4
        _spring("19003", "2015-03-01"),  # warm all April: the rule fires on Apr 15
        _spring("19005", "2015-12-01", cold=5.0),  # never warm: planted on the last day
        _spring("19001", "2016-05-10", end="2016-06-30", year=2016),
    ], ignore_index=True)


def test_planting_follows_the_first_warm_week():
    got = planting_dates(_table()).set_index(["region_id", "year"])["planting_date"]
    # 19001: May 4 holds 4 days at 15 and 3 at 10 (mean 12.86 >= 12.5; May 3: 12.14).
    assert got[("19001", 2015)] == pd.Timestamp("2015-05-07")
    assert got[("19003", 2015)] == pd.Timestamp("2015-04-18")
    assert got[("19005", 2015)] == pd.Timestamp("2015-06-09")
    assert got[("19001", 2016)] == pd.Timestamp("2016-05-16")


def test_planting_uses_only_days_in_the_table():
    table = _table()
    cut = planting_dates(table[table["date"] <= "2015-05-05"]).set_index(
        ["region_id", "year"])["planting_date"]
    # The rule fired by May 5 for 19001: planting (May 7) is known, even though later.
    assert cut[("19001", 2015)] == pd.Timestamp("2015-05-07")
    assert cut[("19003", 2015)] == pd.Timestamp("2015-04-18")
    assert pd.isna(cut[("19005", 2015)])  # not planted yet as far as anyone knew
    full = planting_dates(table).set_index(["region_id", "year"])["planting_date"]
    assert cut[("19001", 2015)] == full[("19001", 2015)]


def test_a_missing_day_in_the_week_delays_the_rule():
    table = _table()
    gap = table[~((table["region_id"] == "19001") & (table["date"] == "2015-05-02"))]
    got = planting_dates(gap).set_index(["region_id", "year"])["planting_date"]
    # Windows holding May 2 are incomplete through May 8; May 9 (all 15) fires.
    assert got[("19001", 2015)] == pd.Timestamp("2015-05-12")


def test_planting_rule_settings_change_the_day():
    rule = PlantingRule(threshold_c=14.0, delay_days=0, earliest="04-20")
    got = planting_dates(_table(), rule).set_index(["region_id", "year"])["planting_date"]
    # 6 of 7 days at 15: 14.29 >= 14 on May 6.
    assert got[("19001", 2015)] == pd.Timestamp("2015-05-06")
    assert got[("19003", 2015)] == pd.Timestamp("2015-04-20")


def test_a_record_that_starts_too_late_is_an_error():
    late = _spring("19007", "2015-05-01").iloc[10:]  # from Apr 11; the rule needs Apr 9
    with pytest.raises(CropcastError, match=r"weather of region 19007 in 2015 begins on "
                                            r"2015-04-11; .* every day from 2015-04-09 .*"
                                            r"thermal_start: '05-01'"):
        planting_dates(late)


def test_an_empty_table_gives_an_empty_frame():
    empty = _table().iloc[:0]
    assert list(planting_dates(empty).columns) == ["region_id", "year", "planting_date"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"window_days": 0}, r"planting.window_days must be an integer >= 1; got 0"),
    ({"delay_days": -1}, r"planting.delay_days must be an integer >= 0; got -1"),
    ({"threshold_c": "warm"}, r"planting.threshold_c must be a temperature"),
    ({"earliest": "April 15"}, r"planting.earliest must be a day 'MM-DD'"),
    ({"earliest": "06-15"}, r"planting.earliest \(06-15\) must come before planting.latest"),
])
def test_bad_rules_name_the_setting(kwargs, message):
    with pytest.raises(CropcastError, match=message):
        PlantingRule(**kwargs)
