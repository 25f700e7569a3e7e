"""Quick Stats exports: display numbers, codes, and "other" rows that reconcile totals."""

import numpy as np
import pandas as pd
import pytest

from cropcast.features.world.nass_export import _number, quickstats_rows


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (152.0, 1, "152"), (153.46, 1, "153.5"), (87230.0, 0, "87,230"),
    (1645200.0, 0, "1,645,200"), (99.96, 1, "100"),
])
def test_numbers_are_written_as_nass_displays_them(value, decimals, text):
    assert _number(value, decimals) == text


def _counties(year):
    return pd.DataFrame({
        "year": year, "state_name": "IOWA", "state_ansi": "19",
        "ag_district": ["CENTRAL", "CENTRAL", "CENTRAL", "NORTHWEST"],
        "ag_district_code": ["50", "50", "50", "10"],
        "county_name": ["BOONE", "STORY", "POLK", "LYON"],
        "county_ansi": ["15", "169", "153", "119"],
        "yield": [200.0, 180.0, 150.0, 190.0],
        "harvested_acres": [100_000.0, 50_000.0, 10_000.0, 120_000.0],
        "code": ["", "(D)", "(D)", "(NA)"],
    })


def test_withheld_counties_fold_into_their_district_before_2020():
    rows = quickstats_rows(_counties(2015), np.random.default_rng(0))
    yields = {r[9]: r for r in rows["yield"]}
    acres = {r[9]: r for r in rows["harvested"]}
    other = yields["OTHER (COMBINED) COUNTIES"]
    assert other[7:11] == ["CENTRAL", "50", "OTHER (COMBINED) COUNTIES", ""]
    # Acre-weighted: (180 * 50,000 + 150 * 10,000) / 60,000 = 175.
    assert other[19] == "175"
    assert acres["OTHER (COMBINED) COUNTIES"][19] == "60,000"
    assert yields["STORY"][19] == " (D)" and acres["STORY"][19] == " (D)"
    assert yields["LYON"][19] == " (NA)" and acres["LYON"][19] == "120,000"
    assert yields["BOONE"][19] == "200" and yields["BOONE"][20] == ""  # no CV before 2020


def test_from_2020_one_state_level_other_row_with_district_99():
    rows = quickstats_rows(_counties(2021), np.random.default_rng(0))
    others = [r for r in rows["yield"] if r[9].startswith("OTHER")]
    assert len(others) == 1
    assert others[0][7:11] == ["", "99", "OTHER COUNTIES", ""]
    assert rows["yield"][0][9] == "OTHER COUNTIES"  # listed first, as NASS does
    boone = next(r for r in rows["yield"] if r[9] == "BOONE")
    assert 2.0 <= float(boone[20]) <= 15.0
