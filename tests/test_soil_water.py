"""The FAO-56 root-zone bucket: stress by hand, rain refills, causal, aligned to rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import CropcastError
from features.soil_water import water_stress

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


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"capacity_mm": 0.0}, "capacity_mm must be > 0"),
    ({"depletion": 1.0}, "depletion in"),
    ({"start": "May"}, "start must be a day 'MM-DD'"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(CropcastError, match=message):
        water_stress(_days(3), **kwargs)
