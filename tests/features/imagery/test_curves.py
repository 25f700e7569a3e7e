"""Season curves, season features and climatology anomalies on hand-built observations."""

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.imagery.curves import (
    PRESETS,
    SeasonCalendar,
    climatology_anomalies,
    curve_features,
    season_curves,
)

CAL = SeasonCalendar.preset("16day")


def _date(year, doy):
    return pd.Timestamp(year, 1, 1) + pd.Timedelta(days=doy - 1)


def _obs(rows, region="19153", year=2019):
    """Observations from (doy, value) pairs of one region-year."""
    return pd.DataFrame({"region_id": [region] * len(rows), "year": [year] * len(rows),
                         "date": [_date(year, doy) for doy, _ in rows],
                         "value": [float(v) for _, v in rows]})


def _values(curves):
    return curves["value"].to_numpy()


# Calendar

def test_presets_and_steps():
    np.testing.assert_array_equal(CAL.steps(), np.arange(129, 274, 16))
    assert CAL == SeasonCalendar() and len(CAL.steps()) == 10
    assert SeasonCalendar.preset("8day").steps()[[0, -1]].tolist() == [129, 273]
    weekly = SeasonCalendar.preset("weekly").steps()
    assert weekly[1] - weekly[0] == 7 and weekly[-1] == 269
    assert set(PRESETS) == {"16day", "8day", "weekly"}


@pytest.mark.parametrize(("doy", "step"), [(128, -1), (129, 0), (144, 0), (145, 1), (273, 9),
                                           (288, 9), (289, -1), (1, -1), (366, -1)])
def test_step_of(doy, step):
    assert CAL.step_of(doy) == step


def test_step_of_arrays():
    np.testing.assert_array_equal(CAL.step_of(np.array([100, 129, 160, 161])), [-1, 0, 1, 2])


def test_placement_by_the_dates_day_of_year_also_in_leap_years():
    # May 24 is DOY 144 in 2019 (step 0) and DOY 145 in 2020 (step 1): as MODIS names them.
    obs = pd.DataFrame({"region_id": ["19153"] * 4, "year": [2019, 2019, 2020, 2020],
                        "date": pd.to_datetime(["2019-05-09", "2019-05-24",
                                                "2020-05-08", "2020-05-24"]),
                        "value": [0.1, 0.2, 0.3, 0.4]})
    assert obs["date"].dt.day_of_year.tolist() == [129, 144, 129, 145]
    curves = season_curves(obs, CAL)
    assert curves[["year", "step", "doy"]].values.tolist() == [
        [2019, 0, 129], [2020, 0, 129], [2020, 1, 145]]
    np.testing.assert_array_equal(_values(curves), [0.2, 0.3, 0.4])
    np.testing.assert_array_equal(curves["n_obs"], [2, 1, 1])


def test_dates_outside_the_calendar_are_ignored():
    curves = season_curves(_obs([(100, 9.0), (129, 0.5), (300, 9.0)]), CAL)
    assert curves["step"].tolist() == [0] and _values(curves).tolist() == [0.5]


# Compositing

@pytest.mark.parametrize(("composite", "expected"),
                         [("max", 0.6), ("median", 0.4), ("mean", 0.4)])
def test_composites_ignore_nan(composite, expected):
    obs = _obs([(129, 0.2), (133, np.nan), (140, 0.6), (145, 0.3), (150, 0.5), (160, 0.1)])
    curves = season_curves(obs, CAL, composite=composite)
    assert _values(curves)[0] == pytest.approx(expected)
    assert curves["n_obs"].tolist() == [2, 3]
    assert _values(curves)[1] == pytest.approx({"max": 0.5, "median": 0.3, "mean": 0.3}
                                               [composite])


def test_curve_columns_and_dtypes():
    curves = season_curves(_obs([(129, 0.2)]), CAL)
    assert list(curves.columns) == ["region_id", "year", "step", "doy", "value", "n_obs",
                                    "filled"]
    assert curves["region_id"].tolist() == ["19153"]
    assert curves["step"].dtype == np.int64 and curves["n_obs"].dtype == np.int64
    assert curves["filled"].dtype == bool


# Filling

def test_linear_fill_interior_gap_only():
    # steps: 0 none, 1 = 0.2, 2 cloudy, 3 none, 4 = 0.8, then nothing (last observation).
    obs = _obs([(145, 0.2), (161, np.nan), (193, 0.8)])
    curves = season_curves(obs, CAL)
    assert curves["step"].tolist() == [0, 1, 2, 3, 4]
    values = _values(curves)
    assert np.isnan(values[0])  # leading step stays NaN
    np.testing.assert_allclose(values[1:], [0.2, 0.4, 0.6, 0.8], rtol=0, atol=1e-12)
    assert curves["filled"].tolist() == [False, False, True, True, False]
    assert curves["n_obs"].tolist() == [0, 1, 0, 0, 1]


def test_exact_midpoint_and_nothing_after_the_last_observation():
    curves = season_curves(_obs([(129, 0.25), (161, 0.75)]), CAL)
    assert _values(curves)[1] == 0.5 and len(curves) == 3


def test_trailing_cloudy_observation_gives_a_nan_row_never_a_value():
    curves = season_curves(_obs([(129, 0.3), (145, np.nan)]), CAL)
    assert curves["step"].tolist() == [0, 1] and np.isnan(_values(curves)[1])
    assert not curves["filled"].any()


def test_fill_none_keeps_gaps():
    curves = season_curves(_obs([(129, 0.2), (177, 0.8)]), CAL, fill="none")
    assert np.isnan(_values(curves)[1:3]).all() and not curves["filled"].any()


def test_region_years_are_separate():
    obs = pd.concat([_obs([(129, 0.1)], year=2018), _obs([(161, 0.9)], year=2019),
                     _obs([(129, 0.5), (161, 0.7)], region="19001")])
    curves = season_curves(obs, CAL)
    key = curves[["region_id", "year"]].apply(tuple, axis=1).tolist()
    assert key == [("19001", 2019)] * 3 + [("19153", 2018)] + [("19153", 2019)] * 3
    np.testing.assert_allclose(_values(curves)[:3], [0.5, 0.6, 0.7])
    assert _values(curves)[3] == 0.1 and np.isnan(_values(curves)[4:6]).all()


# Smoothing

def test_savgol_keeps_a_quadratic():
    doys = CAL.steps()[:8]
    quadratic = 0.1 + 0.02 * np.arange(8) - 0.003 * np.arange(8) ** 2
    obs = _obs(list(zip(doys, quadratic, strict=True)))
    smoothed = season_curves(obs, CAL, smooth=(5, 2))
    np.testing.assert_allclose(_values(smoothed), quadratic, rtol=0, atol=1e-9)


def test_savgol_smooths_noise_and_skips_short_curves():
    noisy = [0.2, 0.6, 0.2, 0.6, 0.2, 0.6, 0.2]
    obs = pd.concat([_obs(list(zip(CAL.steps(), noisy, strict=False))),
                     _obs([(129, 0.2), (145, 0.9)], region="19001")])
    curves = season_curves(obs, CAL, smooth=(5, 2))
    short = curves[curves["region_id"] == "19001"]
    np.testing.assert_array_equal(_values(short), [0.2, 0.9])
    long = _values(curves[curves["region_id"] == "19153"])
    assert np.ptp(long[2:5]) < np.ptp(noisy[2:5])


def test_savgol_leaves_leading_nan():
    obs = _obs([(161 + 16 * k, 0.1 * k) for k in range(6)])
    curves = season_curves(obs, CAL, smooth=(3, 1))
    assert np.isnan(_values(curves)[:2]).all()
    np.testing.assert_allclose(_values(curves)[2:], 0.1 * np.arange(6), atol=1e-12)


# Curve features

PIECEWISE = [(129, 0.2), (145, 0.4), (161, 0.9), (177, 0.7), (193, 0.5)]


def test_curve_features_known_curve():
    features = curve_features(season_curves(_obs(PIECEWISE), CAL), "ndvi", calendar=CAL)
    row = features.iloc[0]
    assert features.shape[0] == 1 and row["region_id"] == "19153" and row["year"] == 2019
    assert [c for c in features.columns if "_d" in c and c[-3:].isdigit()] == [
        f"ndvi_d{d}" for d in CAL.steps()]
    assert row["ndvi_d161"] == 0.9 and np.isnan(row["ndvi_d209"])
    # 16 * ((0.2 + 0.4) + (0.4 + 0.9) + (0.9 + 0.7) + (0.7 + 0.5)) / 2
    assert row["ndvi_integral"] == pytest.approx(16 * 4.7 / 2)
    assert row["ndvi_peak"] == 0.9 and row["ndvi_peak_doy"] == 161
    assert row["ndvi_greenup_slope"] == pytest.approx(0.5 / 16)
    assert row["ndvi_last"] == 0.5


def test_integral_skips_nan_and_needs_two_points():
    obs = pd.concat([_obs([(145, 0.2), (161, np.nan), (177, 0.6)]),
                     _obs([(145, 0.5)], region="19001")])
    features = curve_features(season_curves(obs, CAL, fill="none"), "x").set_index(
        "region_id")
    assert features.loc["19153", "x_integral"] == pytest.approx(32 * 0.4)
    assert features.loc["19153", "x_greenup_slope"] == pytest.approx(0.4 / 32)
    single = features.loc["19001"]
    assert np.isnan(single["x_integral"]) and np.isnan(single["x_greenup_slope"])
    assert single["x_peak"] == 0.5 and single["x_peak_doy"] == 145 and single["x_last"] == 0.5
    assert list(features.columns[1:5]) == ["x_d129", "x_d145", "x_d161", "x_d177"]


def test_peak_ties_take_the_earliest_step_and_slope_stops_at_the_peak():
    curve = [(129, 0.1), (145, 0.3), (161, 0.8), (177, 0.2), (193, 0.8), (209, 0.1)]
    row = curve_features(season_curves(_obs(curve), CAL), "x").iloc[0]
    assert row["x_peak_doy"] == 161
    assert row["x_greenup_slope"] == pytest.approx(0.5 / 16)  # not 0.6 / 16 after the peak


def test_through_doy_drops_later_steps_and_equals_truncated_observations():
    full = curve_features(season_curves(_obs(PIECEWISE), CAL), "ndvi", through_doy=165,
                          calendar=CAL)
    assert [c for c in full.columns if c.startswith("ndvi_d")] == [
        "ndvi_d129", "ndvi_d145", "ndvi_d161"]
    truncated = curve_features(season_curves(_obs(PIECEWISE[:3]), CAL), "ndvi",
                               through_doy=165, calendar=CAL)
    pd.testing.assert_frame_equal(full, truncated)
    row = full.iloc[0]
    assert row["ndvi_integral"] == pytest.approx(16 * 1.9 / 2) and row["ndvi_last"] == 0.9


def test_through_doy_drops_values_interpolated_towards_a_later_observation():
    # step 2 (doy 161) is cloudy: filled from doy 177 in the full season, unknown at doy 170.
    obs = _obs([(129, 0.2), (145, 0.4), (161, np.nan), (177, 0.8)])
    full = curve_features(season_curves(obs, CAL), "x", through_doy=170, calendar=CAL)
    assert np.isnan(full.loc[0, "x_d161"]) and full.loc[0, "x_last"] == 0.4
    early = curve_features(season_curves(obs[obs["date"].dt.day_of_year <= 170], CAL), "x",
                           through_doy=170, calendar=CAL)
    pd.testing.assert_frame_equal(full, early)


def test_through_doy_before_the_season_keeps_the_rows_with_no_values():
    features = curve_features(season_curves(_obs(PIECEWISE), CAL), "x", through_doy=0,
                              calendar=CAL)
    assert list(features.columns) == ["region_id", "year", "x_integral", "x_peak",
                                      "x_peak_doy", "x_greenup_slope", "x_last"]
    assert len(features) == 1 and features.iloc[0, 2:].isna().all()


def _random_observations(seed, offsets, regions=("19153", "19001", "19013"),
                         years=(2018, 2019, 2020)):
    """Random values, ~30% NaN, on random days among step starts + ``offsets``."""
    rng = np.random.default_rng(seed)
    frames = []
    for region in regions:
        for year in years:
            doys = np.concatenate([CAL.steps() + offset for offset in offsets])
            size = int(rng.integers(2, len(doys)))
            doys = np.sort(rng.choice(doys, size=size, replace=False))
            values = rng.uniform(0.1, 0.9, size=len(doys))
            values[rng.random(len(doys)) < 0.3] = np.nan
            frames.append(_obs(list(zip(doys, values, strict=True)), region, year))
    return pd.concat(frames, ignore_index=True)


def _assert_no_look_ahead(obs, throughs, composite="max"):
    complete = season_curves(obs, CAL, composite=composite)
    doy = obs["date"].dt.day_of_year
    for through in throughs:
        from_all = curve_features(complete, "x", through_doy=int(through), calendar=CAL)
        as_of = season_curves(obs[doy <= through], CAL, composite=composite)
        from_past = curve_features(as_of, "x", through_doy=int(through), calendar=CAL)
        # a region-year with nothing observed by then is only in the full curves, all NaN
        merged = from_all.merge(from_past, on=["region_id", "year"], how="left",
                                suffixes=("", "_past"))
        for column in from_all.columns[2:]:
            np.testing.assert_array_equal(merged[column], merged[f"{column}_past"],
                                          err_msg=f"{column} through doy {through}")


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("composite", ["max", "median", "mean"])
def test_no_look_ahead_through_the_end_of_any_step(seed, composite):
    # two composites a step (8-day data on the 16-day calendar): D is a step's last day
    obs = _random_observations(seed, offsets=(0, 8))
    _assert_no_look_ahead(obs, CAL.steps() + 15, composite)


@pytest.mark.parametrize("seed", range(2))
def test_no_look_ahead_through_any_day_for_composites_dated_on_step_starts(seed):
    obs = _random_observations(seed, offsets=(0,))
    _assert_no_look_ahead(obs, np.concatenate([CAL.steps(), CAL.steps() + 7, [128, 300]]))


def test_appending_later_observations_leaves_features_through_d_unchanged():
    obs = _obs(PIECEWISE[:3] + [(177, np.nan)])
    before = curve_features(season_curves(obs, CAL), "x", through_doy=192, calendar=CAL)
    later = pd.concat([obs, _obs([(193, 0.1), (209, 0.95), (241, 0.3)])])
    after = curve_features(season_curves(later, CAL), "x", through_doy=192, calendar=CAL)
    pd.testing.assert_frame_equal(before, after)


# Climatology anomalies

def _features():
    return pd.DataFrame({
        "region_id": ["19153"] * 5 + ["19001"] * 4,
        "year": [2014, 2012, 2010, 2011, 2013, 2010, 2011, 2012, 2013],
        "x": [10.0, 3.0, 1.0, 2.0, np.nan, 5.0, 7.0, 9.0, 11.0],
        "y": [1.0] * 9,
    }, index=[f"r{i}" for i in range(9)])


def test_anomalies_against_the_mean_of_earlier_years():
    features = _features()
    out = climatology_anomalies(features, ["x"], min_years=2)
    assert list(out.index) == list(features.index) and "x_anom" not in features
    anom = dict(zip(zip(out["region_id"], out["year"], strict=True), out["x_anom"],
                    strict=True))
    assert np.isnan(anom[("19153", 2010)]) and np.isnan(anom[("19153", 2011)])
    assert anom[("19153", 2012)] == pytest.approx(3.0 - 1.5)
    assert np.isnan(anom[("19153", 2013)])  # no value of its own
    assert anom[("19153", 2014)] == pytest.approx(10.0 - 2.0)  # 2013 had no value
    assert anom[("19001", 2012)] == pytest.approx(9.0 - 6.0)
    assert anom[("19001", 2013)] == pytest.approx(11.0 - 7.0)


def test_anomalies_nan_below_min_years():
    out = climatology_anomalies(_features(), "x", min_years=3)
    by_key = out.set_index(["region_id", "year"])["x_anom"]
    assert by_key[("19153", 2014)] == pytest.approx(10.0 - 2.0)  # 3 earlier values
    assert np.isnan(by_key[("19153", 2012)]) and np.isnan(by_key[("19001", 2012)])
    assert by_key[("19001", 2013)] == pytest.approx(11.0 - 7.0)


def test_later_years_never_change_earlier_anomalies():
    features = _features()
    changed = features.copy()
    changed.loc[changed["year"] == 2013, "x"] = 1000.0
    a = climatology_anomalies(features, ["x", "y"], min_years=1)
    b = climatology_anomalies(changed, ["x", "y"], min_years=1)
    earlier = (features["year"] < 2013).to_numpy()
    np.testing.assert_array_equal(a.loc[earlier, "x_anom"], b.loc[earlier, "x_anom"])
    assert (a["y_anom"].dropna() == 0).all()


# Errors

def test_calendar_errors():
    with pytest.raises(CropcastError, match=r"step_days must be an integer in 1\.\.366; got 0"):
        SeasonCalendar(step_days=0)
    with pytest.raises(CropcastError, match="end_doy .100. is before start_doy .129."):
        SeasonCalendar(end_doy=100)
    with pytest.raises(CropcastError, match=r"start_doy .*got 129\.5"):
        SeasonCalendar(start_doy=129.5)
    with pytest.raises(CropcastError, match=r"preset must be one of \['16day', '8day', 'week"):
        SeasonCalendar.preset("monthly")


def test_option_errors():
    obs = _obs([(129, 0.1)])
    with pytest.raises(CropcastError, match=r"composite must be one of \['max', 'median', "
                                            r"'mean'\]; got 'min'"):
        season_curves(obs, CAL, composite="min")
    with pytest.raises(CropcastError, match=r"fill must be one of \['linear', 'none'\]"):
        season_curves(obs, CAL, fill="spline")
    for smooth in [(4, 2), (5, 5), 5, (5,), (5.0, 2)]:
        with pytest.raises(CropcastError, match=r"smooth must be None or \(window_length"):
            season_curves(obs, CAL, smooth=smooth)
    with pytest.raises(CropcastError, match="calendar must be a SeasonCalendar"):
        season_curves(obs, 16)
    with pytest.raises(CropcastError, match="through_doy must be None or an integer"):
        curve_features(season_curves(obs, CAL), "x", through_doy="180")
    with pytest.raises(CropcastError, match=r"through_doy .* in 0\.\.366 .*got -1"):
        curve_features(season_curves(obs, CAL), "x", through_doy=-1)
    with pytest.raises(CropcastError, match="prefix must be a non-empty string"):
        curve_features(season_curves(obs, CAL), "")
    with pytest.raises(CropcastError, match=r"doy \[130\] are not steps"):
        curve_features(season_curves(obs, CAL).assign(doy=130), "x", calendar=CAL)


def test_column_errors():
    obs = _obs([(129, 0.1)])
    with pytest.raises(CropcastError, match=r"is missing the column\(s\) \['date'\]; it has "
                                            r"\['region_id', 'year', 'value'\]"):
        season_curves(obs.drop(columns="date"), CAL)
    with pytest.raises(CropcastError, match="'region_id' must hold text .* got dtype int64"):
        season_curves(obs.assign(region_id=19153), CAL)
    with pytest.raises(CropcastError, match="'year' must hold integers"):
        season_curves(obs.assign(year=2019.0), CAL)
    with pytest.raises(CropcastError, match="'date' must hold datetimes"):
        season_curves(obs.assign(date="2019-05-09"), CAL)
    with pytest.raises(CropcastError, match="'value' must be numeric"):
        season_curves(obs.assign(value="0.1"), CAL)
    with pytest.raises(CropcastError, match="date outside their year"):
        season_curves(obs.assign(year=2018), CAL)
    with pytest.raises(CropcastError, match="must be a DataFrame"):
        season_curves(obs.to_dict(), CAL)


def test_region_ids_as_object_or_string_dtype_are_accepted():
    obs = _obs([(129, 0.1)])
    for dtype in [object, "string"]:
        curves = season_curves(obs.assign(region_id=obs["region_id"].astype(dtype)), CAL)
        assert curves["region_id"].tolist() == ["19153"]
    with pytest.raises(CropcastError, match="'region_id' must hold text"):
        season_curves(obs.assign(region_id=pd.Series([19153], dtype=object)), CAL)


def test_climatology_errors():
    features = _features()
    with pytest.raises(CropcastError, match=r"columns \['z'\] are not in features"):
        climatology_anomalies(features, ["z"])
    with pytest.raises(CropcastError, match="min_years must be an integer >= 1; got 0"):
        climatology_anomalies(features, "x", min_years=0)
    with pytest.raises(CropcastError, match=r"repeated \(region_id, year\) rows"):
        climatology_anomalies(pd.concat([features, features]), "x")
    with pytest.raises(CropcastError, match="column 'x' must be numeric"):
        climatology_anomalies(features.assign(x="a"), "x")
