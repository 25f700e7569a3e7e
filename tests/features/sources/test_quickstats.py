"""Quick Stats in three shapes: codes kept as codes, other rows apart, errors that point."""

import gzip
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qs_fixtures import ACRES, WRITERS, YIELD, record, sample_records, write_bulk, write_web

from cropcast.errors import CropcastError
from cropcast.features.sources.quickstats import CODES, parse_value, parse_values, read_quickstats


@pytest.mark.parametrize("shape", sorted(WRITERS))
def test_every_shape_gives_the_same_tidy_tables(tmp_path, shape):
    writer, name = WRITERS[shape]
    data = read_quickstats(writer(sample_records(), tmp_path / name))
    c = data.counties.set_index(["region_id", "year"])
    assert list(c.index) == [("19153", 2019), ("19153", 2020), ("19169", 2019), ("19169", 2020)]
    story19, story20 = c.loc[("19169", 2019)], c.loc[("19169", 2020)]
    assert story19["yield"] == 185.2 and story19["harvested_acres"] == 152_300
    assert pd.isna(story19["yield_code"])
    # A code is missing data, never 0, and keeps its code.
    assert math.isnan(story20["yield"]) and story20["yield_code"] == "(D)"
    assert story20["harvested_acres_code"] == "(D)"
    assert c.loc[("19153", 2019), "yield_code"] == "(NA)"
    assert c.loc[("19153", 2019), "harvested_acres"] == 43_100
    assert (c["county_name"].loc["19169"] == "STORY").all()
    # Other rows are not counties.
    assert not data.counties["region_id"].str.endswith("998").any()
    others = data.others.set_index(["county_name", "year"])
    assert others.loc[("OTHER (COMBINED) COUNTIES", 2019), "asd_code"] == "50"
    assert others.loc[("OTHER (COMBINED) COUNTIES", 2019), "harvested_acres"] == 12_000
    assert others.loc[("OTHER COUNTIES", 2020), "asd_code"] == "99"
    # State series keep their reference period; soybeans were filtered out.
    states = data.states.set_index(["reference_period", "variable"])
    assert states.loc[("YEAR - JUN ACREAGE", "planted_acres"), "value"] == 13_500_000
    assert states.loc[("YEAR", "planted_acres"), "value"] == 13_600_000
    assert states.loc[("YEAR - AUG FORECAST", "yield"), "value"] == 178


def test_soybeans_are_read_when_asked(tmp_path):
    data = read_quickstats(write_web(sample_records(), tmp_path / "e.csv"), commodity="soybeans")
    assert data.counties["yield"].tolist() == [55.0]


def test_duplicates_resolve_to_the_latest_load_time(tmp_path):
    records = [record(YIELD, 2019, "180.0", load_time="2020-02-24 15:00:00"),
               record(YIELD, 2019, "181.5", load_time="2021-02-24 15:00:00"),
               record(YIELD, 2019, "179.0", load_time="2019-12-01 15:00:00")]
    data = read_quickstats(WRITERS["api_csv"][0](records, tmp_path / "a.csv"))
    assert data.counties["yield"].tolist() == [181.5]


def test_equal_duplicates_without_load_time_collapse(tmp_path):
    records = [record(YIELD, 2019, "180"), record(YIELD, 2019, "180.0")]
    assert read_quickstats(write_web(records, tmp_path / "e.csv")).counties["yield"].tolist() \
        == [180.0]


def test_conflicting_duplicates_without_load_time_name_both_rows(tmp_path):
    records = [record(YIELD, 2019, "180"), record(ACRES, 2019, "10"), record(YIELD, 2019, "175")]
    path = write_web(records, tmp_path / "e.csv")
    with pytest.raises(CropcastError, match=r"conflicting duplicate records for yield of "
                       r"19169/2019: .*e\.csv, line 2 says 180 but .*e\.csv, line 4 says 175"):
        read_quickstats(path)


def test_duplicates_across_two_files_name_both_files(tmp_path):
    one = write_web([record(YIELD, 2019, "180")], tmp_path / "one.csv")
    two = write_web([record(YIELD, 2019, "170")], tmp_path / "two.csv")
    with pytest.raises(CropcastError, match=r"one\.csv, line 2 says 180 but .*two\.csv, line 2"):
        read_quickstats([one, two])


# ---- malformed inputs: each is a CropcastError naming the file and what to fix ----------

def _web(tmp_path, rows, name="bad.csv"):
    return write_web(rows, tmp_path / name)


def test_truncated_gzip_bulk_file(tmp_path):
    path = write_bulk(sample_records() * 200, tmp_path / "qs.crops.txt.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CropcastError, match=r"qs\.crops\.txt\.gz: cannot be read .*truncated"):
        read_quickstats(path)


def test_not_gzip_at_all(tmp_path):
    path = tmp_path / "qs.crops.txt.gz"
    path.write_text("this is not gzip")
    with pytest.raises(CropcastError, match=r"qs\.crops\.txt\.gz: cannot be read"):
        read_quickstats(path)


def test_wrong_delimiter(tmp_path):
    path = _web(tmp_path, sample_records())
    path.write_text(path.read_text().replace(",", ";"))
    with pytest.raises(CropcastError, match=r"bad\.csv, header: is missing the column\(s\) "
                                            r".* Check the delimiter"):
        read_quickstats(path)


def test_missing_column(tmp_path):
    frame = pd.read_csv(_web(tmp_path, sample_records()), dtype=str)
    path = tmp_path / "cut.csv"
    frame.drop(columns=["County ANSI"]).to_csv(path, index=False)
    with pytest.raises(CropcastError, match=r"cut\.csv, header: is missing the column\(s\) "
                                            r"\['county_code'\]"):
        read_quickstats(path)


def test_renamed_value_column(tmp_path):
    path = _web(tmp_path, sample_records())
    path.write_text(path.read_text().replace(",Value,", ",Amount,", 1))
    with pytest.raises(CropcastError, match=r"missing the column\(s\) \['value'\]"):
        read_quickstats(path)


@pytest.mark.parametrize("value", ["abc", "", "12,34", "1.2.3", "(Q)", "- 5"])
def test_values_that_are_neither_numbers_nor_codes(tmp_path, value):
    path = _web(tmp_path, [record(YIELD, 2019, "180"), record(ACRES, 2019, value)])
    with pytest.raises(CropcastError, match=rf"bad\.csv, line 3: Value '{re.escape(value)}' of "
                                            r"'CORN, GRAIN - ACRES HARVESTED' is neither"):
        read_quickstats(path)


@pytest.mark.parametrize("year", ["2999", "20x1", "1700"])
def test_bad_or_future_years(tmp_path, year):
    path = _web(tmp_path, [record(YIELD, year, "180")])
    with pytest.raises(CropcastError, match=rf"line 2: Year '{year}' is not a year between"):
        read_quickstats(path)


def test_bad_county_code(tmp_path):
    path = _web(tmp_path, [record(YIELD, 2019, "180", county="4X")])
    with pytest.raises(CropcastError, match=r"line 2: county code '4X' of 'STORY' is not a "
                                            r"1-3 digit FIPS code"):
        read_quickstats(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CropcastError, match=r"empty\.csv: is empty"):
        read_quickstats(path)


def test_not_a_quick_stats_file(tmp_path):
    path = tmp_path / "yields.csv"
    path.write_text("fips,year,yield\n19169,2019,180\n")
    with pytest.raises(CropcastError, match=r"yields\.csv, line 1: is not a Quick Stats file"):
        read_quickstats(path)


def test_json_without_data(tmp_path):
    path = tmp_path / "api.json"
    path.write_text('{"error": ["bad request - invalid query"]}')
    with pytest.raises(CropcastError, match=r"api\.json: is not a Quick Stats API JSON"):
        read_quickstats(path)


def test_broken_json(tmp_path):
    path = tmp_path / "api.json"
    path.write_text('{"data": [{"year": 20')
    with pytest.raises(CropcastError, match=r"api\.json: cannot be read \(JSONDecodeError"):
        read_quickstats(path)


def test_no_matching_rows(tmp_path):
    path = _web(tmp_path, [record("SOYBEANS - YIELD, MEASURED IN BU / ACRE", 2019, "55",
                                  commodity="SOYBEANS")])
    with pytest.raises(CropcastError, match=r"none of .* holds CORN rows"):
        read_quickstats(path)


def test_unknown_commodity_needs_series(tmp_path):
    with pytest.raises(CropcastError, match=r"commodity 'SORGHUM' has no built-in series"):
        read_quickstats(_web(tmp_path, sample_records()), commodity="sorghum")


def test_missing_file(tmp_path):
    with pytest.raises(CropcastError, match=r"nope\.csv: no such file"):
        read_quickstats(tmp_path / "nope.csv")


# ---- the value parser, by example and by property ---------------------------------------

def test_parse_value_examples():
    assert parse_value("87,230") == (87230.0, None)
    assert parse_value(' "152.5" '.strip().strip('"')) == (152.5, None)
    assert parse_value("1,645,200") == (1645200.0, None)
    value, code = parse_value("                 (D)")
    assert math.isnan(value) and code == "(D)"
    with pytest.raises(ValueError, match="neither a number"):
        parse_value("0,5")


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_round_trip(number):
    assert parse_value(f"{number:,}") == (float(number), None)
    assert parse_value(f"  {number}  ") == (float(number), None)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False).map(lambda x: round(x, 1)))
def test_decimals_round_trip(number):
    assert parse_value(f"{number:,.1f}")[0] == pytest.approx(number)


@given(st.sampled_from(CODES), st.text(" ", max_size=20), st.text(" ", max_size=5))
def test_codes_are_missing_never_zero(code, left, right):
    value, parsed = parse_value(left + code + right)
    assert math.isnan(value) and parsed == code


@given(st.text(max_size=12))
def test_parse_value_never_invents_a_number(text):
    try:
        value, code = parse_value(text)
    except ValueError:
        return
    if code is None:
        assert value == float(text.strip().replace(",", ""))
    else:
        assert code in CODES and math.isnan(value)


@given(st.lists(st.one_of(st.sampled_from(CODES), st.integers(0, 10**7).map("{:,}".format),
                          st.text(max_size=6)), max_size=30))
def test_vectorised_parser_agrees_with_the_scalar_one(texts):
    values, codes, bad = parse_values(pd.Series(texts, dtype="string"))
    for i, text in enumerate(texts):
        try:
            value, code = parse_value(text)
        except ValueError:
            assert bad.iloc[i]
            continue
        assert not bad.iloc[i]
        assert (np.isnan(values[i]) and np.isnan(value)) or values[i] == value
        assert (pd.isna(codes.iloc[i]) and code is None) or codes.iloc[i] == code


def test_bulk_file_is_streamed_in_chunks(tmp_path, monkeypatch):
    import cropcast.features.sources.quickstats as qs

    monkeypatch.setattr(qs, "_CHUNK_ROWS", 7)
    records = sample_records() * 3  # duplicates with equal values collapse
    with gzip.open(write_bulk(records, tmp_path / "qs.txt.gz"), "rt") as handle:
        assert sum(1 for _ in handle) == len(records) + 1
    chunked = read_quickstats(tmp_path / "qs.txt.gz")
    monkeypatch.setattr(qs, "_CHUNK_ROWS", 10_000)
    whole = read_quickstats(tmp_path / "qs.txt.gz")
    assert len(chunked.counties) == 4
    pd.testing.assert_frame_equal(chunked.counties, whole.counties)
    pd.testing.assert_frame_equal(chunked.others, whole.others)
    pd.testing.assert_frame_equal(chunked.states, whole.states)


def test_duplicates_are_resolved_key_by_key(tmp_path):
    api = WRITERS["api_json"][0]([
        record(YIELD, 2012, "150", county="15", name="BOONE", load_time="2013-02-01 12:00:00"),
        record(YIELD, 2012, "152", county="15", name="BOONE", load_time="2014-02-01 12:00:00"),
    ], tmp_path / "api.json")
    web = write_web([record(YIELD, 2012, "160"), record(YIELD, 2012, "160")], tmp_path / "w.csv")
    data = read_quickstats([api, web]).counties.set_index("region_id")
    assert data.loc["19015", "yield"] == 152 and data.loc["19169", "yield"] == 160


def test_unreadable_or_tied_load_times_are_errors(tmp_path):
    bad = WRITERS["api_csv"][0]([record(YIELD, 2019, "150", load_time="2020-01-01 10:00:00"),
                                 record(YIELD, 2019, "99", load_time="not a date")],
                                tmp_path / "a.csv")
    with pytest.raises(CropcastError, match=r"a\.csv, line 3: load_time 'not a date' is not"):
        read_quickstats(bad)
    tie = WRITERS["api_csv"][0]([record(YIELD, 2019, "150", load_time="2020-01-01 10:00:00"),
                                 record(YIELD, 2019, "151", load_time="2020-01-01 10:00:00")],
                                tmp_path / "t.csv")
    with pytest.raises(CropcastError, match=r"keep one of them \(they have the same load_time"):
        read_quickstats(tie)


def test_errors_name_the_file_they_are_in(tmp_path):
    good = write_web([record(YIELD, 2019, "180")], tmp_path / "good.csv")
    bad = write_web([record(YIELD, 2019, "170", county="1X")], tmp_path / "bad.csv")
    with pytest.raises(CropcastError, match=r"bad\.csv, line 2: county code '1X'"):
        read_quickstats([good, bad])


def test_a_named_county_without_a_code_is_not_silently_an_other_row(tmp_path):
    path = write_web([record(YIELD, 2019, "180", county="", name="BOONE")], tmp_path / "e.csv")
    with pytest.raises(CropcastError, match=r"county code '' of 'BOONE' is not a 1-3 digit "
                                            r"FIPS code \(only OTHER rows may have none\)"):
        read_quickstats(path)
