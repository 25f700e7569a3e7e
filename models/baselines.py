"""Naive baselines: a region's mean yield, its recent mean, and its linear trend.

Every estimator reads ``X`` as described in :mod:`cropcast.models.frame`: a DataFrame keyed by
``region_column`` and ``year_column`` (optionally ``parent_column``), whose feature
columns these baselines ignore; or a numeric array, read as one region without years (so
each baseline predicts one constant). A region absent from training falls back to its
parent's value (when ``parent_column`` is set and the parent was seen), else to the value
over all training rows.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from cropcast.errors import CropcastError
from cropcast.models.base import RegionModel, cascade, check_param_int, last_years, split_by
from cropcast.models.frame import read_rows
from cropcast.models.lines import center, pooled_slope, slope

__all__ = ["RecentMean", "RegionMean", "RegionTrend"]


class RegionMean(RegionModel):
    """Each region's mean training yield.

    Parameters
    ----------
    region_column, year_column : str, default="region_id", "year"
        Key columns of ``X`` (see :mod:`cropcast.models.frame`).
    parent_column : str or None, default=None
        Parent region column (e.g. ``state_fips``): an unseen region gets its parent's
        mean (over all the parent's training rows). Without it, the overall mean.

    Attributes
    ----------
    region_means_ : pandas.Series
        Mean yield by region id.
    parent_means_ : pandas.Series
        Mean yield by parent id (empty without ``parent_column``).
    mean_ : float
        Mean of all training yields.
    n_features_in_ : int
        Number of columns of ``X`` at fit.
    feature_names_in_ : numpy.ndarray
        Column names of ``X`` at fit (DataFrames only).
    """

    def __init__(
        self,
        *,
        region_column: str = "region_id",
        year_column: str = "year",
        parent_column: str | None = None,
    ) -> None:
        # scikit-learn's contract: __init__ stores its arguments as given (get_params and
        # clone read them back), so every estimator here repeats these lines.
        self.region_column = region_column
        self.year_column = year_column
        self.parent_column = parent_column

    def fit(self, X: Any, y: Any) -> RegionMean:
        """Learn the means from the training rows ``X`` and yields ``y``; return self."""
        self._means(self._table(X, y), None)
        return self


class RecentMean(RegionModel):
    """Mean yield of each region's ``n_years`` latest training years.

    The latest years are those present in the training rows for that region (a region
    last seen in 2015 uses 2011-2015 with ``n_years=5``). The parent fallback takes the
    parent's ``n_years`` latest years, the overall fallback the latest ``n_years`` of all
    training rows. Without years (array input) every row counts.

    Parameters
    ----------
    n_years : int, default=5
        Number of latest training years averaged (>= 1).
    region_column, year_column, parent_column
        As in :class:`RegionMean`.

    Attributes
    ----------
    region_means_, parent_means_, mean_, n_features_in_, feature_names_in_
        As in :class:`RegionMean`, over the latest years only.
    """

    def __init__(
        self,
        n_years: int = 5,
        *,
        region_column: str = "region_id",
        year_column: str = "year",
        parent_column: str | None = None,
    ) -> None:
        # scikit-learn's contract: __init__ stores its arguments as given (get_params and
        # clone read them back), so every estimator here repeats these lines.
        self.n_years = n_years
        self.region_column = region_column
        self.year_column = year_column
        self.parent_column = parent_column

    def fit(self, X: Any, y: Any) -> RecentMean:
        """Learn the recent means from ``X`` and ``y``; return self."""
        check_param_int(self, "n_years", self.n_years, 1)
        self._means(self._table(X, y), int(self.n_years))
        return self


class RegionTrend(RegionModel):
    """A linear trend ``yield = intercept + slope * year`` per region, fitted on training rows.

    Slopes and levels come from the training rows only, so predicting a later year
    extrapolates the line. Each region's slope is its own line's, pulled toward its
    parent's slope by ``shrinkage``::

        slope = (n * region_slope + shrinkage * parent_slope) / (n + shrinkage)

    with ``n`` the region's number of distinct training years; the intercept is then
    re-solved so the line passes through the region's mean point (median of
    ``y - slope * year`` when ``robust``). A region with fewer than ``min_years`` years
    takes the parent slope through its own mean point. The parent slope is the within
    slope of all the parent's regions (:func:`cropcast.models.lines.pooled_slope`: regions keep
    their own levels); without ``parent_column`` it is the pooled within slope of all
    regions. Unseen regions get their parent's line (slope through the parent's mean
    point), else the pooled line. Without years (array input) the model is a constant.

    Parameters
    ----------
    robust : bool, default=False
        Theil-Sen (median of pairwise slopes, median level) instead of OLS: one wild year
        (drought, flood) does not tilt the line. Deterministic.
    shrinkage : float, default=0.0
        Pseudo-years of the parent slope mixed into each region's slope (>= 0; 0 keeps
        the region's own slope).
    min_years : int, default=5
        Fewest distinct training years for a region's own slope (>= 2).
    max_years : int or None, default=None
        Keep only each region's latest ``max_years`` training years (>= 2); None keeps
        them all.
    stale_years : int or None, default=None
        A region whose latest training year lies more than ``stale_years`` (>= 1) before
        the predicted year gets the fallback slope (parent's, else pooled) through its own
        mean point instead of its own line: a county last published decades ago is not
        extrapolated along a slope from a handful of old seasons. None never does this.
    region_column, year_column, parent_column
        As in :class:`RegionMean`.

    Attributes
    ----------
    coef_ : pandas.DataFrame
        One row per training region (index named ``region_column``): ``n_years``,
        ``slope``, ``intercept`` (at year 0), ``source`` (``region``: own slope, shrunk
        if ``shrinkage`` > 0; ``parent`` / ``pooled``: fallback slope), ``last_year``,
        ``fallback_slope`` and ``fallback_intercept`` (the line used once stale, see
        ``stale_years``), and the parent id when ``parent_column`` is set.
    parent_coef_ : pandas.DataFrame
        ``n_years``, ``slope``, ``intercept`` by parent (empty without ``parent_column``).
    pooled_slope_, pooled_intercept_ : float
        The pooled line over all regions.
    n_features_in_, feature_names_in_
        As in :class:`RegionMean`.
    """

    def __init__(
        self,
        robust: bool = False,
        shrinkage: float = 0.0,
        min_years: int = 5,
        max_years: int | None = None,
        stale_years: int | None = None,
        *,
        region_column: str = "region_id",
        year_column: str = "year",
        parent_column: str | None = None,
    ) -> None:
        # scikit-learn's contract: __init__ stores its arguments as given (get_params and
        # clone read them back), so every estimator here repeats these lines.
        self.robust = robust
        self.shrinkage = shrinkage
        self.min_years = min_years
        self.max_years = max_years
        self.stale_years = stale_years
        self.region_column = region_column
        self.year_column = year_column
        self.parent_column = parent_column

    def _check_params(self) -> None:
        k = self.shrinkage
        if not isinstance(k, numbers.Real) or isinstance(k, bool) or not 0 <= k < np.inf:
            raise CropcastError(
                "The 'shrinkage' parameter of RegionTrend must be a float in the range "
                f"[0.0, inf). Got {k!r} instead."
            )
        check_param_int(self, "min_years", self.min_years, 2)
        check_param_int(self, "max_years", self.max_years, 2, none=True)
        check_param_int(self, "stale_years", self.stale_years, 1, none=True)
        if not isinstance(self.robust, bool | np.bool_):
            raise CropcastError(
                f"The 'robust' parameter of RegionTrend must be a bool. Got {self.robust!r}."
            )

    def _level(self, rows: dict[str, np.ndarray], b: float) -> float:
        return center(rows["y"] - b * rows["year"], bool(self.robust))

    def fit(self, X: Any, y: Any) -> RegionTrend:
        """Fit every region's line on the training rows ``X``, ``y``; return self."""
        self._check_params()
        table = self._table(X, y)
        table = table[last_years(table, self.max_years, "region")]
        parents = table.groupby("region", sort=False)["parent"].nunique()
        if (parents > 1).any():
            r = parents.index[parents > 1][0]
            values = list(dict.fromkeys(table.loc[table["region"] == r, "parent"]))
            raise CropcastError(
                f"Region {r!r} has {len(values)} values in parent column "
                f"{self.parent_column!r} ({values[:5]}); a region needs one parent."
            )
        coef, parent_rows = (self._fit_robust(table) if self.robust
                             else self._fit_ols(table))
        columns = [self.region_column, "parent", "n_years", "slope", "intercept", "source",
                   "last_year", "fallback_slope", "fallback_intercept"]
        coef = pd.DataFrame(coef, columns=columns).set_index(self.region_column)
        if self.parent_column is None:
            self.coef_ = coef.drop(columns="parent")
        else:
            self.coef_ = coef.rename(columns={"parent": self.parent_column})
        self.parent_coef_ = pd.DataFrame(
            parent_rows, columns=["parent", "n_years", "slope", "intercept"]
        ).set_index("parent")
        return self

    def _fit_ols(self, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Least-squares lines from per-region moments, vectorised (no loop over regions)."""
        k = float(self.shrinkage)
        by_region = table.groupby("region", sort=True)
        centred = table.assign(
            dt=table["year"] - by_region["year"].transform("mean"),
            dy=table["y"] - by_region["y"].transform("mean"))
        centred = centred.assign(sxy=centred["dt"] * centred["dy"], sxx=centred["dt"] ** 2)
        regions = centred.groupby("region", sort=True).agg(
            parent=("parent", "first"), n_years=("year", "nunique"), year=("year", "mean"),
            y=("y", "mean"), sxy=("sxy", "sum"), sxx=("sxx", "sum"), last=("year", "max"))

        def within(moments: pd.DataFrame) -> float:
            sxx = moments["sxx"].sum()
            return float(moments["sxy"].sum() / sxx) if sxx > 0 else float("nan")

        pooled = within(regions)
        self.pooled_slope_ = 0.0 if np.isnan(pooled) else pooled
        self.pooled_intercept_ = float(table["y"].mean() - self.pooled_slope_
                                       * table["year"].mean())
        parent_rows = pd.DataFrame(columns=["parent", "n_years", "slope", "intercept"])
        slope_of_parent = pd.Series(self.pooled_slope_, index=regions.index)
        if self.parent_column is not None:
            parent_slope = regions.groupby("parent", sort=True)[["sxy", "sxx"]].sum()
            parent_slope = (parent_slope["sxy"] / parent_slope["sxx"]).where(
                parent_slope["sxx"] > 0).fillna(self.pooled_slope_)
            by_parent = table.groupby("parent", sort=True).agg(
                n_years=("year", "nunique"), year=("year", "mean"), y=("y", "mean"))
            parent_rows = pd.DataFrame({
                "parent": by_parent.index, "n_years": by_parent["n_years"].to_numpy(),
                "slope": parent_slope.to_numpy(),
                "intercept": (by_parent["y"] - parent_slope * by_parent["year"]).to_numpy()})
            slope_of_parent = regions["parent"].map(parent_slope)
        own = regions["n_years"] >= self.min_years
        n = regions["n_years"]
        shrunk = (n * regions["sxy"] / regions["sxx"] + k * slope_of_parent) / (n + k)
        b = shrunk.where(own, slope_of_parent)
        fallback = "parent" if self.parent_column is not None else "pooled"
        coef = pd.DataFrame({
            self.region_column: regions.index, "parent": regions["parent"].to_numpy(),
            "n_years": n.to_numpy(), "slope": b.to_numpy(),
            "intercept": (regions["y"] - b * regions["year"]).to_numpy(),
            "source": np.where(own, "region", fallback), "last_year": regions["last"].to_numpy(),
            "fallback_slope": slope_of_parent.to_numpy(),
            "fallback_intercept": (regions["y"] - slope_of_parent * regions["year"]).to_numpy()})
        return coef, parent_rows

    def _fit_robust(self, table: pd.DataFrame) -> tuple[list, list]:
        """Theil-Sen lines, region by region."""
        robust, k = True, float(self.shrinkage)
        regions = split_by(table, "region")
        series = {r: (g["year"], g["y"]) for r, g in regions.items()}
        pooled = pooled_slope(list(series.values()), robust)
        self.pooled_slope_ = 0.0 if np.isnan(pooled) else pooled
        everything = {c: table[c].to_numpy() for c in ("year", "y")}
        self.pooled_intercept_ = self._level(everything, self.pooled_slope_)
        parent_slopes, parent_rows = {}, []
        if self.parent_column is not None:
            for p, g in split_by(table, "parent").items():
                b = pooled_slope([series[r] for r in dict.fromkeys(g["region"])], robust)
                parent_slopes[p] = self.pooled_slope_ if np.isnan(b) else b
                n = len(np.unique(g["year"]))
                parent_rows.append((p, n, parent_slopes[p], self._level(g, parent_slopes[p])))
        rows = []
        for r, g in regions.items():
            parent = g["parent"][0]
            b = parent_slopes.get(parent, self.pooled_slope_)
            source = "parent" if self.parent_column is not None else "pooled"
            n = len(np.unique(g["year"]))
            if n >= self.min_years:
                own = slope(*series[r], robust)
                b, source = (n * own + k * b) / (n + k), "region"
            fallback = parent_slopes.get(parent, self.pooled_slope_)
            rows.append((r, parent, n, b, self._level(g, b), source, g["year"].max(), fallback,
                         self._level(g, fallback)))
        return rows, parent_rows

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``intercept + slope * year`` for each row of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows keyed like the training rows; any year (later years extrapolate).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Predicted yields.
        """
        # The predict contract of every estimator here (scikit-learn's boilerplate).
        check_is_fitted(self)
        _, keys = read_rows(self, X, reset=False)
        line = ["intercept", "slope"]
        by_parent = self.parent_coef_[line] if self.parent_column is not None else None
        pooled = [self.pooled_intercept_, self.pooled_slope_]
        a, b = cascade(keys, self.coef_[line], by_parent, pooled).T
        if self.stale_years is not None and keys.year is not None:
            known = self.coef_.reindex(pd.Index(keys.region, dtype=object))
            stale = (np.asarray(keys.year, dtype=float) - known["last_year"].to_numpy(float)
                     > self.stale_years)  # NaN (unseen region) compares False
            a = np.where(stale, known["fallback_intercept"].to_numpy(float), a)
            b = np.where(stale, known["fallback_slope"].to_numpy(float), b)
        return a + b * (keys.year if keys.year is not None else 0.0)
