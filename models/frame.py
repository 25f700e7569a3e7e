"""Split a model's input into its keys (region, year, parent) and its numeric features.

The models read ``X`` in one of two ways:

- a :class:`pandas.DataFrame` holding the key columns (the region and the year, and the
  parent region when the estimator names one) beside numeric feature columns (NaN
  allowed). Columns are found by name, so their order does not matter and extra columns
  are allowed at predict time.
- anything else (a numpy array, a list of lists): a purely numeric matrix, validated with
  :func:`sklearn.utils.check_array`, whose columns are all features named ``x0``,
  ``x1``, ... Such rows carry no keys: they are read as **one region with no year**, so
  region means become the overall mean and trends become constant. This is the form the
  scikit-learn conformance checks use; real data come as DataFrames.

y is read by position (a Series' index is not aligned with ``X``'s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.validation import column_or_1d

from cropcast.errors import CropcastError

__all__ = ["ARRAY_REGION", "Keys", "feature_frame", "read_rows", "read_target", "split_keys"]

#: The region every row of a keyless (array) input belongs to.
ARRAY_REGION = "<all rows>"


@dataclass(frozen=True)
class Keys:
    """The key columns of ``n`` rows, as arrays.

    Attributes
    ----------
    region : numpy.ndarray
        Region ids as ``str`` (object dtype), shape ``(n,)``.
    year : numpy.ndarray or None
        Years as float64, shape ``(n,)``; None when the input has no year (arrays).
    parent : numpy.ndarray or None
        Parent region ids as ``str`` (object dtype); None when no parent column is used.
    """

    region: np.ndarray
    year: np.ndarray | None
    parent: np.ndarray | None


def _missing(X: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    absent = [c for c in columns if c not in X.columns]
    if absent:
        raise CropcastError(
            f"X has no {role} column(s) {absent}; its columns are {list(map(str, X.columns))}. "
            "Rename the columns or set the estimator's region_column / year_column / "
            "parent_column / feature_columns to the names X uses."
        )


def _ids(X: pd.DataFrame, column: str) -> np.ndarray:
    values = X[column]
    if values.isna().any():
        rows = list(X.index[values.isna()][:5])
        raise CropcastError(f"Column {column!r} of X is missing in rows {rows} (first 5).")
    return values.astype(str).to_numpy(dtype=object)


def split_keys(
    X: pd.DataFrame, *, region_column: str, year_column: str, parent_column: str | None = None
) -> Keys:
    """Read the key columns of a DataFrame.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows keyed by region and year.
    region_column, year_column : str
        Names of the region id and year columns (both required).
    parent_column : str or None, default=None
        Name of the parent region column, if the estimator uses one.

    Returns
    -------
    Keys
        Region and parent ids as strings, years as float64.

    Raises
    ------
    CropcastError
        When a key column is absent (the message lists X's columns), holds missing
        values, or the year is not numeric.
    """
    names = [region_column, year_column] + ([parent_column] if parent_column is not None else [])
    _missing(X, names, "key")
    year = X[year_column]
    if not pd.api.types.is_numeric_dtype(year) or pd.api.types.is_bool_dtype(year):
        raise CropcastError(
            f"Year column {year_column!r} of X must be numeric (e.g. 2012); got dtype {year.dtype}."
        )
    years = year.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(years).all():
        rows = list(X.index[~np.isfinite(years)][:5])
        raise CropcastError(f"Year column {year_column!r} of X is missing in rows {rows}.")
    parent = _ids(X, parent_column) if parent_column is not None else None
    return Keys(region=_ids(X, region_column), year=years, parent=parent)


def _numeric(column: pd.Series) -> bool:
    """Numbers or booleans, or nothing at all (an all-missing column of any dtype)."""
    return pd.api.types.is_numeric_dtype(column) or bool(column.isna().all())


def feature_frame(
    X: pd.DataFrame, *, exclude: Sequence[str], feature_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The numeric feature matrix of ``X`` as a float64 DataFrame (NaN kept).

    Parameters
    ----------
    X : pandas.DataFrame
        Keys and features.
    exclude : sequence of str
        Key columns, never features.
    feature_columns : sequence of str or None, default=None
        The features, in this order. None takes every numeric (or boolean) column not in
        ``exclude``; non-numeric columns (e.g. a county name) are then left out. A column
        with no value at all counts as numeric (all NaN), whatever its dtype.

    Returns
    -------
    pandas.DataFrame
        The features, float64, with ``X``'s index.

    Raises
    ------
    CropcastError
        When a named feature is absent, is a key, or is not numeric; or when no feature
        is left.
    """
    if feature_columns is None:
        chosen = [c for c in X.columns if c not in exclude and _numeric(X[c])]
    else:
        chosen = list(feature_columns)
        _missing(X, chosen, "feature")
        keys = [c for c in chosen if c in exclude]
        if keys:
            raise CropcastError(f"feature_columns {keys} are key columns; leave them out.")
        text = [c for c in chosen if not _numeric(X[c])]
        if text:
            kinds = {str(c): str(X[c].dtype) for c in text}
            raise CropcastError(
                f"Feature columns must be numeric; {kinds} are not. Convert them to numbers "
                "or leave them out of feature_columns."
            )
    if not chosen:
        raise CropcastError(
            f"X has no numeric feature column besides the keys {list(exclude)}; its columns "
            f"are {list(map(str, X.columns))}."
        )
    data = {c: X[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in chosen}
    return pd.DataFrame(data, index=X.index, columns=chosen)


def _array_frame(X: Any, estimator: Any) -> pd.DataFrame:
    values = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", estimator=estimator)
    columns = [f"x{i}" for i in range(values.shape[1])]
    return pd.DataFrame(values.astype(np.float64, copy=False), columns=columns)


def read_rows(estimator: Any, X: Any, *, reset: bool) -> tuple[pd.DataFrame, Keys]:
    """Validate ``X`` for ``estimator.fit`` (``reset=True``) or ``predict``; read its keys.

    Sets (``reset=True``) or checks ``n_features_in_`` and ``feature_names_in_`` (the
    latter only for DataFrames), and reads the keys named by the estimator's
    ``region_column``, ``year_column`` and ``parent_column`` parameters. Arrays get a
    single region (:data:`ARRAY_REGION`), no year and no parent.

    Parameters
    ----------
    estimator : estimator
        Has ``region_column``, ``year_column`` and ``parent_column`` attributes.
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        The input.
    reset : bool
        True in ``fit``, False in ``predict``.

    Returns
    -------
    frame : pandas.DataFrame
        ``X`` itself, or the array as float64 columns ``x0``, ``x1``, ...
    keys : Keys
        The rows' keys.
    """
    name = type(estimator).__name__
    is_frame = isinstance(X, pd.DataFrame)
    if not reset and is_frame != hasattr(estimator, "feature_names_in_"):
        seen = "a DataFrame" if is_frame else "an array"
        fitted = "an array" if is_frame else "a DataFrame with key columns"
        raise CropcastError(f"{name} was fitted on {fitted}; predict got {seen}. Pass {fitted}.")
    if is_frame:
        if len(X) == 0:
            raise CropcastError(f"X has 0 rows; {name} needs at least one.")
        frame = X
        keys = split_keys(
            X,
            region_column=estimator.region_column,
            year_column=estimator.year_column,
            parent_column=estimator.parent_column,
        )
    else:
        frame = _array_frame(X, estimator)
        keys = Keys(region=np.full(len(frame), ARRAY_REGION, dtype=object), year=None, parent=None)
    if reset:
        estimator.n_features_in_ = frame.shape[1]
        if is_frame:
            estimator.feature_names_in_ = np.asarray(frame.columns, dtype=object)
    elif not is_frame and frame.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {frame.shape[1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return frame, keys


def read_target(estimator: Any, y: Any, n_rows: int) -> np.ndarray:
    """Validate the target: finite numbers, one per row of ``X``, as float64.

    A column vector of shape ``(n, 1)`` is raveled with a ``DataConversionWarning``, as
    scikit-learn does.
    """
    name = type(estimator).__name__
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    values = check_array(
        column_or_1d(y, warn=True), ensure_2d=False, dtype=np.float64, input_name="y"
    )
    if len(values) != n_rows:
        raise CropcastError(f"y has {len(values)} values but X has {n_rows} rows; they must match.")
    return values
