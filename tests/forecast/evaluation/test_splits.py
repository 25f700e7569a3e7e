"""Year-grouped splitters: exact folds, messages, and GridSearchCV with YearSplitter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV

from cropcast.errors import CropcastError
from cropcast.forecast.evaluation.splits import (
    ExpandingWindow,
    FixedHoldout,
    LeaveOneYearOut,
    YearSplitter,
)

YEARS = [2010, 2011, 2012, 2013, 2014]


def test_expanding_window_trains_on_earlier_years_only():
    splits = ExpandingWindow(min_train_years=3).splits([2012, 2010, 2014, 2011, 2013, 2010])
    assert splits == [([2010, 2011, 2012], 2013), ([2010, 2011, 2012, 2013], 2014)]
    assert all(max(train) < test for train, test in splits)
    assert ExpandingWindow.uses_later_years is False


def test_expanding_window_counts_years_present_not_calendar_years():
    splits = ExpandingWindow(min_train_years=2).splits([2000, 2005, 2010])
    assert splits == [([2000, 2005], 2010)]


def test_expanding_window_with_test_years():
    splitter = ExpandingWindow(min_train_years=2, test_years=[2014, 2012])
    assert splitter.splits(YEARS) == [([2010, 2011], 2012), ([2010, 2011, 2012, 2013], 2014)]
    assert splitter.name == "ExpandingWindow(min_train_years=2, test_years=[2014, 2012])"


def test_expanding_window_explains_why_no_split_is_possible():
    with pytest.raises(CropcastError, match=r"ExpandingWindow\(min_train_years=5\) needs at "
                                            r"least 6 years; got 2010-2012"):
        ExpandingWindow().splits([2010, 2011, 2012])
    with pytest.raises(CropcastError, match="test year 2011 has 1 earlier year"):
        ExpandingWindow(min_train_years=2, test_years=[2011]).splits(YEARS)
    with pytest.raises(CropcastError, match=r"test_years \[2020\] are not among"):
        ExpandingWindow(min_train_years=2, test_years=[2020]).splits(YEARS)
    with pytest.raises(CropcastError, match="min_train_years must be an integer >= 1; got 0"):
        ExpandingWindow(min_train_years=0).splits(YEARS)
    with pytest.raises(CropcastError,
                       match=r"min_train_years must be an integer >= 1; got '5' \(str\)"):
        ExpandingWindow(min_train_years="5").splits(YEARS)


def test_leave_one_year_out_uses_later_years_and_says_so():
    splitter = LeaveOneYearOut()
    assert splitter.uses_later_years is True
    assert splitter.name == "LeaveOneYearOut()"
    assert splitter.splits([2012, 2010, 2011]) == [([2011, 2012], 2010), ([2010, 2012], 2011),
                                                   ([2010, 2011], 2012)]
    assert LeaveOneYearOut(test_years=[2011]).splits([2010, 2011, 2012]) == [
        ([2010, 2012], 2011)]
    with pytest.raises(CropcastError, match=r"needs at least 2 years; got 2010"):
        splitter.splits([2010])


def test_fixed_holdout_trains_every_test_year_on_the_same_years():
    splitter = FixedHoldout(last_train_year=2012)
    assert splitter.splits(YEARS) == [([2010, 2011, 2012], 2013), ([2010, 2011, 2012], 2014)]
    assert splitter.uses_later_years is False
    assert splitter.name == "FixedHoldout(last_train_year=2012)"
    with pytest.raises(CropcastError, match=r"needs years after 2014; got 2010-2014"):
        FixedHoldout(2014).splits(YEARS)
    with pytest.raises(CropcastError, match=r"needs years up to 2001; got 2010, 2012"):
        FixedHoldout(2001).splits([2010, 2012])


def test_years_must_be_integers():
    with pytest.raises(CropcastError, match="years must be integers; got 'x'"):
        LeaveOneYearOut().splits([2010, "x"])
    with pytest.raises(CropcastError, match="years must not be missing"):
        LeaveOneYearOut().splits([2010, None])


def _frame() -> pd.DataFrame:
    years = np.repeat([2010, 2011, 2012, 2013, 2014], 4)
    rng = np.random.default_rng(0)
    x = rng.normal(size=len(years))
    return pd.DataFrame({"year": years, "x": x}), 3.0 * x + rng.normal(0, 0.1, len(years))


def test_year_splitter_folds_are_expanding_windows_over_the_year_column():
    X, _ = _frame()
    X = X.sample(frac=1.0, random_state=1)  # the positions, not the order, matter
    folds = list(YearSplitter(n_splits=3).split(X))
    assert len(folds) == YearSplitter(3).get_n_splits() == 3
    years = X["year"].to_numpy()
    for (train, test), test_year in zip(folds, [2012, 2013, 2014], strict=True):
        assert set(years[test]) == {test_year}
        assert len(test) == 4
        assert sorted(set(years[train])) == list(range(2010, test_year))
        assert len(train) == 4 * (test_year - 2010)


def test_year_splitter_takes_groups_when_x_has_no_year():
    folds = list(YearSplitter(1).split(np.zeros((4, 1)), groups=[1, 1, 2, 2]))
    assert [(list(a), list(b)) for a, b in folds] == [([0, 1], [2, 3])]


def test_year_splitter_errors():
    X, _ = _frame()
    with pytest.raises(CropcastError, match=r"YearSplitter\(n_splits=5\) needs at least 6 "
                                            r"distinct years; got 2010-2014"):
        list(YearSplitter(n_splits=5).split(X))
    with pytest.raises(CropcastError, match="no 'year' column"):
        list(YearSplitter().split(np.zeros((3, 2))))
    with pytest.raises(CropcastError, match="n_splits must be an integer >= 1; got 0"):
        list(YearSplitter(n_splits=0).split(X))


def test_year_splitter_in_grid_search():
    X, y = _frame()
    search = GridSearchCV(Ridge(), {"alpha": [0.01, 100.0]}, cv=YearSplitter(n_splits=3),
                          scoring="neg_root_mean_squared_error")
    search.fit(X, y)
    assert search.n_splits_ == 3
    assert search.best_params_ == {"alpha": 0.01}
    assert "split2_test_score" in search.cv_results_
    assert "split3_test_score" not in search.cv_results_
    assert repr(YearSplitter(3)) == "YearSplitter(n_splits=3)"
