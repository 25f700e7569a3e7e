"""Year-grouped validation: which seasons train a model and which season tests it.

County-years of one season share their weather, so a random K-fold over county-years
puts the test season's weather in the training rows and flatters every model. The
splitters here hold out whole seasons:

- :class:`ExpandingWindow`: train on every season before the test season (the honest
  in-season protocol: a forecast for ``Y`` can only learn from seasons before ``Y``).
- :class:`LeaveOneYearOut`: train on every other season, later ones too (CY-Bench's
  protocol; ``uses_later_years`` is True so reports can say so).
- :class:`FixedHoldout`: train once on the seasons up to a year, test each later season.
- :class:`YearSplitter`: a scikit-learn CV splitter with expanding windows over the
  ``year`` column, for hyper-parameter search inside the training seasons.

``splits(years)`` returns ``[(training years, test year), ...]`` sorted by test year.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from cropcast.checks import check_int
from cropcast.errors import CropcastError

__all__ = ["ExpandingWindow", "FixedHoldout", "LeaveOneYearOut", "Split", "YearSplitter"]

Split = tuple[list[int], int]


def _distinct_years(years: Iterable[object], who: str) -> list[int]:
    """Sorted distinct integer years (a year column with repeats is fine)."""
    values = pd.Series(list(years), dtype=object)
    if values.isna().any():
        raise CropcastError(f"{who}: years must not be missing; got {int(values.isna().sum())} "
                            "missing value(s). Hint: drop rows without a year first")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0)
    if bad.any():
        raise CropcastError(f"{who}: years must be integers; got {values[bad].iloc[0]!r}")
    return sorted({int(y) for y in numbers})


def _span(years: list[int]) -> str:
    """``2010-2012`` for consecutive years, else the list; ``none`` when empty."""
    if not years:
        return "no years"
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}" if len(years) > 1 else f"{years[0]}"
    return ", ".join(str(y) for y in years)


def _test_years(test_years: Iterable[int] | None, available: list[int], who: str) -> list[int]:
    if test_years is None:
        return available
    wanted = _distinct_years(test_years, f"{who} test_years")
    missing = [y for y in wanted if y not in available]
    if missing:
        raise CropcastError(f"{who}: test_years {missing} are not among the years given "
                            f"({_span(available)}); choose test years the data has")
    return wanted


class _YearSplits:
    """Shared parts: ``name``, ``uses_later_years``, ``__repr__``."""

    uses_later_years = False

    def _params(self) -> dict[str, object]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The splitter and its settings, e.g. ``ExpandingWindow(min_train_years=5)``."""
        shown = ", ".join(f"{k}={v!r}" for k, v in self._params().items() if v is not None)
        return f"{type(self).__name__}({shown})"

    def __repr__(self) -> str:
        return self.name

    def splits(self, years: Iterable[int]) -> list[Split]:  # pragma: no cover - abstract
        raise NotImplementedError


class ExpandingWindow(_YearSplits):
    """Train on every season before the test season.

    Parameters
    ----------
    min_train_years : int, default 5
        Fewest earlier seasons a test season needs.
    test_years : list of int, optional
        Test seasons; by default every season with at least ``min_train_years`` earlier
        seasons among the years given.
    """

    def __init__(self, min_train_years: int = 5, test_years: Iterable[int] | None = None):
        self.min_train_years = min_train_years
        self.test_years = test_years

    def _params(self) -> dict[str, object]:
        return {"min_train_years": self.min_train_years, "test_years": self.test_years}

    def splits(self, years: Iterable[int]) -> list[Split]:
        """``[(training years, test year), ...]`` sorted by test year.

        Raises
        ------
        CropcastError
            When no season (or a requested test season) has enough earlier seasons.
        """
        minimum = check_int(self.min_train_years, "min_train_years", 1,
                            hint="write e.g. cv.min_train_years=5")
        available = _distinct_years(years, self.name)
        if self.test_years is None and len(available) <= minimum:
            raise CropcastError(f"{self.name} needs at least {minimum + 1} years; got "
                                f"{_span(available)}. Hint: lower min_train_years or add "
                                "seasons")
        candidates = _test_years(self.test_years, available, self.name)
        out = []
        for test in candidates:
            train = [y for y in available if y < test]
            if len(train) >= minimum:
                out.append((train, test))
            elif self.test_years is not None:
                raise CropcastError(f"{self.name}: test year {test} has {len(train)} earlier "
                                    f"year(s) ({_span(train)}), fewer than min_train_years="
                                    f"{minimum}; drop it from test_years or lower "
                                    "min_train_years")
        return out


class LeaveOneYearOut(_YearSplits):
    """Train on every other season, later ones included (``uses_later_years`` is True).

    Parameters
    ----------
    test_years : list of int, optional
        Test seasons; by default every season given.
    """

    uses_later_years = True

    def __init__(self, test_years: Iterable[int] | None = None):
        self.test_years = test_years

    def _params(self) -> dict[str, object]:
        return {"test_years": self.test_years}

    def splits(self, years: Iterable[int]) -> list[Split]:
        """``[(every other year, test year), ...]`` sorted by test year.

        Raises
        ------
        CropcastError
            With fewer than two seasons.
        """
        available = _distinct_years(years, self.name)
        if len(available) < 2:
            raise CropcastError(f"{self.name} needs at least 2 years; got {_span(available)}")
        return [([y for y in available if y != test], test)
                for test in _test_years(self.test_years, available, self.name)]


# The splitters share their shape on purpose, as scikit-learn's do: __init__ stores the
# parameters, _params names them for repr and clone, splits() says what it raises.
class FixedHoldout(_YearSplits):
    """Train once on the seasons up to ``last_train_year``; test each later season.

    Parameters
    ----------
    last_train_year : int
        Last training season; every later season is a test season trained on the same
        seasons.
    """

    def __init__(self, last_train_year: int):
        self.last_train_year = last_train_year

    def _params(self) -> dict[str, object]:
        return {"last_train_year": self.last_train_year}

    def splits(self, years: Iterable[int]) -> list[Split]:
        """``[(years <= last_train_year, later year), ...]`` sorted by test year.

        Raises
        ------
        CropcastError
            When no season is on either side of ``last_train_year``.
        """
        last = check_int(self.last_train_year, "last_train_year",
                         hint="write e.g. cv.last_train_year=2015")
        available = _distinct_years(years, self.name)
        train = [y for y in available if y <= last]
        tests = [y for y in available if y > last]
        if not train or not tests:
            side = "up to" if not train else "after"
            raise CropcastError(f"{self.name} needs years {side} {last}; got "
                                f"{_span(available)}. Hint: choose last_train_year inside "
                                "the data's years")
        return [(list(train), test) for test in tests]


class YearSplitter(BaseCrossValidator):
    """Expanding-window CV over ``X["year"]`` for hyper-parameter search.

    The last ``n_splits`` distinct years are the test folds, in order; each is trained on
    the rows of earlier years only. Use it inside the training seasons of an outer split,
    e.g. ``GridSearchCV(model, grid, cv=YearSplitter(3))`` on a DataFrame with a ``year``
    column.

    Parameters
    ----------
    n_splits : int, default 3
        Number of test years (folds).
    """

    def __init__(self, n_splits: int = 3):
        self.n_splits = n_splits

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """The number of folds, ``n_splits``."""
        return check_int(self.n_splits, "n_splits", 1, hint="write e.g. n_splits=3")

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover - unused
        for _, test in self.split(X, y, groups):
            yield test

    def split(self, X: pd.DataFrame, y: object = None,
              groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train positions, test positions)`` for each of the last years.

        Parameters
        ----------
        X : DataFrame
            Rows to split; its ``year`` column groups them (or ``groups``, when X has no
            ``year`` column).
        y, groups : ignored unless X lacks ``year`` (then ``groups`` are the years).

        Raises
        ------
        CropcastError
            Without years, or with fewer than ``n_splits + 1`` distinct years.
        """
        n_splits = self.get_n_splits()
        if isinstance(X, pd.DataFrame) and "year" in X.columns:
            years = X["year"].to_numpy()
        elif groups is not None:
            years = np.asarray(groups)
        else:
            raise CropcastError("YearSplitter.split: X has no 'year' column and no groups "
                                "were given; pass a DataFrame with a year column (or "
                                "groups=years)")
        distinct = _distinct_years(years, f"YearSplitter(n_splits={n_splits})")
        if len(distinct) <= n_splits:
            raise CropcastError(f"YearSplitter(n_splits={n_splits}) needs at least "
                                f"{n_splits + 1} distinct years; got {_span(distinct)}. "
                                "Hint: lower n_splits")
        years = years.astype(np.int64)
        for test in distinct[-n_splits:]:
            yield np.flatnonzero(years < test), np.flatnonzero(years == test)
