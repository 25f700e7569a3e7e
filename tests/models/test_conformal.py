"""cropcast.models.intervals: split-conformal half-widths with exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from cropcast.errors import CropcastError
from cropcast.models.intervals import conformal_halfwidth, intervals


def test_nine_residuals_at_90_percent_take_the_largest():
    assert conformal_halfwidth(np.arange(1.0, 10.0), level=0.9) == 9.0  # ceil(10 * 0.9) = 9


def test_nineteen_residuals_at_90_percent_take_the_18th():
    residuals = np.arange(1.0, 20.0)
    np.random.default_rng(0).shuffle(residuals)
    assert conformal_halfwidth(residuals, level=0.9) == 18.0  # ceil(20 * 0.9) = 18


def test_signs_are_ignored():
    assert conformal_halfwidth([-5.0, 1.0, -2.0, 4.0, -3.0], level=0.5) == 3.0  # ceil(3.0) = 3


def test_rank_is_not_pushed_up_by_rounding():
    # 10 * 0.7 is 7.000000000000001 in floating point; the rank is 7, not 8.
    assert conformal_halfwidth(np.arange(1.0, 10.0), level=0.7) == 7.0


@pytest.mark.parametrize(("n", "level"), [(8, 0.9), (0, 0.5), (18, 0.95), (1, 0.6)])
def test_too_few_residuals_give_nan(n, level):
    assert np.isnan(conformal_halfwidth(np.ones(n), level=level))


def test_just_enough_residuals_give_the_largest():
    assert conformal_halfwidth(np.arange(1.0, 20.0), level=0.95) == 19.0  # ceil(20 * 0.95)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.1, 90, "0.9", True])
def test_level_outside_open_unit_interval_is_an_error(level):
    with pytest.raises(CropcastError, match=r"level must be a number in the open range \(0, 1\)"):
        conformal_halfwidth([1.0, 2.0], level=level)


def test_nan_residuals_are_an_error():
    with pytest.raises(CropcastError, match=r"residuals hold 1 NaN or infinite"):
        conformal_halfwidth([1.0, np.nan, 2.0])


def test_intervals_broadcast():
    lower, upper = intervals([150.0, 180.0], 12.5)
    np.testing.assert_array_equal(lower, [137.5, 167.5])
    np.testing.assert_array_equal(upper, [162.5, 192.5])
    lower, upper = intervals([150.0, 180.0], [1.0, 2.0])
    np.testing.assert_array_equal(upper - lower, [2.0, 4.0])


def test_intervals_nan_halfwidth_gives_nan_bounds():
    lower, upper = intervals(np.array([150.0]), float("nan"))
    assert np.isnan(lower).all() and np.isnan(upper).all()


def test_intervals_negative_halfwidth_is_an_error():
    with pytest.raises(CropcastError, match="halfwidth must be >= 0"):
        intervals([1.0], -1.0)
