"""cropcast.models.frame: keys, features and target, with errors naming what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.models.baselines import RegionMean
from cropcast.models.frame import ARRAY_REGION, feature_frame, read_rows, split_keys


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": ["19153", "19153", "17001"],
            "state_fips": ["19", "19", "17"],
            "year": [2011, 2012, 2011],
            "ndvi": [0.8, np.nan, 0.7],
            "irrigated": [True, False, True],
            "name": ["Polk", "Polk", "Adams"],
        }
    )


def test_split_keys_reads_ids_as_str_and_years_as_float(frame):
    keys = split_keys(
        frame, region_column="region_id", year_column="year", parent_column="state_fips"
    )
    assert list(keys.region) == ["19153", "19153", "17001"]
    assert list(keys.parent) == ["19", "19", "17"]
    assert keys.year.dtype == np.float64 and list(keys.year) == [2011.0, 2012.0, 2011.0]


def test_split_keys_names_the_missing_column_and_what_exists(frame):
    with pytest.raises(CropcastError, match=r"no key column\(s\) \['fips'\]; its columns are "):
        split_keys(frame, region_column="fips", year_column="year")
    with pytest.raises(CropcastError, match=r"\['season'\].*'state_fips', 'year', 'ndvi'"):
        split_keys(frame, region_column="region_id", year_column="season")


def test_split_keys_rejects_missing_ids_and_text_years(frame):
    with pytest.raises(CropcastError, match=r"'region_id' of X is missing in rows \[1\]"):
        split_keys(
            frame.assign(region_id=["1", None, "2"]), region_column="region_id", year_column="year"
        )
    with pytest.raises(CropcastError, match=r"'year' of X must be numeric"):
        split_keys(frame.assign(year=["2011"] * 3), region_column="region_id", year_column="year")


def test_feature_frame_takes_numeric_non_key_columns(frame):
    features = feature_frame(frame, exclude=["region_id", "year", "state_fips"])
    assert list(features.columns) == ["ndvi", "irrigated"]
    assert features.dtypes.eq(np.float64).all()
    assert features["irrigated"].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(features.loc[1, "ndvi"])


def test_feature_frame_explicit_columns_in_order(frame):
    features = feature_frame(
        frame, exclude=["region_id", "year"], feature_columns=["irrigated", "ndvi"]
    )
    assert list(features.columns) == ["irrigated", "ndvi"]


def test_feature_frame_counts_an_all_missing_column_as_numeric(frame):
    features = feature_frame(frame.assign(late=[None] * 3), exclude=[], feature_columns=["late"])
    assert features["late"].isna().all()


def test_feature_frame_errors(frame):
    with pytest.raises(CropcastError, match=r"must be numeric; \{'name': 'str'\} are not"):
        feature_frame(frame, exclude=["region_id"], feature_columns=["ndvi", "name"])
    with pytest.raises(CropcastError, match=r"no feature column\(s\) \['evi'\]"):
        feature_frame(frame, exclude=["region_id"], feature_columns=["evi"])
    with pytest.raises(CropcastError, match=r"\['year'\] are key columns"):
        feature_frame(frame, exclude=["region_id", "year"], feature_columns=["year"])
    with pytest.raises(CropcastError, match="no numeric feature column besides the keys"):
        feature_frame(frame[["region_id", "year", "name"]], exclude=["region_id", "year"])


def test_read_rows_array_is_one_region_without_years():
    model = RegionMean()
    frame, keys = read_rows(model, np.array([[1.0, 2.0], [3.0, np.nan]]), reset=True)
    assert list(frame.columns) == ["x0", "x1"]
    assert list(keys.region) == [ARRAY_REGION, ARRAY_REGION]
    assert keys.year is None and keys.parent is None
    assert model.n_features_in_ == 2 and not hasattr(model, "feature_names_in_")


def test_read_rows_sets_feature_names_for_frames(frame):
    model = RegionMean()
    read_rows(model, frame, reset=True)
    assert model.n_features_in_ == 6
    assert list(model.feature_names_in_) == list(frame.columns)
