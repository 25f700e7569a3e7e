"""Trend plus residual: a per-region trend, and a regressor of its residuals on the features.

``prediction = trend(region, year) + regressor(features)``: the trend carries the region's
level and technology gain, the regressor the season's departure from it (vegetation,
weather). Both are fitted on the training rows only.

A trend fitted straight on yields takes the weather of its few training seasons for
technology: a drought near the end of the record tilts every slope down. Backfitting
(``backfit_rounds``) fits the trend on yields with a weather model's estimate of each
season's departure removed, alternating a few times (Hastie & Tibshirani's backfitting
for additive models); ``relative`` models the departure as a share of the trend, as
weather stress acts on yields.

:func:`default_regressor` is the ridge pipeline used when no regressor is given;
:func:`averaged` makes one regressor of several (their mean prediction), as
``model=lgbm_ridge`` does with LightGBM and ridge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import VotingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from cropcast.errors import CropcastError
from cropcast.models.base import check_param_int
from cropcast.models.baselines import RegionTrend
from cropcast.models.frame import feature_frame, read_rows, read_target

__all__ = ["TrendResidualRegressor", "averaged", "default_regressor"]

_KEYS = ("region_column", "year_column", "parent_column")


def default_regressor(alpha: float = 1.0) -> Pipeline:
    """The residual regressor used when none is given.

    Median imputation (NaN features are common: imagery not yet available), scaling,
    then ridge regression with penalty ``alpha``.
    """
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("ridge", Ridge(alpha=alpha)),
        ]
    )


def averaged(regressors: Mapping[str, Any]) -> VotingRegressor:
    """The mean of several regressors' predictions: scikit-learn's ``VotingRegressor`` over
    the named, unfitted regressors (in the mapping's order), e.g. the residual regressor of
    ``model=lgbm_ridge``.

    Parameters
    ----------
    regressors : mapping of str to regressor
        ``{"lgbm": LGBMRegressor(...), "ridge": make_pipeline(...)}``.
    """
    if not regressors:
        raise CropcastError("averaged needs at least one regressor, e.g. "
                            "{lgbm: {_target_: lightgbm.LGBMRegressor}}; got none")
    return VotingRegressor(list(regressors.items()))


class TrendResidualRegressor(RegressorMixin, BaseEstimator):
    """A region trend plus a regressor of the trend's residuals on the numeric features.

    ``fit`` clones and fits ``trend`` on the training rows, then clones and fits
    ``regressor`` on the features to predict ``y - trend.predict(X)``; ``predict`` adds the
    two (``relative``: multiplies; ``backfit_rounds``: the trend is fitted on yields with
    the weather's departure removed). ``X`` is read as in :mod:`cropcast.models.frame` (for
    arrays: a constant trend, every column a feature).

    The key columns are set here once: ``region_column``, ``year_column`` and
    ``parent_column`` are passed to the trend's clone (overriding the trend's own values)
    when the trend has those parameters, and are never features.

    Parameters
    ----------
    trend : estimator or None, default=None
        The trend model; None means :class:`cropcast.models.baselines.RegionTrend` ``()``.
    regressor : estimator or None, default=None
        The residual model, fitted on a float DataFrame of the features (NaN kept). None
        means :func:`default_regressor` (median imputer, scaler, ridge). LightGBM's
        ``LGBMRegressor`` handles NaN itself; estimators that do not (e.g.
        ``RandomForestRegressor``) must be wrapped in a ``Pipeline`` with a
        ``SimpleImputer`` first.
    feature_columns : list of str or None, default=None
        The features. None takes every numeric column of ``X`` that is not a key
        (non-numeric columns are left out); ``feature_columns_`` tells which.
    region_column, year_column : str, default="region_id", "year"
        Key columns of ``X``.
    parent_column : str or None, default=None
        Parent region column, passed to the trend.
    relative : bool, default=False
        Model the departure as a share of the trend: ``regressor`` learns
        ``y / trend - 1`` and ``predict`` returns ``trend * (1 + regressor)``. Needs a
        positive trend on the training rows.
    backfit_rounds : int, default=0
        Rounds of backfitting (>= 0). Each round fits the trend on the yields with the
        current weather departure removed, then ``backfit_regressor`` on the departures
        from that trend; the final trend is fitted on the yields less the last round's
        departure, and ``regressor`` on the departures from it. 0 fits the trend on the
        yields as they are.
    backfit_regressor : estimator or None, default=None
        The weather model of backfitting, fitted in-sample each round, so it should be
        simple (None: :func:`default_regressor`, a ridge regression). The steps before
        the last of a ``Pipeline`` are fitted once, unless one of them needs the target.
    backfit_columns : list of str or None, default=None
        Columns of ``X`` for the trend only: the backfitting weather model sees them
        (None: every feature) and the residual regressor does not. A few agronomic
        stress indices of the *training* seasons, complete by the forecast date (e.g.
        ``final_wx_edd_tt_flowering`` of
        :func:`cropcast.features.store.matrix.as_of_matrix`), separate each season's weather
        from the technology trend better than a hundred correlated in-season values, which a
        ridge shrinks and partly leaves in the trend. Those that are not columns of ``X``
        (or hold no value in training) are skipped; when none is, the backfitting sees
        every feature. ``backfit_columns_`` tells which it saw.

    Attributes
    ----------
    trend_ : estimator
        The fitted trend.
    regressor_ : estimator
        The fitted residual regressor.
    feature_columns_ : list of str
        The residual regressor's features, in order (array input: ``x0``, ``x1``, ...).
    backfit_columns_ : list of str
        The columns the backfitting weather model saw (when ``backfit_rounds`` > 0).
    dropped_columns_ : list of str
        Features with no value at all in training: dropped, and ignored at predict.
    n_features_in_ : int
        Number of columns of ``X`` at fit.
    feature_names_in_ : numpy.ndarray
        Column names of ``X`` at fit (DataFrames only).
    """

    def __init__(
        self,
        trend: Any = None,
        regressor: Any = None,
        feature_columns: Sequence[str] | None = None,
        *,
        region_column: str = "region_id",
        year_column: str = "year",
        parent_column: str | None = None,
        relative: bool = False,
        backfit_rounds: int = 0,
        backfit_regressor: Any = None,
        backfit_columns: Sequence[str] | None = None,
    ) -> None:
        # scikit-learn's contract: __init__ stores its arguments as given (get_params and
        # clone read them back), so every estimator here repeats these lines.
        self.trend = trend
        self.regressor = regressor
        self.feature_columns = feature_columns
        self.region_column = region_column
        self.year_column = year_column
        self.parent_column = parent_column
        self.relative = relative
        self.backfit_rounds = backfit_rounds
        self.backfit_regressor = backfit_regressor
        self.backfit_columns = backfit_columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The default pipeline imputes first; scikit-learn's Pipeline does not say so in
        # its own tags. Any other regressor speaks for itself.
        regressor = self.regressor
        allow_nan = regressor is None or get_tags(regressor).input_tags.allow_nan
        tags.input_tags.allow_nan = allow_nan
        return tags

    def _keys(self) -> list[str]:
        return [getattr(self, k) for k in _KEYS if getattr(self, k) is not None]

    def fit(self, X: Any, y: Any) -> TrendResidualRegressor:
        """Fit the trend, then the regressor on its residuals; return self.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Training rows: keys and features.
        y : array-like of shape (n_samples,)
            Yields (bu/acre), by position.

        Returns
        -------
        TrendResidualRegressor
            The fitted estimator.
        """
        if self.feature_columns is not None and (
            isinstance(self.feature_columns, str)
            or not all(isinstance(c, str) for c in self.feature_columns)
        ):
            raise CropcastError(
                "The 'feature_columns' parameter of TrendResidualRegressor must be a list "
                f"of column names (str) or None. Got {self.feature_columns!r} instead."
            )
        frame, _ = read_rows(self, X, reset=True)
        target = read_target(self, y, len(frame))
        features = feature_frame(frame, exclude=self._keys(), feature_columns=self.feature_columns)
        empty = features.isna().all()
        self.dropped_columns_ = [str(c) for c in features.columns[empty]]
        self.feature_columns_ = [str(c) for c in features.columns[~empty]]
        if not self.feature_columns_:
            raise CropcastError(
                "Every feature column of X is empty (all NaN) in training: "
                f"{self.dropped_columns_}."
            )
        check_param_int(self, "backfit_rounds", self.backfit_rounds, 0)
        if not isinstance(self.relative, bool | np.bool_):
            raise CropcastError("The 'relative' parameter of TrendResidualRegressor must be "
                                f"a bool. Got {self.relative!r} instead.")
        usable = features[self.feature_columns_]
        backfit = self._backfit_features(usable)
        trend_only = [c for c in self.backfit_columns or [] if c in usable.columns]
        self.feature_columns_ = [c for c in self.feature_columns_ if c not in trend_only]
        if not self.feature_columns_:
            raise CropcastError(
                f"Every feature of X is one of backfit_columns ({trend_only}), which are for "
                "the trend only; the residual regressor needs other features.")
        features = usable[self.feature_columns_]
        adjusted = target
        if self.backfit_rounds:
            weather, design = self._weather_design(backfit)
        for _ in range(int(self.backfit_rounds)):
            departure = self._departure(target, self._fit_trend(X, adjusted).predict(X))
            effect = clone(weather).fit(design, departure).predict(design)
            adjusted = self._without(target, np.asarray(effect, dtype=np.float64).ravel())
        self.trend_ = self._fit_trend(X, adjusted)
        residual = self._departure(target, self.trend_.predict(X))
        regressor = default_regressor() if self.regressor is None else self.regressor
        self.regressor_ = clone(regressor)
        self.regressor_.fit(features, residual)
        return self

    def _backfit_features(self, features: Any) -> Any:
        """The columns of ``features`` the backfitting sees; sets ``backfit_columns_``."""
        columns = self.backfit_columns
        if columns is not None and (isinstance(columns, str) or not len(columns)
                                    or not all(isinstance(c, str) for c in columns)):
            raise CropcastError(
                "The 'backfit_columns' parameter of TrendResidualRegressor must be a "
                f"non-empty list of column names (str) or None. Got {columns!r} instead.")
        present = [c for c in columns or [] if c in features.columns]
        self.backfit_columns_ = present or [str(c) for c in features.columns]
        return features[self.backfit_columns_]

    def _weather_design(self, features: Any) -> tuple[Any, Any]:
        """The backfitting model and its input: a Pipeline's target-free preprocessing
        (imputer, scaler) is fitted once, not every round."""
        weather = default_regressor() if self.backfit_regressor is None else self.backfit_regressor
        if isinstance(weather, Pipeline) and len(weather.steps) > 1 and not any(
                get_tags(step).target_tags.required for _, step in weather.steps[:-1]):
            return weather[-1], clone(weather[:-1]).fit_transform(features)
        return weather, features

    def _fit_trend(self, X: Any, y: np.ndarray) -> Any:
        trend = clone(RegionTrend() if self.trend is None else self.trend)
        own = trend.get_params(deep=False)
        trend.set_params(**{k: getattr(self, k) for k in _KEYS if k in own})
        return trend.fit(X, y)

    def _departure(self, y: np.ndarray, trend: Any) -> np.ndarray:
        """The season's departure from the trend: bu/acre, or a share of the trend."""
        trend = np.asarray(trend, dtype=np.float64)
        if not self.relative:
            return y - trend
        if not (trend > 0).all():
            at = int(np.flatnonzero(~(trend > 0))[0])
            raise CropcastError(
                f"TrendResidualRegressor(relative=True) needs a positive trend on every "
                f"training row; row {at} has trend {trend[at]!r}. Use relative=False or a "
                "trend that stays positive (e.g. more shrinkage toward the parent slope)."
            )
        return y / trend - 1.0

    def _without(self, y: np.ndarray, effect: np.ndarray) -> np.ndarray:
        """Yields with a departure removed (the inverse of :meth:`_departure`)."""
        if not self.relative:
            return y - effect
        # A share below -95% would divide by almost nothing: such a season says little
        # about the trend anyway.
        return y / (1.0 + np.maximum(effect, -0.95))

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``trend + regressor`` for each row of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the keys and at least the ``feature_columns_``.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Predicted yields.
        """
        # The predict contract of every estimator here (scikit-learn's boilerplate).
        check_is_fitted(self)
        frame, _ = read_rows(self, X, reset=False)
        features = feature_frame(frame, exclude=self._keys(), feature_columns=self.feature_columns_)
        trend = np.asarray(self.trend_.predict(X), dtype=np.float64)
        departure = np.asarray(self.regressor_.predict(features), dtype=np.float64).ravel()
        return trend * (1.0 + departure) if self.relative else trend + departure
