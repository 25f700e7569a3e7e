"""Straight lines through yield series: OLS or Theil-Sen, per group and pooled within groups.

Pure numpy on float arrays; no estimator state. :class:`cropcast.models.baselines.RegionTrend` is
built on these.

- ``ols``: least squares.
- ``theil-sen``: Sen's slope, the median of the slopes between every pair of points with
  different years (robust up to ~29% outliers, deterministic, no iterations); the level is
  then the median of ``y - slope * year`` instead of the mean.

A slope is NaN when it is undefined (fewer than two distinct years).
"""

from __future__ import annotations

import numpy as np

__all__ = ["center", "pair_slopes", "pooled_slope", "slope"]


def center(values: np.ndarray, robust: bool) -> float:
    """The mean of ``values``, or their median when ``robust``."""
    return float(np.median(values) if robust else np.mean(values))


def pair_slopes(year: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The slopes between every pair of points whose years differ (Theil-Sen's inputs)."""
    i, j = np.triu_indices(len(year), k=1)
    dt = year[j] - year[i]
    keep = dt != 0
    return (y[j] - y[i])[keep] / dt[keep]


def _moments(year: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    dt = year - year.mean()
    return float(dt @ (y - y.mean())), float(dt @ dt)


def slope(year: np.ndarray, y: np.ndarray, robust: bool) -> float:
    """The slope of one series (OLS, or Sen's slope when ``robust``); NaN if undefined.

    Examples
    --------
    >>> slope(np.array([2000.0, 2001.0, 2002.0]), np.array([1.0, 3.0, 5.0]), robust=False)
    2.0
    """
    if robust:
        pairs = pair_slopes(year, y)
        return float(np.median(pairs)) if len(pairs) else float("nan")
    sxy, sxx = _moments(year, y)
    return sxy / sxx if sxx > 0 else float("nan")


def pooled_slope(groups: list[tuple[np.ndarray, np.ndarray]], robust: bool) -> float:
    """One slope shared by several series, each keeping its own level.

    OLS: the within (fixed-effects) slope ``sum(Sxy_g) / sum(Sxx_g)``, i.e. the average of
    the series' slopes weighted by their spread of years. Robust: the median of the
    within-series pair slopes of all series together. Levels never leak into the slope,
    so a high-yield region observed only in late years does not tilt it.

    Parameters
    ----------
    groups : list of (year, y) pairs
        The series.
    robust : bool
        Theil-Sen instead of OLS.

    Returns
    -------
    float
        The slope; NaN if no series has two distinct years.
    """
    if robust:
        pairs = [pair_slopes(t, v) for t, v in groups]
        pooled = np.concatenate(pairs) if pairs else np.empty(0)
        return float(np.median(pooled)) if len(pooled) else float("nan")
    moments = np.array([_moments(t, v) for t, v in groups]).reshape(-1, 2)
    sxy, sxx = moments.sum(axis=0)
    return float(sxy / sxx) if sxx > 0 else float("nan")
