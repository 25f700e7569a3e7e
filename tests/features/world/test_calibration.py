"""The shipped calibration table is what the shared NASS files give."""

import pandas as pd
import pytest

from cropcast.features.world.calibration import build_calibration_table, load_calibration_table


def test_shipped_table_is_rebuilt_exactly_from_the_shared_nass_files(shared_nass):
    rebuilt = build_calibration_table(shared_nass)
    shipped = load_calibration_table()
    pd.testing.assert_frame_equal(rebuilt.reset_index(drop=True), shipped, check_dtype=False)


def test_table_is_plausible_for_the_corn_belt():
    table = load_calibration_table().set_index("region_id")
    story = table.loc["19169"]  # Story County, Iowa
    assert 160 < story["level_bu_ac"] < 210
    assert 1.0 < story["slope_bu_ac_yr"] < 3.5
    assert story["ag_district"] == "CENTRAL"
    iowa = table[table["state_fips"] == "19"]
    assert len(iowa) == 99
    assert iowa["slope_bu_ac_yr"].median() == pytest.approx(2.0, abs=0.6)
    assert table.index.str.fullmatch(r"\d{5}").all()
