"""RegionMean and RecentMean: exact answers on tiny frames, fallbacks, parameter errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.models.baselines import RecentMean, RegionMean


@pytest.fixture
def history() -> tuple[pd.DataFrame, np.ndarray]:
    """Two Iowa counties and one Illinois county; rows deliberately out of year order."""
    rows = [
        ("19001", "19", 2003, 130.0),
        ("19001", "19", 2001, 110.0),
        ("19001", "19", 2002, 120.0),
        ("19001", "19", 2000, 100.0),
        ("19003", "19", 2000, 150.0),
        ("19003", "19", 2001, 170.0),
        ("17001", "17", 1999, 180.0),
        ("17001", "17", 2000, 160.0),
    ]
    X = pd.DataFrame(rows, columns=["region_id", "state_fips", "year", "yield"])
    return X.drop(columns="yield").assign(ndvi=np.nan), X["yield"].to_numpy()


def query(regions, parents) -> pd.DataFrame:
    return pd.DataFrame({"region_id": regions, "state_fips": parents, "year": 2004})


def test_region_mean(history):
    X, y = history
    model = RegionMean().fit(X, y)
    pred = model.predict(query(["19001", "19003", "17001", "55001"], ["19", "19", "17", "55"]))
    np.testing.assert_allclose(pred, [115.0, 160.0, 170.0, y.mean()])
    assert model.mean_ == pytest.approx(y.mean())
    assert model.region_means_.to_dict() == {"17001": 170.0, "19001": 115.0, "19003": 160.0}


def test_region_mean_unseen_region_takes_its_parents_mean(history):
    X, y = history
    model = RegionMean(parent_column="state_fips").fit(X, y)
    pred = model.predict(query(["19999", "17999", "55001"], ["19", "17", "55"]))
    iowa = y[:6].mean()  # every Iowa row: 780 / 6
    np.testing.assert_allclose(pred, [iowa, 170.0, y.mean()])


def test_region_ids_are_matched_as_text(history):
    X, y = history
    model = RegionMean().fit(X.assign(region_id=X["region_id"].astype(int)), y)
    assert model.predict(query(["19001"], ["19"]))[0] == 115.0
    assert model.predict(query([19001], ["19"]))[0] == 115.0


def test_recent_mean_takes_each_regions_latest_years(history):
    X, y = history
    model = RecentMean(n_years=2).fit(X, y)
    pred = model.predict(query(["19001", "19003", "17001"], ["19", "19", "17"]))
    # 19001: 2002-2003 (not the first rows); 19003: 2000-2001; 17001: 1999-2000.
    np.testing.assert_allclose(pred, [125.0, 160.0, 170.0])


def test_recent_mean_fallbacks_use_latest_years_of_parent_and_of_all(history):
    X, y = history
    model = RecentMean(n_years=1, parent_column="state_fips").fit(X, y)
    pred = model.predict(query(["19999", "17999", "55001"], ["19", "17", "55"]))
    np.testing.assert_allclose(pred, [130.0, 160.0, 130.0])  # Iowa 2003; Illinois 2000; 2003


def test_recent_mean_longer_than_history_is_the_region_mean(history):
    X, y = history
    pred = RecentMean(n_years=50).fit(X, y).predict(query(["19001"], ["19"]))
    assert pred[0] == 115.0


@pytest.mark.parametrize("n_years", [0, -2, 2.5, True, None])
def test_recent_mean_n_years_must_be_a_positive_int(history, n_years):
    X, y = history
    with pytest.raises(
        CropcastError,
        match=rf"'n_years' parameter of RecentMean must be an int >= 1\. Got {n_years!r} instead",
    ):
        RecentMean(n_years=n_years).fit(X, y)


def test_array_input_is_one_region():
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([1.0, 2.0, 3.0, 6.0])
    assert RegionMean().fit(X, y).predict(X[:2]).tolist() == [3.0, 3.0]
    assert RecentMean(n_years=1).fit(X, y).predict(X[:1]).tolist() == [3.0]  # no years: all rows


def test_missing_key_column_is_named(history):
    X, y = history
    with pytest.raises(CropcastError, match=r"X has no key column\(s\) \['region_id'\]"):
        RegionMean().fit(X.drop(columns="region_id"), y)
    with pytest.raises(CropcastError, match=r"X has no key column\(s\) \['state_fips'\]"):
        RegionMean(parent_column="state_fips").fit(X.drop(columns="state_fips"), y)
    model = RegionMean().fit(X, y)
    with pytest.raises(CropcastError, match=r"X has no key column\(s\) \['year'\]"):
        model.predict(X.drop(columns="year"))


def test_column_parameters_must_be_names(history):
    X, y = history
    with pytest.raises(
        CropcastError, match=r"'year_column' parameter of RegionMean must be a column"
    ):
        RegionMean(year_column=3).fit(X, y)


def test_target_must_match_rows(history):
    X, y = history
    with pytest.raises(CropcastError, match="y has 7 values but X has 8 rows"):
        RegionMean().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        RegionMean().fit(X, np.where(y > 150, np.nan, y))


def test_frame_model_rejects_an_array_at_predict(history):
    X, y = history
    model = RegionMean().fit(X, y)
    with pytest.raises(
        CropcastError, match="fitted on a DataFrame with key columns; predict got an array"
    ):
        model.predict(np.zeros((1, 4)))
