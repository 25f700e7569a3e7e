"""The FAO-56 root-zone bucket: stress by hand, rain refills, causal, aligned to rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.weather.indices import daily_indices
from cropcast.features.weather.phenology import PlantingRule
from cropcast.features.weather.soil_water import water_stress

FLAT_KC = ((0.0, 1.0), (1.0, 1.0))  # Kc = 1 whatever the degree days


def _days(n: int, pr=0.0, pet=5.0, start="2012-05-01", region="19153") -> pd.DataFrame:
    dates = pd.date_range(start, periods=n)
    return pd.DataFrame({"region_id": region, "date": dates, "pr": pr, "pet": pet,
                         "gdd": 10.0})


def test_stress_by_hand_on_a_dry_spell():
    table = _days(13)
    stress = water_stress(table, capacity_mm=100.0, depletion=0.5, kc=FLAT_KC)
    # 5 mm a day: the readily available 50 mm last 11 days (depletion 0, 5, ..., 50 at the
    # start of each); then Ks = (100 - 55) / 50 = 0.9, and (100 - 59.5) / 50 = 0.81.
    assert stress[:11] == pytest.approx(np.zeros(11))
    assert stress[11:] == pytest.approx([0.1, 0.19])


def test_rain_refills_and_missing_days_carry_the_bucket():
    table = _days(15)
    table.loc[12, "pr"] = 100.0  # the 13th day refills the root zone
    table.loc[14, "pr"] = np.nan
    stress = water_stress(table, capacity_mm=100.0, depletion=0.5, kc=FLAT_KC)
    assert stress[11] == pytest.approx(0.1)
    assert stress[12] == 0.0 and stress[13] == 0.0
    assert np.isnan(stress[14])


def test_stress_starts_on_the_start_day_and_follows_the_rows():
    spring = _days(40, start="2012-04-11")
    two = pd.concat([spring, spring.assign(region_id="19169", pet=8.0)], ignore_index=True)
    shuffled = two.sample(frac=1.0, random_state=0)
    stress = pd.Series(water_stress(shuffled, capacity_mm=100.0, depletion=0.5, kc=FLAT_KC),
                       index=shuffled.index).sort_index()
    assert stress[two["date"] < "2012-05-01"].isna().all()
    may = stress[(two["date"] >= "2012-05-01").to_numpy()]
    assert (may.notna()).all()
    # The region with more demand dries sooner.
    first_dry = may.groupby(two.loc[may.index, "region_id"]).apply(lambda s: (s > 0).idxmax())
    assert two.loc[first_dry["19169"], "date"] < two.loc[first_dry["19153"], "date"]


def test_stress_on_a_cut_record_equals_the_full_records():
    rng = np.random.default_rng(1)
    table = _days(120, pr=rng.gamma(0.5, 6.0, 120), pet=rng.uniform(2, 7, 120))
    full = water_stress(table)
    cut = water_stress(table.iloc[:70])
    np.testing.assert_array_equal(cut, full[:70])


def test_kc_rises_with_degree_days():
    early = _days(30).assign(gdd=0.0)   # Kc 0.3 throughout: 1.5 mm a day, 45 < 55 mm
    late = _days(30).assign(gdd=30.0)  # 900 degree days by day 30: Kc up to 1.2
    assert water_stress(early, capacity_mm=100.0).sum() == 0.0
    assert water_stress(late, capacity_mm=100.0).sum() > 0.0


def test_kc_follows_the_crop_degree_days_given():
    table = _days(30).assign(gdd=30.0)  # degree days since May 1 would raise Kc to 1.2
    unplanted = np.zeros(len(table))  # not planted: Kc stays at its initial 0.3
    assert water_stress(table, capacity_mm=100.0, crop_degree_days=unplanted).sum() == 0.0
    grown = np.full(len(table), 900.0)  # mid-season from the first day: Kc 1.2, 6 mm a day
    stress = water_stress(table, capacity_mm=100.0, depletion=0.5, crop_degree_days=grown)
    # 50 mm readily available last 9 days (0, 6, ..., 48); day 10 starts at 54 mm.
    assert stress[:9] == pytest.approx(np.zeros(9))
    assert stress[9] == pytest.approx(1 - (100 - 54) / 50)
    with pytest.raises(CropcastError, match=r"crop_degree_days must hold one value per row "
                                            r"of the table \(30\); got shape \(3,\)"):
        water_stress(table, crop_degree_days=np.zeros(3))


def test_daily_indices_count_kc_from_planting_without_look_ahead():
    days = pd.date_range("2012-04-01", "2012-08-31")
    rng = np.random.default_rng(3)
    tmax = 14.0 + 14.0 * np.sin(np.linspace(0.2, 2.2, len(days))) + rng.normal(0, 2, len(days))
    daily = pd.DataFrame({"region_id": "19153", "date": days, "tmax": tmax, "tmin": tmax - 12,
                          "pr": rng.gamma(0.4, 6.0, len(days))})
    rule = PlantingRule()
    full = daily_indices(daily, planting=rule)["water_stress"].to_numpy()
    for cut in ("2012-04-20", "2012-05-20", "2012-07-01"):
        part = daily_indices(daily[daily["date"] <= cut], planting=rule)["water_stress"]
        np.testing.assert_array_equal(part.to_numpy(), full[:len(part)])
    from_may = daily_indices(daily)["water_stress"].to_numpy()
    assert not np.allclose(np.nan_to_num(from_may), np.nan_to_num(full))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"capacity_mm": 0.0}, "capacity_mm must be > 0"),
    ({"depletion": 1.0}, "depletion in"),
    ({"start": "May"}, "start must be a day 'MM-DD'"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(CropcastError, match=message):
        water_stress(_days(3), **kwargs)
