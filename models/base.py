"""Plumbing shared by the region models: parameter checks, key fallbacks, the training table.

The layer under :mod:`cropcast.models.baselines` and :mod:`cropcast.models.residual`:
``__all__`` lists what they (and the tests) import from it. The package's API for users is
:mod:`cropcast.models`' ``__all__``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from cropcast.checks import is_integer
from cropcast.errors import CropcastError
from cropcast.models.frame import Keys, read_rows, read_target

__all__ = ["RegionModel", "cascade", "check_param_int", "last_years", "split_by"]


def check_param_int(owner: object, name: str, value: Any, low: int, none: bool = False) -> None:
    """Raise unless parameter ``name`` of estimator ``owner`` is an int >= ``low`` (or None
    when ``none``), in scikit-learn's words: "The 'n_years' parameter of RecentMean must
    be an int >= 1. Got 0 instead." """
    if none and value is None:
        return
    if not is_integer(value) or value < low:
        allowed = f"an int >= {low}" + (" or None" if none else "")
        raise CropcastError(f"The {name!r} parameter of {type(owner).__name__} must be "
                            f"{allowed}. Got {value!r} instead.")


def cascade(
    keys: Keys, by_region: pd.DataFrame, by_parent: pd.DataFrame | None, overall: list[float]
) -> np.ndarray:
    """Each row's values: its region's row, else its parent's, else ``overall``."""
    found = by_region.reindex(pd.Index(keys.region, dtype=object))
    out = np.array(found.to_numpy(dtype=np.float64), copy=True)  # writable under copy-on-write
    if by_parent is not None and keys.parent is not None:
        miss = np.isnan(out).any(axis=1)
        parents = pd.Index(keys.parent[miss], dtype=object)
        out[miss] = by_parent.reindex(parents).to_numpy(dtype=np.float64)
    out[np.isnan(out).any(axis=1)] = overall
    return out


def last_years(table: pd.DataFrame, n: int | None, by: str | None) -> pd.Series:
    """Mask of the rows in the ``n`` latest distinct years of their ``by`` group (all if None)."""
    if n is None:
        return pd.Series(True, index=table.index)
    years = table.groupby(by)["year"] if by is not None else table["year"]
    return years.rank(method="dense", ascending=False) <= n


def split_by(table: pd.DataFrame, by: str) -> dict[str, dict[str, np.ndarray]]:
    """The rows of each ``by`` value (in sorted order) as arrays by column; row order kept."""
    ordered = table.sort_values(by, kind="stable")
    keys = ordered[by].to_numpy(dtype=object)
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    columns = {c: ordered[c].to_numpy() for c in ordered.columns}
    bounds = zip(np.r_[0, cuts], np.r_[cuts, len(keys)], strict=True)
    return {keys[a]: {c: v[a:b] for c, v in columns.items()} for a, b in bounds}


class RegionModel(RegressorMixin, BaseEstimator):
    """Shared plumbing: key validation, the training table, tags."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # features are never read
        tags.regressor_tags.poor_score = True  # keys only: arrays give a constant
        return tags

    def _table(self, X: Any, y: Any) -> pd.DataFrame:
        for name in ("region_column", "year_column", "parent_column"):
            value = getattr(self, name)
            if not isinstance(value, str) and not (name == "parent_column" and value is None):
                allowed = "a column name (str)" + (" or None" if name == "parent_column" else "")
                raise CropcastError(
                    f"The {name!r} parameter of {type(self).__name__} must be {allowed}. "
                    f"Got {value!r} instead."
                )
        frame, keys = read_rows(self, X, reset=True)
        n = len(frame)
        return pd.DataFrame(
            {
                "region": keys.region,
                "parent": keys.parent if keys.parent is not None else np.full(n, "", object),
                "year": keys.year if keys.year is not None else np.zeros(n),
                "y": read_target(self, y, n),
            }
        )

    def _means(self, table: pd.DataFrame, n_years: int | None) -> None:
        recent = table[last_years(table, n_years, "region")]
        self.region_means_ = recent.groupby("region")["y"].mean().rename_axis(self.region_column)
        parents = table[last_years(table, n_years, "parent")].groupby("parent")["y"].mean()
        self.parent_means_ = parents if self.parent_column is not None else parents.iloc[:0]
        self.mean_ = float(table.loc[last_years(table, n_years, None), "y"].mean())

    def predict(self, X: Any) -> np.ndarray:
        """Predict yields for the rows of ``X`` (see the class docstring).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows keyed like the training rows.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Predicted yields.
        """
        # The predict contract of every estimator here (scikit-learn's boilerplate).
        check_is_fitted(self)
        _, keys = read_rows(self, X, reset=False)
        by_parent = self.parent_means_.to_frame() if self.parent_column is not None else None
        return cascade(keys, self.region_means_.to_frame(), by_parent, [self.mean_])[:, 0]
