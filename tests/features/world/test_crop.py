"""The crop model: degree days by hand, causality, and the stress it responds to."""

import numpy as np
import pytest

from cropcast.features.world.crop import degree_days_above, simulate_crops


def test_degree_days_single_sine_by_hand():
    # Tmin above the threshold: the mean minus the threshold.
    assert degree_days_above([35.0], [30.0], 29.0)[0] == pytest.approx(3.5)
    # Tmax at or below the threshold: nothing.
    assert degree_days_above([29.0], [15.0], 29.0)[0] == 0.0
    assert degree_days_above([20.0], [10.0], 29.0)[0] == 0.0
    # Straddling, symmetric: M = b, so theta = 0 and DD = W / pi.
    assert degree_days_above([34.0], [24.0], 29.0)[0] == pytest.approx(5.0 / np.pi)
    # Straddling, general: Tmax 33, Tmin 19, b 29 -> M 26, W 7, theta = asin(3/7).
    theta = np.arcsin(3.0 / 7.0)
    expected = ((26.0 - 29.0) * (np.pi / 2 - theta) + 7.0 * np.cos(theta)) / np.pi
    assert degree_days_above([33.0], [19.0], 29.0)[0] == pytest.approx(expected)
    # Tmin exactly at the threshold counts as "above": M - b.
    assert degree_days_above([31.0], [29.0], 29.0)[0] == pytest.approx(1.0)


def _season(days=365, counties=3, hot_after=None, dry=False, seed=0):
    doy = np.arange(1, days + 1)
    tmax = np.tile(14.0 + 16.0 * np.cos(2 * np.pi * (doy - 200) / 365.25), (counties, 1))
    if hot_after is not None:
        tmax[:, hot_after:] += 6.0
    tmin = tmax - 11.0
    pr = np.zeros((counties, days)) if dry else np.tile(np.where(doy % 3 == 0, 8.0, 0.0),
                                                        (counties, 1))
    edd = degree_days_above(tmax, tmin, 29.0)
    dd10 = degree_days_above(tmax, tmin, 10.0)
    return simulate_crops(tmax, tmin, pr, edd, dd10, np.random.default_rng(seed))


@pytest.mark.parametrize("change", [112, 125, 200])
def test_canopy_on_a_day_depends_only_on_weather_up_to_that_day(change):
    # Day 112-125: around planting, decided on the past week's temperature only.
    calm, hot = _season(), _season(hot_after=change)
    np.testing.assert_array_equal(calm.canopy[:, :, :change], hot.canopy[:, :, :change])
    assert not np.array_equal(calm.canopy[:, :, change:], hot.canopy[:, :, change:])


def test_heat_and_drought_lower_yield_and_canopy():
    calm, hot, dry = _season(), _season(hot_after=170), _season(dry=True)
    assert (hot.relative_yield < calm.relative_yield).all()
    assert (dry.relative_yield < calm.relative_yield).all()
    assert (hot.edd_critical > calm.edd_critical).all()
    assert (dry.water_stress_critical > calm.water_stress_critical).all()
    assert (dry.peak_corn_ndvi < calm.peak_corn_ndvi).all()


def test_corn_phenology_is_plausible_for_the_corn_belt():
    season = _season()
    assert ((season.planting_doy >= 105) & (season.planting_doy <= 160)).all()
    assert ((season.silking_doy > 170) & (season.silking_doy < 230)).all()
    corn = season.canopy[0, 0]
    assert 180 <= corn.argmax() + 1 <= 240  # peak in July-August
    assert corn.max() > 0.8 and corn[:90].max() < 0.35
    soy = season.canopy[1, 0]
    assert soy.argmax() > corn.argmax()  # soybeans peak later
