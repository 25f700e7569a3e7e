"""A backtest's results folder: its tables, config, notes and plots, written atomically.

``WORKDIR/backtests/<experiment>/<timestamp>/`` holds ``metrics.csv``,
``predictions.parquet``, ``coverage_by_year.csv``, ``aggregated.parquet`` and
``reliability.csv`` (with state and national figures), ``usda_comparison.csv`` and
``usda_summary.csv`` (with USDA forecasts), ``config.yaml``, ``notes.txt`` and the plots
``skill_by_date.png``, ``predicted_vs_observed.png`` and ``county_errors.png`` (with region
polygons). The folder is written under a hidden temporary name and renamed when complete:
a failed run leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd

from cropcast.forecast.evaluation.backtest import BacktestResult
from cropcast.forecast.evaluation.usda import usda_summary
from cropcast.forecast.reporting.plots import (
    county_error_map,
    predicted_vs_observed,
    save_figure,
    skill_by_date,
)

__all__ = ["save_backtest"]


def save_backtest(result: BacktestResult, root: Path, config_yaml: str, model: str,
                  title: str, regions: gpd.GeoDataFrame | None = None) -> tuple[Path, list[Path]]:
    """Write ``result`` to a new timestamped folder under ``root``.

    Parameters
    ----------
    result : BacktestResult
        What :func:`cropcast.forecast.evaluation.backtest.run_backtest` returned.
    root : Path
        The experiment's folder (``Workdir.backtest(name)``); created if needed.
    config_yaml : str
        The resolved config, saved as ``config.yaml``.
    model : str
        The model whose county errors are mapped.
    title : str
        Title of the skill plot.
    regions : GeoDataFrame, optional
        Region polygons for the county error map (no map without them).

    Returns
    -------
    (Path, list of Path)
        The folder and its files.
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = Path(tempfile.mkdtemp(prefix=f".{stamp}.", dir=root))
    try:
        _write(result, staging, config_yaml, model, title, regions)
        folder = root / stamp
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder, sorted(folder.iterdir())


def _write(result: BacktestResult, folder: Path, config_yaml: str, model: str, title: str,
           regions: gpd.GeoDataFrame | None) -> None:
    result.metrics.to_csv(folder / "metrics.csv", index=False)
    result.predictions.to_parquet(folder / "predictions.parquet", index=False)
    result.coverage.to_csv(folder / "coverage_by_year.csv", index=False)
    if not result.aggregated.empty:
        result.aggregated.to_parquet(folder / "aggregated.parquet", index=False)
        result.reliability.to_csv(folder / "reliability.csv", index=False)
    if not result.usda.empty:
        result.usda.to_csv(folder / "usda_comparison.csv", index=False)
        usda_summary(result.usda).to_csv(folder / "usda_summary.csv", index=False)
    (folder / "config.yaml").write_text(config_yaml)
    (folder / "notes.txt").write_text("\n".join(result.notes) + "\n")
    save_figure(skill_by_date(result.metrics, title=title), folder / "skill_by_date.png")
    save_figure(predicted_vs_observed(result.predictions), folder / "predicted_vs_observed.png")
    if regions is not None:
        last = result.predictions[result.predictions["forecast_date"]
                                  == result.predictions["forecast_date"].max()]
        errors = (last.assign(error=last["y_pred"] - last["y_true"])
                  .groupby(["model", "region_id"], as_index=False)["error"].mean())
        chosen = errors[errors["model"] == model]
        save_figure(county_error_map(chosen, regions, title=f"{model}: mean error at the last "
                                     "forecast date"), folder / "county_errors.png")
