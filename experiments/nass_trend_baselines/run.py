"""Walk-forward trend baselines on real NASS county corn yields, test seasons 2015-2025.

Run from the project root:  .venv/bin/python experiments/nass_trend_baselines/run.py
Writes results/metrics.csv, per_year.csv, national.csv and reliability.csv next to itself.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.sources.tables import YieldTable
from forecast.aggregate import aggregate, inseason_acres
from forecast.metrics import reliability_table, score
from forecast.splits import ExpandingWindow
from models import RecentMean, RegionTrend

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NASS = ROOT.parent / "shared" / "data" / "nass" / "nass_county_corn_grain_1926_2025.csv"
FIRST_YEAR, TEST_YEARS = 1990, list(range(2015, 2026))
DATE = "end"  # pre-season trend forecasts: one label for every season
SHRINKAGE = 5.0  # pseudo-years of the state slope mixed into each county's slope
BASELINE = "ols_15y"
PARENT = "state_fips"
OUT_COLUMNS = ["rmse", "nrmse", "mape", "r2", "bias", "skill_vs_trend"]


def models() -> dict[str, tuple[object, int]]:
    """Name -> (unfitted estimator, first training year)."""
    return {
        BASELINE: (RegionTrend(max_years=15), FIRST_YEAR),
        "ols_since1990": (RegionTrend(), FIRST_YEAR),
        "theilsen_15y": (RegionTrend(robust=True, max_years=15), FIRST_YEAR),
        f"shrunk{SHRINKAGE:g}_15y": (RegionTrend(shrinkage=SHRINKAGE, max_years=15,
                                                 parent_column=PARENT), FIRST_YEAR),
        "recent_mean_5y": (RecentMean(n_years=5), FIRST_YEAR),
    }


def load() -> tuple[pd.DataFrame, int]:
    """County-years since FIRST_YEAR with a yield; also the number of 0-yield rows dropped."""
    table = YieldTable(str(NASS), region_column="fips", year_column="year",
                       yield_column="yield_bu_ac", area_column="area_harvested_ac",
                       region_id_width=5).load()
    table = table[table["year"] >= FIRST_YEAR].rename(columns={"harvested_area":
                                                               "harvested_acres"})
    # 1998-2009 hold yield 0.0 rows without harvested acres or production: placeholders
    # for "not published", not crop failures. Treat them as missing (see README).
    placeholder = (table["yield"] == 0) & table["harvested_acres"].isna()
    table = table[~placeholder & table["yield"].notna()].copy()
    table["region_id"] = table["region_id"].astype(str)
    table[PARENT] = table["region_id"].str[:2]
    return table.reset_index(drop=True), int(placeholder.sum())


def walk_forward(table: pd.DataFrame) -> pd.DataFrame:
    """Predictions of every model for every test county-year (fit on earlier years only)."""
    keys = ["region_id", "year", PARENT]
    rows = []
    for train_years, test in ExpandingWindow(test_years=TEST_YEARS).splits(table["year"]):
        train = table[table["year"].isin(train_years)]
        rows_test = table[table["year"] == test]
        for name, (estimator, first) in models().items():
            fit_rows = train[train["year"] >= first]
            estimator.fit(fit_rows[keys], fit_rows["yield"])
            rows.append(rows_test[["region_id", "year"]].assign(
                model=name, forecast_date=DATE, y_true=rows_test["yield"].to_numpy(),
                y_pred=estimator.predict(rows_test[keys])))
    return pd.concat(rows, ignore_index=True)


def per_year(predictions: pd.DataFrame) -> pd.DataFrame:
    """score() applied to each test season apart."""
    parts = [score(p, baseline=BASELINE).assign(year=y)
             for y, p in predictions.groupby("year")]
    return pd.concat(parts, ignore_index=True)[["model", "year", "n", *OUT_COLUMNS]]


def acre_weights(table: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """In-season acres of each test season's counties, from the 3 seasons before it."""
    # The county file has no state June Acreage rows: an empty states table makes
    # inseason_acres fall back to each county's recent harvested acres.
    states = pd.DataFrame({"state_fips": pd.Series(dtype=str), "year": pd.Series(dtype=int),
                           "reference_period": pd.Series(dtype=str),
                           "variable": pd.Series(dtype=str), "value": pd.Series(dtype=float)})
    counties = table[["region_id", "year", "harvested_acres", PARENT]]
    parts = []
    for year in TEST_YEARS:
        regions = predictions.loc[predictions["year"] == year, "region_id"].unique()
        parts.append(inseason_acres(counties[counties["year"] < year], states, year,
                                    recent_years=3, regions=regions))
    return pd.concat(parts, ignore_index=True)


def national(table: pd.DataFrame, predictions: pd.DataFrame, weights: pd.DataFrame,
             level: str = "nation") -> pd.DataFrame:
    """Acre-weighted yields of every model and season against the same counties' truth.

    Only counties with in-season acres enter, on both sides: aggregate() turns the whole
    national figure into NaN when one state has no such county (e.g. Idaho 2016), see README.
    """
    weighted = weights.loc[weights["acres"].notna(), ["region_id", "year"]]
    final = table[["region_id", "year", "yield", "harvested_acres"]].merge(weighted)
    out = aggregate(predictions.merge(weighted), weights, level=level, final=final)
    out["error_pct"] = 100 * (out["y_pred"] - out["y_true"]) / out["y_true"]
    return out


def show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n## {title}\n")
    print(frame.to_string(float_format=lambda v: f"{v:.2f}"))


def main() -> None:
    table, dropped = load()
    print(f"{len(table):,} county-years {FIRST_YEAR}-{table['year'].max()} "
          f"({table['region_id'].nunique():,} counties); dropped {dropped} yield-0 "
          "placeholder rows without acres")
    predictions = walk_forward(table)
    weights = acre_weights(table, predictions)
    # Counties without a yield in the 3 seasons before the test season (no in-season
    # acres) extrapolate lines fitted long ago; score them apart as well.
    recent = predictions.merge(weights.loc[weights["acres"].notna(), ["region_id", "year"]])
    metrics = pd.concat([score(predictions, baseline=BASELINE).assign(counties="all"),
                         score(recent, baseline=BASELINE).assign(counties="recent")],
                        ignore_index=True)
    yearly = per_year(predictions)
    nation = national(table, predictions, weights)
    states = national(table, predictions, weights, level="state")
    reliability = pd.concat([reliability_table(nation), reliability_table(states)],
                            ignore_index=True)

    results = HERE / "results"
    results.mkdir(exist_ok=True)
    metrics.to_csv(results / "metrics.csv", index=False)
    yearly.to_csv(results / "per_year.csv", index=False)
    nation.to_csv(results / "national.csv", index=False)
    reliability.to_csv(results / "reliability.csv", index=False)

    order = list(models())
    for subset, title in (("all", "all test counties"),
                          ("recent", "counties with a yield in the 3 prior seasons")):
        show(f"County scores 2015-2025, {title} (bu/ac; nrmse, mape in %)",
             metrics[metrics["counties"] == subset].set_index("model").loc[
                 order, ["n", *OUT_COLUMNS]])
    show("County RMSE by test year (bu/ac)",
         yearly.pivot(index="year", columns="model", values="rmse")[order])
    show("County skill vs ols_15y by test year",
         yearly.pivot(index="year", columns="model", values="skill_vs_trend")[order])
    sources = weights.groupby(["year", "source"]).size().unstack(fill_value=0)
    show("In-season acre weights: counties per source", sources)
    test = table[table["year"].isin(TEST_YEARS)].merge(weights[["region_id", "year", "acres"]])
    left_out = test[test["acres"].isna()].groupby("year")["harvested_acres"].sum()
    true = nation.groupby("year")[["y_true"]].first().assign(
        left_out_acres_pct=100 * left_out.reindex(TEST_YEARS, fill_value=0.0)
        / test.groupby("year")["harvested_acres"].sum())
    show("National yield error % (pred vs same counties' final, acre-weighted)",
         nation.pivot(index="year", columns="model", values="error_pct")[order]
         .join(true.rename(columns={"y_true": "true_bu_ac"})))
    national_rel = reliability[reliability["region_id"] == "US"].set_index("model").loc[order]
    show("National reliability (USDA style)", national_rel.drop(
        columns=["forecast_date", "region_id"]))
    state_rel = reliability[reliability["region_id"] != "US"]
    big = (states.groupby("region_id")["acres_true"].mean().nlargest(10).index)
    show("State yield RMSE % (10 largest corn states by harvested acres)",
         state_rel[state_rel["region_id"].isin(big)].pivot(
             index="region_id", columns="model", values="rmse_pct")[order])


if __name__ == "__main__":
    main()
