"""Split-conformal prediction intervals: a half-width from held-out residuals.

With ``n`` residuals of a model on rows it was not fitted on (a calibration set, or the
out-of-fold predictions of a backtest), the ``ceil((n + 1) * level)``-th smallest absolute
residual is a half-width whose interval covers a new, exchangeable row's truth with
probability at least ``level`` (Vovk et al. 2005; Lei et al. 2018).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from cropcast.errors import CropcastError

__all__ = ["conformal_halfwidth", "intervals"]

# (n + 1) * level is computed in floating point: 10 * 0.7 is 7.000000000000001, whose
# ceiling would skip a rank. A product within this of an integer counts as that integer.
_RANK_TOLERANCE = 1e-9


def conformal_halfwidth(residuals: ArrayLike, level: float = 0.9) -> float:
    """The split-conformal half-width: the ``ceil((n+1)*level)``-th smallest ``|residual|``.

    Parameters
    ----------
    residuals : array-like
        Held-out residuals (truth minus prediction), any shape; all finite.
    level : float, default=0.9
        Target coverage, in (0, 1).

    Returns
    -------
    float
        The half-width; NaN when there are too few residuals for the level, i.e. when
        ``ceil((n+1)*level) > n`` (``n + 1 < 1 / (1 - level)``): no finite width is valid.

    Raises
    ------
    CropcastError
        When ``level`` is outside (0, 1) or a residual is NaN or infinite.

    Examples
    --------
    >>> conformal_halfwidth(np.arange(1.0, 20.0), level=0.9)  # ceil(20 * 0.9) = 18th
    18.0
    >>> conformal_halfwidth([1.0, -2.0], level=0.9)
    nan
    """
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise CropcastError(f"level must be a number in the open range (0, 1). Got {level!r}.")
    values = np.abs(np.asarray(residuals, dtype=np.float64).ravel())
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise CropcastError(
            f"residuals hold {bad} NaN or infinite value(s); drop the rows without a "
            "prediction or a truth first."
        )
    n = len(values)
    rank = math.ceil((n + 1) * level - _RANK_TOLERANCE)
    if rank > n:
        return float("nan")
    return float(np.partition(values, rank - 1)[rank - 1])


def intervals(prediction: ArrayLike, halfwidth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The interval ``prediction -/+ halfwidth``.

    Parameters
    ----------
    prediction : array-like
        Point predictions.
    halfwidth : float or array-like
        Half-widths (>= 0 or NaN), broadcast against ``prediction``. A NaN half-width
        (too few residuals) gives NaN bounds.

    Returns
    -------
    lower, upper : numpy.ndarray
        Float arrays of the broadcast shape.

    Raises
    ------
    CropcastError
        When a half-width is negative.
    """
    center = np.asarray(prediction, dtype=np.float64)
    width = np.asarray(halfwidth, dtype=np.float64)
    if (width < 0).any():
        raise CropcastError(f"halfwidth must be >= 0 (or NaN). Got {width[width < 0][:5]}.")
    return center - width, center + width
