"""In-season acres and county -> state -> nation aggregation on hand-computed examples.

Two states (19, 20) x three counties x four seasons (2018-2021); 2021 is the target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.evaluation.aggregate import (
    AGGREGATE_COLUMNS,
    aggregate,
    inseason_acres,
    states_left_out,
)

NAN = np.nan
HARVESTED = {  # region_id -> harvested acres 2018, 2019, 2020, 2021
    "19001": [100, 100, 100, 120],
    "19003": [200, 200, 200, 210],
    "19005": [100, 300, 200, NAN],  # 2021 withheld
    "20001": [50, 70, 90, 80],
    "20003": [20, NAN, 40, 20],
    "20005": [NAN, NAN, NAN, 50],  # a new county: no history
}
YIELDS_2021 = {"19001": 200.0, "19003": 150.0, "19005": NAN, "20001": 100.0, "20003": 120.0,
               "20005": 140.0}


@pytest.fixture
def counties() -> pd.DataFrame:
    rows = [{"region_id": r, "year": y, "harvested_acres": float(a),
             "yield": YIELDS_2021[r] if y == 2021 else 150.0, "state_fips": r[:2]}
            for r, acres in HARVESTED.items()
            for y, a in zip(range(2018, 2022), acres, strict=True)]
    return pd.DataFrame(rows)


@pytest.fixture
def states() -> pd.DataFrame:
    june = [("19", 2018, 500.0), ("19", 2019, 700.0), ("19", 2020, 800.0), ("19", 2021, 1000.0),
            ("20", 2018, 100.0), ("20", 2019, 100.0), ("20", 2020, 100.0)]  # no 2021 for 20
    return pd.DataFrame([{"state_fips": s, "year": y, "reference_period": "YEAR - JUN ACREAGE",
                          "variable": "planted_acres", "value": v} for s, y, v in june])


@pytest.fixture
def others() -> pd.DataFrame:
    return pd.DataFrame({"state_fips": "19", "asd_code": "99", "county_name": "OTHER COUNTIES",
                         "year": [2018, 2019, 2020, 2021], "yield": 150.0,
                         "harvested_acres": [100.0, 200.0, 100.0, 70.0]})


def _weights(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["region_id"], table["acres"], strict=True))


def test_inseason_acres_hand_computed(counties, states):
    table = inseason_acres(counties, states, 2021)
    assert list(table.columns) == ["region_id", "state_fips", "year", "acres", "source"]
    # Iowa: state harvested 400 + 600 + 500 = 1500 on 2000 planted -> ratio 0.75;
    # shares 300/1500, 600/1500, 600/1500 of 1000 planted x 0.75.
    # State 20 has no June 2021 figure: mean recent harvested (20003's 2019 is withheld).
    assert _weights(table) == pytest.approx(
        {"19001": 150.0, "19003": 300.0, "19005": 300.0, "20001": 70.0, "20003": 30.0,
         "20005": NAN}, nan_ok=True)
    assert table["source"].tolist() == ["planted_share"] * 3 + ["recent_harvested"] * 2 + [
        "no_history"]
    assert table["state_fips"].tolist() == ["19"] * 3 + ["20"] * 3
    assert (table["year"] == 2021).all()


def test_the_target_years_own_acres_never_enter(counties, states):
    before = inseason_acres(counties, states, 2021)
    changed = counties.copy()
    this_year = changed["year"] == 2021
    changed.loc[this_year, "harvested_acres"] = 1e6
    changed.loc[this_year, "yield"] = 1.0
    final_planted = pd.DataFrame({"state_fips": ["19", "20"], "year": 2021,
                                  "reference_period": "YEAR", "variable": "planted_acres",
                                  "value": [5e6, 5e6]})
    after = inseason_acres(changed, pd.concat([states, final_planted]), 2021)
    pd.testing.assert_frame_equal(before, after)


def test_final_planted_acres_are_preferred_for_the_ratio(counties, states):
    final = pd.DataFrame([{"state_fips": "19", "year": 2020, "reference_period": "YEAR",
                           "variable": "planted_acres", "value": 1000.0}])
    table = inseason_acres(counties, pd.concat([states, final]), 2021)
    # ratio 1500 / (500 + 700 + 1000)
    assert _weights(table)["19001"] == pytest.approx(1000 * 0.2 * 1500 / 2200)


def test_ratio_one_without_planted_history_and_others_share(counties, states, others):
    june_only = states[states["year"] == 2021]
    table = inseason_acres(counties, june_only, 2021)
    weights = _weights(table)
    assert [weights[r] for r in ("19001", "19003", "19005")] == pytest.approx([200, 400, 400])
    assert set(table.loc[table["state_fips"] == "19", "source"]) == {"planted_share_ratio1"}
    # With the others in the state's harvested acres (1900), the counties leave them theirs.
    weights = _weights(inseason_acres(counties, june_only, 2021, others=others))
    assert weights["19001"] == pytest.approx(1000 * 300 / 1900)
    # With a ratio the others cancel out: share x ratio = county acres / planted acres.
    assert _weights(inseason_acres(counties, states, 2021, others=others))[
        "19001"] == pytest.approx(150.0)


def test_recent_years_and_regions(counties, states):
    table = inseason_acres(counties, states, 2021, recent_years=1, regions=["19001", "21001"])
    # Iowa 2020 only: 1000 x (100 / 500) x (500 / 800); 21001 is unknown: no history.
    assert _weights(table) == pytest.approx({"19001": 125.0, "21001": NAN}, nan_ok=True)
    assert table["state_fips"].tolist() == ["19", "21"]
    assert table["source"].tolist() == ["planted_share", "no_history"]


def _predictions(forecast_date: str = "08-01") -> pd.DataFrame:
    pred = {"19001": 190.0, "19003": 160.0, "19005": 170.0, "20001": 110.0, "20003": 100.0,
            "20005": 120.0}
    return pd.DataFrame({"model": "m", "forecast_date": forecast_date, "region_id": list(pred),
                         "year": 2021, "y_pred": list(pred.values())})


@pytest.fixture
def acres(counties, states) -> pd.DataFrame:
    return inseason_acres(counties, states, 2021)


def test_state_aggregates_with_final_and_others(acres, counties, others):
    final = counties[["region_id", "year", "yield", "harvested_acres"]]
    out = aggregate(_predictions(), acres, final=final, others=others)
    assert list(out.columns) == list(AGGREGATE_COLUMNS)
    iowa, kansas = out.iloc[0], out.iloc[1]
    assert (iowa["region_id"], kansas["region_id"], iowa["level"]) == ("19", "20", "state")
    # Iowa predicted: (150 x 190 + 300 x 160 + 300 x 170) / 750 = 170, others' 70 acres at 170.
    assert iowa["y_pred"] == pytest.approx(170.0)
    assert iowa["acres_pred"] == pytest.approx(820.0)
    assert iowa["production_pred"] == pytest.approx(127500 + 70 * 170)
    # Iowa true: 200 x 120 + 150 x 210 (19005 unpublished) + others 150 x 70, on 400 acres.
    assert iowa["production_true"] == pytest.approx(24000 + 31500 + 10500)
    assert iowa["acres_true"] == pytest.approx(400.0)
    assert iowa["y_true"] == pytest.approx(165.0)
    assert (iowa["n_counties"], iowa["n_counties_unpublished"]) == (3, 1)
    # Kansas: 20005 has no in-season acres (left out of the prediction), but its published
    # yield counts in the true state total.
    assert kansas["y_pred"] == pytest.approx((70 * 110 + 30 * 100) / 100)
    assert kansas["production_pred"] == pytest.approx(10700.0)
    assert kansas["production_true"] == pytest.approx(100 * 80 + 120 * 20 + 140 * 50)
    assert kansas["y_true"] == pytest.approx(17400 / 150)
    assert (kansas["n_counties"], kansas["n_counties_unpublished"]) == (2, 0)


def test_nation_sums_the_states(acres, counties, others):
    final = counties[["region_id", "year", "yield", "harvested_acres"]]
    both_dates = pd.concat([_predictions("08-01"), _predictions("09-01")])
    out = aggregate(both_dates, acres, level="nation", final=final, others=others)
    assert out["forecast_date"].tolist() == ["08-01", "09-01"]
    us = out.iloc[0]
    assert (us["region_id"], us["level"], us["year"]) == ("US", "nation", 2021)
    assert us["production_pred"] == pytest.approx(139400 + 10700)
    assert us["acres_pred"] == pytest.approx(920.0)
    assert us["y_pred"] == pytest.approx(150100 / 920)
    assert us["production_true"] == pytest.approx(66000 + 17400)
    assert us["y_true"] == pytest.approx(83400 / 550)
    assert (us["n_counties"], us["n_counties_unpublished"]) == (5, 1)


def test_without_final_or_others(acres):
    out = aggregate(_predictions(), acres.drop(columns="year"))
    assert out["y_pred"].tolist() == pytest.approx([170.0, 107.0])
    assert out["acres_pred"].tolist() == pytest.approx([750.0, 100.0])
    assert out[["y_true", "production_true", "acres_true"]].isna().all().all()
    assert out["n_counties_unpublished"].isna().all()


def test_others_reconcile_state_totals(counties, others):
    # Final state production = counties + others: what NASS publishes for the state.
    final = counties[["region_id", "year", "yield", "harvested_acres"]]
    truth_only = final[final["year"] == 2020].assign(forecast_date="08-01", model="m",
                                                     y_pred=1.0)
    acres = final[final["year"] == 2020].assign(state_fips=lambda f: f["region_id"].str[:2],
                                                acres=1.0)[["region_id", "state_fips", "year",
                                                            "acres"]].dropna()
    out = aggregate(truth_only, acres, final=final, others=others)
    iowa = out[out["region_id"] == "19"].iloc[0]
    assert iowa["production_true"] == pytest.approx(150 * (100 + 200 + 200) + 150 * 100)
    assert iowa["acres_true"] == pytest.approx(600.0)


def test_errors_name_the_problem(acres, counties, states):
    with pytest.raises(CropcastError, match=r"level must be one of \['state', 'nation'\]; "
                                            r"got 'county'"):
        aggregate(_predictions(), acres, level="county")
    with pytest.raises(CropcastError, match=r"aggregate: acres is missing the column\(s\) "
                                            r"\['state_fips'\]"):
        aggregate(_predictions(), acres.drop(columns="state_fips"))
    with pytest.raises(CropcastError, match=r"final is missing the column\(s\) \['yield'\]"):
        aggregate(_predictions(), acres, final=counties.drop(columns="yield"))
    with pytest.raises(CropcastError, match=r"acres has 2 rows sharing a \(region_id, year\)"):
        aggregate(_predictions(), pd.concat([acres, acres.iloc[[0]]]))
    with pytest.raises(CropcastError, match=r"inseason_acres: states is missing the column"):
        inseason_acres(counties, states.drop(columns="reference_period"), 2021)
    with pytest.raises(CropcastError, match="recent_years must be an integer >= 1; got 0"):
        inseason_acres(counties, states, 2021, recent_years=0)
    with pytest.raises(CropcastError, match=r"counties has 2 rows sharing a \(region_id, "
                                            r"year\), e.g. \('19001', 2018\)"):
        inseason_acres(pd.concat([counties, counties.iloc[[0]]]), states, 2021)


def test_a_state_without_inseason_acres_is_left_out_of_the_nation(acres, counties, others):
    final = counties[["region_id", "year", "yield", "harvested_acres"]]
    kansas_unweighted = acres.assign(acres=acres["acres"].where(acres["state_fips"] != "20"))
    states = aggregate(_predictions(), kansas_unweighted, final=final, others=others)
    assert states_left_out(states) == {2021: ["20"]}
    us = aggregate(_predictions(), kansas_unweighted, level="nation", final=final,
                   others=others).iloc[0]
    # Iowa alone on both sides (see test_state_aggregates_with_final_and_others).
    assert us["y_pred"] == pytest.approx(170.0)
    assert us["production_true"] == pytest.approx(66000.0)
    assert us["y_true"] == pytest.approx(165.0)
    nobody = acres.assign(acres=np.nan)
    assert aggregate(_predictions(), nobody, level="nation", final=final)["y_pred"].isna().all()
