"""As-of matrices from hand-built store rows: exact cuts, series, tables, column names."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.asof import CurveSpec, MatrixSpec, as_of_matrix, cutoff, parse_as_of, series_rows
from features.errors import CropcastError
from features.sources.tables import FeatureTable, RegionTimeSeries
from features.store import FeatureStore


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


SPEC = [CurveSpec("MOD13Q1", "NDVI", "mean", 16)]


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
    matrix = as_of_matrix(_rows(), dt.date(2020, 10, 1), SPEC, min_years=1)
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
    spec = [CurveSpec("ee", "NDVI", "value", 16, lag_days=15)]
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
