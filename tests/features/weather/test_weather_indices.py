"""Degree days, PET and season weather features on tiny tables with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.weather.indices import (
    DEFAULT_PERIODS,
    daily_indices,
    degree_days,
    extraterrestrial_radiation,
    thermal_features,
    weather_features,
)
from cropcast.features.weather.phenology import PlantingRule


def _table(rows):
    """``(region_id, "YYYY-MM-DD", tmax, tmin, pr)`` rows -> a region_daily-shaped table."""
    out = pd.DataFrame(rows, columns=["region_id", "date", "tmax", "tmin", "pr"])
    out["date"] = pd.to_datetime(out["date"])
    return out


def _season(regions=("19153", "19169"), years=(2011, 2012), seed=0):
    """Daily weather April-October for each region and year, random but reproducible."""
    rng = np.random.default_rng(seed)
    frames = []
    for region in regions:
        for year in years:
            dates = pd.date_range(f"{year}-04-01", f"{year}-10-31")
            tmin = rng.uniform(0, 25, dates.size)
            frames.append(pd.DataFrame({"region_id": region, "date": dates,
                                        "tmax": tmin + rng.uniform(0, 18, dates.size),
                                        "tmin": tmin, "pr": rng.exponential(3, dates.size)}))
    return pd.concat(frames, ignore_index=True)


def _sine_day_degree_days(tmax, tmin, base, n=200_000):
    """Mean of max(T(t) - b, 0) over T(t) = M + W sin(t), t in [-pi/2, 3pi/2] (midpoints)."""
    t = -np.pi / 2 + (np.arange(n) + 0.5) * 2 * np.pi / n
    temperature = (tmax + tmin) / 2 + (tmax - tmin) / 2 * np.sin(t)
    return np.maximum(temperature - base, 0.0).mean()


# degree days ------------------------------------------------------------------------------

def test_degree_days_by_hand():
    tmax = [30.0, 25.0, 20.0, 20.0, 35.0, 29.0, np.nan, 30.0]
    tmin = [20.0, 10.0, 20.0, 20.0, 15.0, 29.0, 10.0, np.nan]
    base = [10.0, 29.0, 10.0, 29.0, 29.0, 29.0, 10.0, 10.0]
    m, w = 25.0, 10.0  # the crossing day: tmax 35, tmin 15, b 29
    theta = math.asin((29 - m) / w)
    crossing = ((m - 29) * (math.pi / 2 - theta) + w * math.cos(theta)) / math.pi
    expected = [15.0, 0.0, 10.0, 0.0, crossing, 0.0]
    got = np.array([degree_days(x, n, b) for x, n, b in zip(tmax, tmin, base, strict=True)])
    np.testing.assert_allclose(got[:6], expected, rtol=0, atol=1e-12)
    assert np.isnan(got[6:]).all()
    vector = degree_days(np.array(tmax[:6]), np.array(tmin[:6]), 10.0)
    np.testing.assert_allclose(vector, [15.0, 7.5, 10.0, 10.0, 15.0, 19.0], atol=1e-12)
    np.testing.assert_allclose(degree_days(tmax[:6], tmin[:6], base[:6]), expected, atol=1e-12)
    assert 0 < crossing < 35 - 29


def test_degree_days_equal_the_integral_over_a_sine_day():
    rng = np.random.default_rng(20090101)
    tmin = rng.uniform(-5, 30, 40)
    tmax = tmin + rng.uniform(0, 25, 40)
    base = rng.choice([10.0, 29.0, 18.3], 40)
    base[:10] = (tmin[:10] + tmax[:10]) / 2 + rng.uniform(-3, 3, 10)  # crossing days
    formula = degree_days(tmax, tmin, base)
    numeric = [_sine_day_degree_days(x, n, b) for x, n, b in zip(tmax, tmin, base, strict=True)]
    np.testing.assert_allclose(formula, numeric, rtol=0, atol=1e-6)


def test_degree_days_are_continuous_at_the_thresholds_and_rounding_safe():
    # the crossing branch meets M - b at tmin = b and 0 at tmax = b
    np.testing.assert_allclose(degree_days([30.0, 29.0 + 1e-12], [29.0 - 1e-12, 20.0], 29.0),
                               [0.5, 0.0], atol=1e-9)
    # (b - M) / W a hair outside [-1, 1] by rounding must not give NaN
    tmax, tmin, base = -3.618965675196519, -21.776082541394782, -3.6189656751965193
    assert tmin < base < tmax and abs((base - (tmax + tmin) / 2) / ((tmax - tmin) / 2)) > 1
    assert degree_days(tmax, tmin, base) == pytest.approx(0.0, abs=1e-12)
    assert degree_days(20.0, 20.0 + 1e-9, 10.0) == pytest.approx(10.0)  # rounding, not error


def test_degree_days_reject_tmax_below_tmin():
    with pytest.raises(CropcastError, match=r"2 days have tmax < tmin \(first at index \(1,\)"):
        degree_days([30.0, 10.0, 5.0], [20.0, 12.0, 6.0], 10.0)


# daily indices -----------------------------------------------------------------------------

def test_gdd_plus_edd_is_dd10_and_gdd_is_bounded():
    daily = _season(regions=("19153",), years=(2012,))
    out = daily_indices(daily)
    dd10 = degree_days(daily["tmax"], daily["tmin"], 10.0)
    np.testing.assert_allclose(out["gdd"] + out["edd"], dd10, atol=1e-12)
    assert out["gdd"].between(0, 19).all() and (out["edd"] >= 0).all()
    assert (out["edd"] > 0).any() and (out["gdd"] > 0).any()
    np.testing.assert_allclose(out["water_balance"], out["pr"] - out["pet"])
    pd.testing.assert_frame_equal(out[daily.columns], daily)  # input columns untouched
    custom = daily_indices(daily, gdd_base=8.0, gdd_cap=30.0, edd_base=32.0)
    np.testing.assert_allclose(custom["edd"], degree_days(daily["tmax"], daily["tmin"], 32.0))
    assert custom["gdd"].between(0, 22).all()


def test_extraterrestrial_radiation_matches_fao56_example_8():
    # FAO-56 Example 8: 20 S on 3 September (day 246): Ra = 32.2 MJ m-2 day-1
    assert extraterrestrial_radiation(-20.0, 246) == pytest.approx(32.2, abs=0.05)
    # polar night and polar day stay finite (sunset hour angle clipped)
    assert extraterrestrial_radiation(80.0, 355) == pytest.approx(0.0, abs=1e-9)
    assert extraterrestrial_radiation(80.0, 172) > 40


def test_hargreaves_pet_on_the_fao56_example_day():
    daily = _table([("a", "2015-09-03", 30.0, 15.0, 1.0), ("b", "2015-09-03", 30.0, 15.0, 1.0),
                    ("b", "2015-09-04", np.nan, 15.0, 1.0)])
    out = daily_indices(daily, latitude={"a": -20.0, "b": 40.0})
    expected = 0.0023 * (22.5 + 17.8) * math.sqrt(15.0) * 0.408 * 32.2  # FAO-56 eq. 52
    assert out["pet"].iloc[0] == pytest.approx(expected, rel=2e-3)
    assert out["water_balance"].iloc[0] == pytest.approx(1.0 - expected, rel=2e-3)
    assert out["pet"].iloc[1] == pytest.approx(daily_indices(daily)["pet"].iloc[1])  # 40 N
    assert np.isnan(out.loc[2, ["gdd", "edd", "pet", "water_balance"]].astype(float)).all()
    with pytest.raises(CropcastError, match=r"latitude has no value for regions \['b'\]"):
        daily_indices(daily, latitude={"a": -20.0})


# season features ---------------------------------------------------------------------------

def test_weather_features_sum_each_period_exactly():
    daily = _season()
    features = weather_features(daily)
    assert list(features[["region_id", "year"]].itertuples(index=False, name=None)) == [
        ("19153", 2011), ("19153", 2012), ("19169", 2011), ("19169", 2012)]
    assert pd.api.types.is_integer_dtype(features["year"])
    assert all(isinstance(v, str) for v in features["region_id"])
    indices = daily_indices(daily)
    for row in features.itertuples(index=False):
        one = indices[(indices["region_id"] == row.region_id)
                      & (indices["date"].dt.year == row.year)]
        for name, (start, end) in DEFAULT_PERIODS.items():
            days = one[one["date"].between(f"{row.year}-{start}", f"{row.year}-{end}")]
            assert len(days) > 0
            got = row._asdict()
            assert got[f"gdd_{name}"] == pytest.approx(days["gdd"].sum(), rel=1e-12)
            assert got[f"edd_{name}"] == pytest.approx(days["edd"].sum(), rel=1e-12)
            assert got[f"pr_{name}"] == pytest.approx(days["pr"].sum(), rel=1e-12)
            assert got[f"wb_{name}"] == pytest.approx(days["water_balance"].sum(), rel=1e-12)
            assert got[f"tmax_{name}"] == pytest.approx(days["tmax"].mean(), rel=1e-12)
            assert got[f"days_{name}"] == len(days)
    assert (features["days_season"] == 153).all() and (features["days_grainfill"] == 46).all()
    assert features["gdd_season"].iloc[0] == pytest.approx(
        features.loc[0, ["gdd_may", "gdd_jun", "gdd_jul", "gdd_aug", "gdd_sep"]].sum())


def test_weather_features_partial_and_absent_periods_and_years_apart():
    daily = _season()
    as_of = daily[daily["date"].dt.strftime("%m-%d") <= "07-10"]  # season to date
    features = weather_features(as_of, latitude={"19153": 42.0, "19169": 41.9})
    indices = daily_indices(as_of, latitude={"19153": 42.0, "19169": 41.9})
    one = indices[(indices["region_id"] == "19169") & (indices["date"].dt.year == 2012)]
    row = features[(features["region_id"] == "19169") & (features["year"] == 2012)].iloc[0]
    july = one[one["date"] >= "2012-07-01"]
    assert row["gdd_jul"] == pytest.approx(july["gdd"].sum()) and row["days_jul"] == 10
    assert row["pr_silking"] == pytest.approx(july["pr"].sum())
    assert row["edd_season"] == pytest.approx(one[one["date"] >= "2012-05-01"]["edd"].sum())
    for name in ("aug", "sep", "grainfill"):
        for prefix in ("gdd", "edd", "pr", "wb", "tmax"):
            assert features[f"{prefix}_{name}"].isna().all()  # NaN, never 0
        assert (features[f"days_{name}"] == 0).all()
    # one year's weather never leaks into the other's row
    changed = daily.copy()
    changed.loc[changed["date"].dt.year == 2011, "pr"] += 100.0
    a, b = weather_features(daily), weather_features(changed)
    years_2012 = a["year"] == 2012
    pd.testing.assert_frame_equal(a[years_2012], b[years_2012])
    assert (b.loc[~years_2012, "pr_may"] - a.loc[~years_2012, "pr_may"]).round(6).eq(
        3100.0).all()


def test_weather_features_skip_missing_days():
    daily = _table([("7", "2020-05-01", 28.0, 20.0, 2.0), ("7", "2020-05-02", np.nan, 20.0, 3.0),
                    ("7", "2020-05-03", 20.0, 10.0, np.nan),
                    ("7", "2020-06-01", np.nan, np.nan, np.nan)])
    row = weather_features(daily, periods={"may": ("05-01", "05-31"),
                                           "jun": ("06-01", "06-30")}).iloc[0]
    assert row["gdd_may"] == pytest.approx(14.0 + 5.0) and row["pr_may"] == 5.0
    assert row["tmax_may"] == 24.0 and row["days_may"] == 1
    assert np.isnan(row["gdd_jun"]) and np.isnan(row["pr_jun"]) and row["days_jun"] == 0


# errors ------------------------------------------------------------------------------------

def test_errors_name_what_is_wrong():
    good = _table([("19153", "2020-05-01", 30.0, 20.0, 2.0),
                   ("19153", "2020-05-02", 25.0, 15.0, 0.0)])
    with pytest.raises(CropcastError, match=r"lacks columns \['pr'\]; it has \['region_id', "
                                            r"'date', 'tmax', 'tmin'\]"):
        weather_features(good.drop(columns="pr"))
    swapped = good.assign(tmin=[20.0, 26.0])
    with pytest.raises(CropcastError, match="1 days have tmax < tmin, the first region 19153 "
                                            "on 2020-05-02"):
        weather_features(swapped)
    duplicated = pd.concat([good, good.iloc[[1]]], ignore_index=True)
    with pytest.raises(CropcastError, match="1 duplicated .* region 19153 on 2020-05-02"):
        daily_indices(duplicated)
    with pytest.raises(CropcastError, match=r"region_id must be strings .* got 19153 \(int64\)"):
        daily_indices(good.assign(region_id=19153))
    with pytest.raises(CropcastError, match="date must be datetime64"):
        daily_indices(good.assign(date=["2020-05-01", "2020-05-02"]))
    for bad in (("5-01", "05-31"), ("05-01", "05-32"), ("05-01",), "05-01"):
        with pytest.raises(CropcastError, match=r"period 'may'=.* must be two days of the form "
                                                r"'MM-DD'"):
            weather_features(good, periods={"may": bad})
    with pytest.raises(CropcastError, match="period 'late'=.* ends before it starts"):
        weather_features(good, periods={"late": ("09-30", "05-01")})
    with pytest.raises(CropcastError, match="gdd_base=30.0 must be below gdd_cap=29.0"):
        daily_indices(good, gdd_base=30.0)


def _warming_may():
    """Iowa 2012: April and May 1-30 at 20 C (10 corn degree days a day), then 31 C (20
    corn degree days, 2 EDD a day) to Aug 31; 1 mm of rain a day."""
    days = pd.date_range("2012-04-01", "2012-08-31")
    tmax = np.where(days < pd.Timestamp("2012-05-31"), 20.0, 31.0)
    return pd.DataFrame({"region_id": "19153", "date": days, "tmax": tmax, "tmin": tmax,
                         "pr": 1.0})


PHASES = {"early": (250, 550), "late": (550, 1050)}


def test_thermal_phases_follow_accumulated_degree_days():
    row = thermal_features(_warming_may(), PHASES, start="05-01").iloc[0]
    # May 25-30 (cumulative 250-300 at 10 a day; April never counts), then 12 days at 20 a
    # day (320 ... 540): 18 days, 12 x 2 extreme degree days, 18 mm.
    assert (row["days_early"], row["edd_early"], row["pr_early"]) == (18, 24.0, 18.0)
    # 560 ... 1040: 25 days at 20 a day, all hot.
    assert (row["days_late"], row["edd_late"], row["pr_late"]) == (25, 50.0, 25.0)


def test_thermal_phases_count_from_the_estimated_planting_day():
    # Warm since April 1: the rule fires on its earliest day, Apr 15; planting on Apr 18.
    row = thermal_features(_warming_may(), PHASES).iloc[0]
    # Apr 18 is day 1 (10): 250 on May 12 ... 430 on May 30 (19 days), then 450 ... 530
    # at 20 a day from May 31 (5 days, 2 EDD each).
    assert (row["days_early"], row["edd_early"], row["pr_early"]) == (24, 10.0, 24.0)
    assert (row["days_late"], row["edd_late"], row["pr_late"]) == (25, 50.0, 25.0)
    later = thermal_features(_warming_may(), PHASES,
                             planting=PlantingRule(delay_days=13)).iloc[0]  # Apr 28: 100 less
    assert (later["days_early"], later["edd_early"]) == (24 - 10 + 5, 20.0)


def test_thermal_phases_as_far_as_the_table_goes():
    daily = _warming_may()
    cut = thermal_features(daily[daily["date"] <= "2012-05-27"], PHASES,
                           start="05-01").iloc[0]
    assert (cut["days_early"], cut["edd_early"], cut["pr_early"]) == (3, 0.0, 3.0)
    assert cut["days_late"] == 0 and np.isnan(cut["edd_late"]) and np.isnan(cut["pr_late"])
    # Not planted yet on Apr 14: every phase is missing, none is 0.
    early = thermal_features(daily[daily["date"] <= "2012-04-14"], PHASES).iloc[0]
    assert early["days_early"] == 0 and np.isnan(early["edd_early"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"periods": {"p": (550, 250)}}, r"thermal period 'p'=\(550, 250\) must be two degree-day"),
    ({"periods": {"p": ("a", 9)}}, "thermal period 'p'"),
    ({"start": "May 1"}, r"thermal start 'May 1' must be 'planting' or a day 'MM-DD'"),
])
def test_thermal_errors_name_the_setting(kwargs, message):
    with pytest.raises(CropcastError, match=message):
        thermal_features(_warming_may(), **kwargs)
