"""As-of matrices from hand-built store rows: exact cuts, series, tables, column names."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.sources.tables import FeatureTable, RegionTimeSeries
from cropcast.features.store.matrix import (
    CurveSpec,
    MatrixSpec,
    as_of_matrix,
    cutoff,
    parse_as_of,
    series_rows,
)
from cropcast.features.store.store import FeatureStore
from cropcast.features.weather.phenology import PlantingRule


def _rows(years=(2019, 2020, 2021), regions=("19001", "19003")) -> pd.DataFrame:
    """NDVI composites on DOY 129, 145, ..., 273 (value = year offset + step / 10)."""
    rows = []
    for year in years:
        for r, region in enumerate(regions):
            for k, doy in enumerate(range(129, 274, 16)):
                start = pd.Timestamp(year, 1, 1) + pd.Timedelta(days=doy - 1)
                rows.append({"region_id": region, "year": year, "product": "MOD13Q1",
                             "variable": "NDVI", "stat": "mean", "date": start,
                             "obs_date": start + pd.Timedelta(days=15),
                             "value": (year - 2019) + k / 10 + r, "n_valid": 10.0,
                             "reason": ""})
    return pd.DataFrame(rows)


CURVES = [CurveSpec("MOD13Q1", "NDVI", "mean", 16)]
SPEC = MatrixSpec(curves=CURVES)


def test_cutoff_uses_the_month_and_day_of_every_season():
    assert cutoff(dt.date(2020, 7, 20), 2019) == pd.Timestamp(2019, 7, 20)
    assert cutoff(dt.date(2020, 2, 29), 2019) == pd.Timestamp(2019, 2, 28)
    assert cutoff(None, 2019) == pd.Timestamp(2019, 12, 31)
    assert parse_as_of("2024-08-01") == dt.date(2024, 8, 1)
    with pytest.raises(CropcastError, match="as_of must be a date"):
        parse_as_of("08/01/2024")


def test_a_composite_counts_once_its_window_has_ended():
    rows = _rows()
    # 2021: DOY 177 = June 26, window ends July 11; DOY 193 ends July 27
    on_end = as_of_matrix(rows, dt.date(2021, 7, 11), SPEC)
    assert "mean_d177" in "".join(on_end.columns) and "mod13q1_ndvi_mean_d193" not in on_end
    day_before = as_of_matrix(rows, dt.date(2021, 7, 10), SPEC)
    assert "mod13q1_ndvi_mean_d177" not in day_before
    last = on_end.set_index(["region_id", "year"])["mod13q1_ndvi_mean_last"]
    assert last[("19001", 2021)] == pytest.approx(2 + 0.3)  # steps 0..3
    assert last[("19003", 2019)] == pytest.approx(0 + 0.3 + 1)


def test_rows_are_the_as_of_season_and_earlier_ones_with_earlier_year_anomalies():
    matrix = as_of_matrix(_rows(), dt.date(2020, 10, 1), MatrixSpec(curves=CURVES, min_years=1))
    assert sorted(matrix["year"].unique()) == [2019, 2020]
    anomalies = matrix.set_index(["region_id", "year"])["mod13q1_ndvi_mean_peak_anom"]
    assert np.isnan(anomalies[("19001", 2019)])  # no earlier season
    assert anomalies[("19001", 2020)] == pytest.approx(1.0)  # peak 1.9 vs 0.9 in 2019


def test_a_region_time_series_builds_the_same_curves(tmp_path):
    rows = _rows()
    table = rows[["region_id", "date", "value"]].rename(columns={"value": "NDVI"})
    path = tmp_path / "ee_export.csv"
    table.assign(date=table["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    series = RegionTimeSeries(str(path), ["NDVI"], name="ee")
    from_series = series_rows(series)
    spec = MatrixSpec(curves=[CurveSpec("ee", "NDVI", "value", 16, lag_days=15)])
    ours = as_of_matrix(from_series, None, spec)
    theirs = as_of_matrix(rows, None, SPEC)
    renamed = ours.rename(columns=lambda c: c.replace("ee_ndvi_value", "mod13q1_ndvi_mean"))
    pd.testing.assert_frame_equal(renamed[theirs.columns], theirs)


def test_a_feature_table_serves_the_end_of_season_only(tmp_path):
    path = tmp_path / "soil.csv"
    pd.DataFrame({"region_id": ["19001", "19003"], "year": [2019, 2019],
                  "awc": [0.2, 0.3]}).to_csv(path, index=False)
    table = FeatureTable(str(path), name="soil")
    matrix = as_of_matrix(_rows(years=(2019,)), None, SPEC, tables=[table])
    assert matrix["awc"].tolist() == [0.2, 0.3]
    with pytest.raises(CropcastError, match="has no dates.*as_of=end"):
        as_of_matrix(_rows(), dt.date(2019, 8, 1), SPEC, tables=[table])


def test_matrix_spec_reports_a_bad_curve_and_missing_columns():
    with pytest.raises(CropcastError, match=r"features.curves\[1\]"):
        MatrixSpec(curves=[{"product": "A", "variable": "B"}, {"band": "x"}]).curve_specs()
    with pytest.raises(CropcastError, match="lack columns"):
        as_of_matrix(pd.DataFrame({"region_id": ["1"]}), None, SPEC)


def test_store_writes_are_atomic_and_temporaries_are_removed(tmp_path):
    store = FeatureStore(tmp_path / "store")
    rows = _rows(years=(2019,))
    store.write("MOD13Q1/x", "hash", "MOD13Q1", 2019, "x", rows)
    leftover = store.part_path("MOD13Q1", 2019, "y").with_name(".y.parquet.abc123")
    leftover.write_bytes(b"half a file")
    assert store.remove_temporaries() == [leftover] and not leftover.exists()
    assert FeatureStore(tmp_path / "store").is_done("MOD13Q1/x", "hash")
    assert not FeatureStore(tmp_path / "store").is_done("MOD13Q1/x", "other inputs")
    loaded = FeatureStore(tmp_path / "store").load()
    assert len(loaded) == len(rows) and loaded["region_id"].tolist()[0] == "19001"
    with pytest.raises(CropcastError, match="lack columns"):
        store.write("k", "h", "MOD13Q1", 2019, "z", rows.drop(columns="reason"))


def test_bad_thermal_periods_are_refused_when_the_config_is_built():
    with pytest.raises(CropcastError, match=r"features.thermal_periods: thermal period 'tt'"):
        MatrixSpec(thermal_periods={"tt": [900, 500]})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"thermal_start": "May 1"}, r"features.thermal_start must be 'planting' or a day"),
    ({"thermal_start": "05-32"}, r"features.thermal_start must be 'planting' or a day"),
    ({"planting": {"window": 7}}, r"features.planting: .*'window'.*; fields are threshold_c"),
    ({"planting": {"delay_days": -2}}, r"features.planting.delay_days must be an integer"),
])
def test_bad_thermal_start_and_planting_are_refused_when_the_config_is_built(kwargs, message):
    with pytest.raises(CropcastError, match=message):
        MatrixSpec(**kwargs)


def test_planting_settings_reach_the_rule():
    spec = MatrixSpec(planting={"threshold_c": 10.0, "earliest": "04-20"})
    assert spec.planting_rule() == PlantingRule(threshold_c=10.0, earliest="04-20")
    assert MatrixSpec().planting_rule() == PlantingRule()


def _weather_rows(years=(2019, 2020, 2021), regions=("19001", "19003")) -> pd.DataFrame:
    """Daily weather from Apr 1 to Oct 31, observed the next day; hotter each season."""
    rows = []
    for year in years:
        days = pd.date_range(f"{year}-04-01", f"{year}-10-31")
        for r, region in enumerate(regions):
            tmax = 30.0 + (year - 2019) * 2.0 + r  # 30-35 C: extreme degree days above 29
            for variable, value in (("tmax", tmax), ("tmin", tmax - 12.0), ("pr", 2.0)):
                rows.append(pd.DataFrame({
                    "region_id": region, "year": year, "product": "weather",
                    "variable": variable, "stat": "mean", "date": days,
                    "obs_date": days + pd.Timedelta(days=1), "value": value,
                    "n_valid": 1.0, "reason": ""}))
    return pd.concat(rows, ignore_index=True)


FINAL = ["wx_edd_tt_flowering", "wx_edd_tt_season"]
FINAL_SPEC = MatrixSpec(curves=CURVES, final_columns=FINAL)


def test_final_columns_hold_earlier_seasons_whole_and_never_the_as_of_season():
    rows = pd.concat([_rows(), _weather_rows()], ignore_index=True)
    end = as_of_matrix(rows, None, FINAL_SPEC).set_index(["region_id", "year"])
    # At the end of season every season is complete: the final value is the feature's.
    for column in FINAL:
        np.testing.assert_array_equal(end[f"final_{column}"], end[column])
    assert (end["final_wx_edd_tt_flowering"] > 0).all()
    june = as_of_matrix(rows, dt.date(2021, 6, 15), FINAL_SPEC).set_index(
        ["region_id", "year"])
    earlier = june.index.get_level_values("year") < 2021
    for column in FINAL:
        np.testing.assert_array_equal(june.loc[earlier, f"final_{column}"],
                                      end.loc[june.index[earlier], column])
        assert june.loc[~earlier, f"final_{column}"].isna().all()
    # Whatever happens after June 15, 2021 changes nothing of the June matrix.
    later = rows["obs_date"] > pd.Timestamp("2021-06-15")
    changed = rows.assign(value=rows["value"].where(~later, rows["value"] + 7.0))
    again = as_of_matrix(changed, dt.date(2021, 6, 15), FINAL_SPEC).set_index(
        ["region_id", "year"])
    pd.testing.assert_frame_equal(again, june)


def test_final_weather_computed_once_gives_the_same_matrix():
    rows = pd.concat([_rows(), _weather_rows()], ignore_index=True)
    spec = MatrixSpec(curves=[{"product": "MOD13Q1", "variable": "NDVI", "stat": "mean",
                               "window_days": 16}], final_columns=FINAL)
    weather = spec.daily_weather(rows)
    final = spec.final_weather(weather)
    assert list(final.columns) == ["region_id", "year", *(f"final_{c}" for c in FINAL),
                                   "complete_on"]
    matrices = spec.matrices(rows)
    for as_of in (dt.date(2020, 8, 1), dt.date(2021, 6, 15), None):
        pd.testing.assert_frame_equal(spec.matrix(rows, as_of, None, weather, final),
                                      spec.matrix(rows, as_of))
        pd.testing.assert_frame_equal(matrices(as_of), spec.matrix(rows, as_of))
    assert MatrixSpec().final_weather(weather) is None


def test_final_columns_must_be_weather_features():
    rows = pd.concat([_rows(), _weather_rows()], ignore_index=True)
    with pytest.raises(CropcastError, match=r"features.final_columns \['wx_edd_tt_silk'\] are "
                                            r"not weather features; they are e.g."):
        as_of_matrix(rows, None, MatrixSpec(curves=CURVES, final_columns=["wx_edd_tt_silk"]))
    with pytest.raises(CropcastError, match=r"features.final_columns must be a list of weather"):
        MatrixSpec(final_columns=["yield"])
