"""A backtest at research scale: 20 seasons x 16 forecast dates x 2,000 regions, 2 cores.

    python benchmarks/backtest.py [--regions 2000] [--years 20] [--dates 16] [--workers 2]

Synthetic regions (40 states of 50 counties) with trend yields, weather-like shocks and
a 60-column as-of matrix per forecast date whose columns carry more of the season's shock
as the date advances, so the models have something to learn, plus the three end-of-season
stress columns (``final_...``) the models' trend is backfitted on. The models are the demo
experiment's: the region trend baseline and ``lgbm_ridge`` (LightGBM and ridge on trend
residuals), instantiated from ``configs/`` as ``cropcast backtest`` does. The backtest runs through
:func:`cropcast.forecast.evaluation.backtest.run_backtest` (expanding window, intervals,
state and national aggregation, final refits); the matrix builder is the only part not
timed through the feature store (that has its own figures). Goal: under 5 minutes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from peak_memory import peak_mb

from cropcast.forecast.evaluation.backtest import BacktestData, forecast_dates, run_backtest
from cropcast.forecast.evaluation.splits import ExpandingWindow

FINAL_COLUMNS = ("wx_edd_tt_flowering", "wx_ws_tt_flowering", "wx_edd_tt_season")


def world(regions: int, years: int, dates: list[str], seed: int = 0):
    """Yields and one feature matrix per forecast date."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"{10 + i // 50:02d}{i % 50 + 1:03d}" for i in range(regions)])
    seasons = np.arange(2025 - years, 2025)
    level = rng.normal(170, 20, regions)
    slope = rng.normal(2.0, 0.4, regions)
    shock = rng.normal(0, 15, (years, 1)) + rng.normal(0, 8, (years, regions))
    region, season = np.meshgrid(np.arange(regions), np.arange(years))
    yields = pd.DataFrame({
        "region_id": ids[region.ravel()], "year": seasons[season.ravel()],
        "yield": (level[region] + slope[region] * (season - years)).ravel() + shock.ravel()
        + rng.normal(0, 6, region.size),
        "harvested_acres": rng.uniform(20_000, 150_000, regions)[region.ravel()],
    })
    # End-of-season stress indices of complete seasons, as features.final_columns gives
    # them to the models' trend (the backtest blanks the test season's).
    final = {f"final_{name}": shock.ravel() * rng.uniform(0.5, 1.0) + rng.normal(0, 5, region.size)
             for name in FINAL_COLUMNS}
    matrices = {}
    for k, day in enumerate(dates):
        seen = (k + 1) / len(dates)  # the share of the season's shock visible by then
        columns = {f"f{j:02d}": shock.ravel() * seen * rng.uniform(0.2, 1.0)
                   + rng.normal(0, 10, region.size) for j in range(60)}
        matrices[day] = pd.DataFrame({"region_id": ids[region.ravel()],
                                      "year": seasons[season.ravel()], **columns, **final})
    return yields, matrices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=2000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--dates", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    dates = forecast_dates(start="05-15", end="10-15", every_days=10)[:args.dates]
    yields, matrices = world(args.regions, args.years, dates)
    with initialize_config_module(config_module="cropcast.configs", version_base="1.3"):
        cfg = compose(config_name="backtest", overrides=["tracking=none"])
    models = {"trend": instantiate(cfg.baselines.trend, _convert_="all"),
              cfg.model.name: instantiate(cfg.model.estimator, _convert_="all")}
    data = BacktestData(yields, lambda as_of: matrices[as_of.strftime("%m-%d")])
    start = time.perf_counter()
    result = run_backtest(data, models, ExpandingWindow(min_train_years=5), dates,
                          workers=args.workers, progress=False)
    seconds = time.perf_counter() - start
    fits = len(dates) * (args.years - 5) * len(models)
    print(f"{args.regions} regions x {args.years} seasons x {len(dates)} forecast dates, "
          f"{len(models)} models ({', '.join(models)}), {args.workers} workers")
    print(f"{fits} fits + predictions, intervals, aggregation, final refits: {seconds:.0f} s "
          f"({seconds / 60:.1f} min; goal 5 min), peak {peak_mb():.0f} MB")
    late = result.metrics[result.metrics["forecast_date"] == dates[-1]]
    print(late[["model", "forecast_date", "n", "rmse", "skill_vs_trend"]].to_string(index=False))


if __name__ == "__main__":
    main()
