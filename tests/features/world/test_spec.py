"""WorldSpec validates every setting with a message naming it and what is allowed."""

import pytest

from cropcast.errors import CropcastError
from cropcast.features.world import WorldSpec


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"states": ["XX"]}, "world.states must be a non-empty list of USPS state codes"),
        ({"states": []}, "world.states must be a non-empty list"),
        ({"states": ["IA", "ia"]}, "without repeats"),
        ({"first_year": 2010, "last_year": 2009}, "non-empty range of years"),
        ({"first_year": 1900}, "within 1980-2100"),
        ({"resolution_m": 0}, "world.resolution_m must be a number of metres"),
        ({"resolution_m": -250}, "world.resolution_m"),
        ({"weather_resolution_deg": 0}, "world.weather_resolution_deg"),
        ({"cropmask_resolution_m": 5000}, "finer than the imagery pixel"),
        ({"ndvi_first_doy": 100}, "MODIS 16-day calendar"),
        ({"reflectance_last_doy": 361}, "window ends by day 365"),
        ({"ndvi_first_doy": 273, "ndvi_last_doy": 129}, "ordered first <= last"),
        ({"heat_years": ["2012"]}, "world.heat_years must be a list of integer years"),
        ({"seed": 1.5}, "world.seed must be an integer"),
        ({"seed": -1}, "world.seed must be an integer >= 0"),
    ],
)
def test_bad_settings_name_the_setting_and_the_allowed_values(settings, message):
    with pytest.raises(CropcastError, match=message):
        WorldSpec(**settings)


def test_unknown_state_lists_the_allowed_codes():
    with pytest.raises(CropcastError) as error:
        WorldSpec(states=["IA", "QQ"])
    assert "got ['QQ']" in str(error.value)
    assert "IA, KS" in str(error.value)


def test_a_single_event_year_may_be_given_bare():
    assert WorldSpec(heat_years=2012, drought_years=[]).heat_years == [2012]


def test_state_codes_are_normalised():
    assert WorldSpec(states=[" ia", "Il"]).states == ["IA", "IL"]
    assert WorldSpec(states="IA").states == ["IA"]  # `world.states=IA` on the command line
    assert WorldSpec(states="IA,NE").states == ["IA", "NE"]


def test_resolution_maps_onto_the_modis_grid():
    real = WorldSpec(resolution_m=250)
    assert real.pixels_per_tile == 4800
    assert real.pixel_size_m == pytest.approx(231.656358, abs=1e-6)
    assert WorldSpec(resolution_m=1000).pixels_per_tile == 1200
    # The automatic crop mask is a multiple of 30 m near a quarter of the imagery pixel.
    assert real.cropmask_pixel_m == 60.0
    assert WorldSpec(resolution_m=1000).cropmask_pixel_m == 240.0


def test_identity_changes_with_any_setting_but_not_with_equal_ones():
    base = WorldSpec()
    assert WorldSpec().digest() == base.digest()
    assert WorldSpec(seed=1).digest() != base.digest()
    assert WorldSpec(heat_years=[2012, 2020]).digest() != base.digest()
    assert base.folder_name().startswith("IA-IL-IN_2008-2024_1000m_")
