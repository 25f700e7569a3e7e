"""Generic tables: yields with explicit units, dated region series, undated features."""

import datetime as dt

import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.features.sources.tables import FeatureTable, RegionTimeSeries, YieldTable


def _csv(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yields_keep_leading_zeros_and_convert_units_explicitly(tmp_path):
    path = _csv(tmp_path, "fips,yr,t_ha,area\n01001,2019,10.0,1000\n19169,2019,12.5,2000\n")
    table = YieldTable(str(path), region_column="fips", year_column="yr", yield_column="t_ha",
                       area_column="area", units="t/ha", output_units="bu/ac",
                       region_id_width=5).load()
    assert table["region_id"].tolist() == ["01001", "19169"]
    # 1 bu/ac of corn = 0.0628 t/ha, so 10 t/ha = 159.3 bu/ac.
    assert table["yield"].iloc[0] == pytest.approx(10 / 0.06277, rel=1e-3)
    assert table["harvested_acres"].tolist() == [1000.0, 2000.0]
    back = YieldTable(str(path), region_column="fips", year_column="yr", yield_column="t_ha",
                      units="t/ha", output_units="t/ha").load()
    assert back["yield"].tolist() == [10.0, 12.5]


def test_soybean_bushels_weigh_more(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nA,2019,1\n")
    corn = YieldTable(str(path), output_units="t/ha").load()["yield"].iloc[0]
    soy = YieldTable(str(path), output_units="t/ha", commodity="SOYBEANS").load()["yield"].iloc[0]
    assert corn == pytest.approx(0.0628, abs=1e-4) and soy == pytest.approx(0.0673, abs=1e-4)


def test_parquet_yields_round_trip(tmp_path):
    frame = pd.DataFrame({"region_id": ["01001", "01003"], "year": [2019, 2019],
                          "yield": [150.0, 160.5]})
    frame.to_parquet(tmp_path / "y.parquet")
    table = YieldTable(str(tmp_path / "y.parquet"), region_id_width=5).load()
    pd.testing.assert_frame_equal(table, frame, check_dtype=False)


def test_any_administrative_level_is_a_region(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nFR-75,2019,70\nDE1,2019,80\n")
    assert YieldTable(str(path)).load()["region_id"].tolist() == ["DE1", "FR-75"]


def test_time_series_dates_as_iso_or_compact(tmp_path):
    path = _csv(tmp_path, "adm,date,NDVI,EVI\n19169,2019-07-12,0.81,0.6\n"
                          "19169,20190728,0.84,0.62\n")
    series = RegionTimeSeries(str(path), value_columns=["NDVI", "EVI"], region_column="adm",
                              name="ee").load()
    assert series["date"].dt.strftime("%Y-%m-%d").tolist() == ["2019-07-12", "2019-07-28"]
    assert series["year"].tolist() == [2019, 2019]
    assert series["NDVI"].tolist() == [0.81, 0.84]


def test_feature_table_serves_end_of_season_only(tmp_path):
    path = _csv(tmp_path, "region_id,year,peak_ndvi,edd\n19169,2019,0.85,30\n")
    source = FeatureTable(str(path), name="bench")
    assert source.load().columns.tolist() == ["region_id", "year", "peak_ndvi", "edd"]
    source.require_end_of_season(None)
    with pytest.raises(CropcastError, match=r"feature table 'bench' .* has no dates, so it "
                                            r"cannot be filtered to what was known on 2019-07-15"):
        source.require_end_of_season(dt.date(2019, 7, 15))


# ---- malformed inputs -----------------------------------------------------------------

def test_region_id_that_lost_its_leading_zero(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\n19169,2019,180\n1001,2019,150\n")
    with pytest.raises(CropcastError, match=r"t\.csv, line 3: region id '1001' in 'region_id' "
                                            r"is not 5 characters; it looks like '01001' lost"):
        YieldTable(str(path), region_id_width=5).load()
    padded = YieldTable(str(path), region_id_width=5, pad_region_id=True).load()
    assert padded["region_id"].tolist() == ["01001", "19169"]


def test_numeric_region_ids_in_parquet(tmp_path):
    pd.DataFrame({"region_id": [1001, 19169], "year": [2019, 2019],
                  "yield": [1.0, 2.0]}).to_parquet(tmp_path / "y.parquet")
    with pytest.raises(CropcastError, match=r"holds numbers, not text"):
        YieldTable(str(tmp_path / "y.parquet")).load()


@pytest.mark.parametrize("date", ["2019-13-45", "07/12/2019", "2019-7-1", "", "20990701"])
def test_bad_dates(tmp_path, date):
    path = _csv(tmp_path, f"region_id,date,NDVI\nA,2019-07-01,0.5\nA,{date},0.6\n")
    with pytest.raises(CropcastError, match=r"t\.csv, line 3: date .* is not a past date as "
                                            r"YYYY-MM-DD or YYYYMMDD"):
        RegionTimeSeries(str(path), value_columns=["NDVI"]).load()


def test_unknown_units(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nA,2019,1\n")
    with pytest.raises(CropcastError, match=r"units must be one of \['bu/ac', 't/ha'\]; got "
                                            r"'kg/ha'"):
        YieldTable(str(path), units="kg/ha").load()


def test_duplicate_keys(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nA,2019,1\nB,2019,2\nA,2019,3\n")
    with pytest.raises(CropcastError, match=r"duplicate key \{'region_id': 'A', 'year': "
                                            r"'2019'\} at line 2 and line 4"):
        YieldTable(str(path)).load()


def test_non_numeric_yield(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nA,2019,1\nB,2019,(D)\n")
    with pytest.raises(CropcastError, match=r"line 3: yield '\(D\)' in column 'yield' is not "
                                            r"a number"):
        YieldTable(str(path)).load()


def test_future_year(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\nA,2999,1\n")
    with pytest.raises(CropcastError, match=r"line 2: year '2999' is not a year"):
        YieldTable(str(path)).load()


@pytest.mark.parametrize("value", ["-5", "inf"])
def test_negative_or_infinite_yield(tmp_path, value):
    path = _csv(tmp_path, f"region_id,year,yield\nA,2019,{value}\n")
    with pytest.raises(CropcastError, match=rf"yield '{value}' is negative or infinite"):
        YieldTable(str(path)).load()


def test_padding_needs_a_width_and_value_columns_may_be_one_name(tmp_path):
    path = _csv(tmp_path, "region_id,year,yield\n1001,2019,1\n")
    with pytest.raises(CropcastError, match=r"pad_region_id=true needs region_id_width"):
        YieldTable(str(path), pad_region_id=True).load()
    series = _csv(tmp_path, "region_id,date,NDVI\nA,2019-07-01,0.5\n", name="s.csv")
    assert RegionTimeSeries(str(series), value_columns="NDVI").load()["NDVI"].tolist() == [0.5]


def test_semicolon_delimited_file(tmp_path):
    path = _csv(tmp_path, "region_id;year;yield\nA;2019;1\n")
    with pytest.raises(CropcastError, match=r"missing column\(s\) .* \(one column only: is the "
                                            r"delimiter ';' or a tab\?\)"):
        YieldTable(str(path)).load()


def test_renamed_columns_name_the_setting(tmp_path):
    path = _csv(tmp_path, "GEOID,year,yield\nA,2019,1\n")
    with pytest.raises(CropcastError, match=r"missing column\(s\) \{'region_column': "
                                            r"'region_id'\}.*found \['GEOID', 'year', 'yield'\]"):
        YieldTable(str(path)).load()


def test_unknown_file_format(tmp_path):
    path = _csv(tmp_path, "x", name="yields.xlsx")
    with pytest.raises(CropcastError, match=r"unknown table format '\.xlsx'"):
        YieldTable(str(path)).load()


def test_truncated_parquet(tmp_path):
    pd.DataFrame({"region_id": ["A"], "year": [2019], "yield": [1.0]}).to_parquet(
        tmp_path / "y.parquet")
    data = (tmp_path / "y.parquet").read_bytes()
    (tmp_path / "y.parquet").write_bytes(data[:40])
    with pytest.raises(CropcastError, match=r"y\.parquet: cannot be read"):
        YieldTable(str(tmp_path / "y.parquet")).load()


def test_series_needs_value_columns(tmp_path):
    path = _csv(tmp_path, "region_id,date,NDVI\nA,2019-07-01,0.5\n")
    with pytest.raises(CropcastError, match=r"value_columns is empty"):
        RegionTimeSeries(str(path)).load()


PLACEHOLDERS = ("fips,year,yield,area\n"
                "51045,1999,0.0,\n"      # not published: no area
                "51045,2000,0,0\n"       # not published: area 0
                "51045,2001,0.0,1200\n"  # a real zero on harvested acres: kept
                "51045,2002,95.5,1300\n")


def test_zero_yields_without_area_are_placeholders_read_as_missing(tmp_path):
    path = _csv(tmp_path, PLACEHOLDERS)
    source = YieldTable(str(path), region_column="fips", area_column="area")
    table = source.load()
    assert table["yield"].isna().tolist() == [True, True, False, False]
    assert table["yield"].iloc[2:].tolist() == [0.0, 95.5]
    assert source.placeholder_rows_ == 2
    kept = YieldTable(str(path), region_column="fips", area_column="area",
                      zero_yield_without_area="keep").load()
    assert kept["yield"].tolist() == [0.0, 0.0, 0.0, 95.5]
    with pytest.raises(CropcastError, match=r"t\.csv, line 2: yield 0 with no harvested area "
                                            r".*'51045' 1999"):
        YieldTable(str(path), region_column="fips", area_column="area",
                   zero_yield_without_area="error").load()
    with pytest.raises(CropcastError, match="zero_yield_without_area must be one of"):
        YieldTable(str(path), region_column="fips", area_column="area",
                   zero_yield_without_area="drop").load()


def test_first_year_keeps_the_later_seasons(tmp_path):
    path = _csv(tmp_path, PLACEHOLDERS)
    table = YieldTable(str(path), region_column="fips", area_column="area",
                       first_year=2001).load()
    assert table["year"].tolist() == [2001, 2002]
    with pytest.raises(CropcastError, match="first_year must be an integer or None"):
        YieldTable(str(path), region_column="fips", first_year="2001").load()
