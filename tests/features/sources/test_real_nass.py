"""The real Quick Stats exports and the tidy NASS history in ../shared/data/nass/."""

import pandas as pd
import pytest

from cropcast.features.sources.quickstats import read_quickstats
from cropcast.features.sources.revisions import compare_vintages
from cropcast.features.sources.tables import YieldTable

YIELD = "quickstats_export_county_corn_yield_2012_2021.csv"
ACRES = "quickstats_export_county_corn_acres_harvested_2012_2021.csv"
HISTORY = "nass_county_corn_grain_1926_2025.csv"


@pytest.fixture(scope="module")
def exports(shared_nass):
    return read_quickstats([shared_nass / YIELD, shared_nass / ACRES])


@pytest.mark.parametrize("name", [YIELD, ACRES], ids=["yield", "acres"])
def test_each_export_splits_into_county_and_other_rows(name, shared_nass):
    path = shared_nass / name
    data = read_quickstats(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    # The files hold 16,361 data rows (the shared README counts 16,360): every one lands in
    # exactly one table.
    assert len(raw) == 16_361
    assert len(data.counties) == 14_957 and len(data.others) == 1_404
    assert data.others["county_name"].value_counts().to_dict() == {
        "OTHER (COMBINED) COUNTIES": 1_342, "OTHER COUNTIES": 62}
    assert (data.others.loc[data.others["county_name"] == "OTHER COUNTIES", "asd_code"]
            == "99").all()
    assert data.others["year"].loc[data.others["asd_code"] == "99"].min() == 2020


def test_commas_parsed_and_ansi_codes_padded(exports):
    counties = exports.counties.set_index(["region_id", "year"])
    assert counties.index.get_level_values(0).str.fullmatch(r"\d{5}").all()
    # Iowa, Boone County (ANSI 19 / 15 in the file): "142,000" acres in 2021.
    assert counties.loc[("19015", 2021), "harvested_acres"] == 142_000
    assert counties.loc[("01047", 2021), "yield"] == 153.5  # Dallas AL: "1" and "47"
    assert counties["harvested_acres"].max() == 366_000  # "366,000" in the file


def test_history_agrees_exactly_2012_2017_and_later_differences_are_revisions(exports,
                                                                              shared_nass):
    history = YieldTable(str(shared_nass / HISTORY), region_column="fips",
                         yield_column="yield_bu_ac", area_column="area_harvested_ac",
                         region_id_width=5).load()
    history = history[history["year"].between(2012, 2021)]
    diff = compare_vintages(history, exports.counties, ["yield", "harvested_acres"])
    assert diff[diff["year"] <= 2017].empty
    later = diff[diff["year"] >= 2018]
    assert set(later["kind"]) == {"revised", "added"}
    county_years = later[["region_id", "year"]].drop_duplicates()
    assert 1_200 <= len(county_years) <= 2_400
    # 51153 (Prince William VA) 2021 is missing from the tidy history: added by the export.
    added = later[later["kind"] == "added"]
    assert set(zip(added["region_id"], added["year"], strict=True)) == {("51153", 2021)}
