"""``cropcast backtest``: a configured backtest from data to tracked results.

Composes the pieces the config names (data catalog, feature store and matrix spec,
model, baselines, splitter, tracking), runs :func:`forecast.backtest.run_backtest`, and
writes ``WORKDIR/backtests/<experiment>/<timestamp>/`` atomically (a temporary folder
renamed at the end): ``metrics.csv``, ``predictions.parquet``, ``aggregated.parquet``,
``reliability.csv``, ``coverage_by_year.csv``, ``config.yaml``, ``notes.txt`` and plots.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from features.errors import CropcastError
from forecast.backtest import BacktestData, BacktestResult, forecast_dates, run_backtest
from forecast.commands import FEATURES_DIR, build, data_catalog
from forecast.usda import usda_summary

__all__ = ["BACKTESTS_DIR", "run_backtest_command"]

BACKTESTS_DIR = "backtests"
_OBJECTIVES = ("rmse", "nrmse", "mape")
log = logging.getLogger(__name__)


def _yields(catalog) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """County yields (+ acres, state), state planted acres and non-county rows."""
    if catalog.yields is None:
        raise CropcastError("a backtest needs yields: set data.yields")
    loaded = catalog.yields.load()
    if hasattr(loaded, "counties"):  # Quick Stats
        return loaded.counties, loaded.states, loaded.others
    table = loaded.rename(columns={"harvested_area": "harvested_acres"})
    return table, None, None


def _matrix_builder(cfg: DictConfig, catalog, spec):
    from features.asof import series_rows
    from features.store import FeatureStore
    from forecast.feature_store import build_store

    store = FeatureStore(Path(cfg.workdir) / FEATURES_DIR / "store")
    if catalog.imagery or catalog.weather is not None:
        regions, _ = catalog.boundaries.load()
        report = build_store(catalog, regions, store, workers=cfg.workers,
                             scheduler=cfg.get("scheduler"))
        print(report.summary())
    rows = store.load()
    extra = [series_rows(series) for series in catalog.series]
    if extra:
        rows = pd.concat([rows, *extra], ignore_index=True)
    fingerprint = hashlib.sha256(json.dumps(store.manifest().get("units", {}),
                                            sort_keys=True).encode())
    for series in [*catalog.series, *catalog.features]:
        fingerprint.update(Path(series.path).read_bytes())

    weather = spec.daily_weather(rows)  # degree days of the whole record, computed once
    final = spec.final_weather(weather)  # and earlier seasons' end-of-season weather

    def matrix(as_of):
        if rows.empty and not catalog.features:
            return pd.DataFrame(columns=["region_id", "year"])
        return spec.matrix(rows, as_of, catalog.features, weather, final)

    return matrix, fingerprint.hexdigest()[:16]


def _git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def _write(result: BacktestResult, folder: Path, cfg: DictConfig, regions) -> list[Path]:
    from forecast.plots import county_error_map, predicted_vs_observed, save_figure, skill_by_date

    result.metrics.to_csv(folder / "metrics.csv", index=False)
    result.predictions.to_parquet(folder / "predictions.parquet", index=False)
    result.coverage.to_csv(folder / "coverage_by_year.csv", index=False)
    if not result.aggregated.empty:
        result.aggregated.to_parquet(folder / "aggregated.parquet", index=False)
        result.reliability.to_csv(folder / "reliability.csv", index=False)
    if not result.usda.empty:
        result.usda.to_csv(folder / "usda_comparison.csv", index=False)
        usda_summary(result.usda).to_csv(folder / "usda_summary.csv", index=False)
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (folder / "notes.txt").write_text("\n".join(result.notes) + "\n")
    title = f"{cfg.experiment_name}: {cfg.cv.get('_target_', '').rsplit('.', 1)[-1]}"
    save_figure(skill_by_date(result.metrics, title=title), folder / "skill_by_date.png")
    save_figure(predicted_vs_observed(result.predictions), folder / "predicted_vs_observed.png")
    if regions is not None:
        last = result.predictions[result.predictions["forecast_date"]
                                  == result.predictions["forecast_date"].max()]
        errors = (last.assign(error=last["y_pred"] - last["y_true"])
                  .groupby(["model", "region_id"], as_index=False)["error"].mean())
        chosen = errors[errors["model"] == cfg.model.name]
        save_figure(county_error_map(chosen, regions, title=f"{cfg.model.name}: mean error "
                                     "at the last forecast date"), folder / "county_errors.png")
    return sorted(folder.iterdir())


def run_backtest_command(cfg: DictConfig) -> dict:
    """Run the configured backtest; returns its result and output folder (and, with
    ``objective``, the value an optimising sweeper minimises)."""
    if cfg.get("objective") not in (None, *_OBJECTIVES):
        raise CropcastError(f"objective must be one of {list(_OBJECTIVES)} (minimised) or "
                            f"null; got {cfg.objective!r}")
    spec = build(cfg.features, "features")
    models = {name: build(node, f"baselines.{name}") for name, node in cfg.baselines.items()}
    models[cfg.model.name] = build(cfg.model.estimator, "model.estimator")
    splitter = build(cfg.cv, "cv")
    tracker = build(cfg.tracking, "tracking")
    tracker.check(cfg.experiment_name)  # a bad tracking URI fails before the work
    dates = forecast_dates(**OmegaConf.to_container(cfg.forecast, resolve=True))
    catalog = data_catalog(cfg)
    counties, states, others = _yields(catalog)
    matrix, fingerprint = _matrix_builder(cfg, catalog, spec)
    data = BacktestData(counties, matrix, states, others)
    releases = cfg.get("usda_releases")
    result = run_backtest(data, models, splitter, dates, level=cfg.interval_level,
                          min_calibration_years=cfg.min_calibration_years,
                          baseline=cfg.baseline, workers=cfg.workers,
                          usda_releases=dict(releases) if releases else None)
    root = Path(cfg.workdir) / BACKTESTS_DIR / cfg.experiment_name
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = Path(tempfile.mkdtemp(prefix=f".{stamp}.", dir=root))
    try:
        regions = catalog.boundaries.load()[0] if catalog.boundaries is not None else None
        artifacts = _write(result, staging, cfg, regions)
        folder = root / stamp
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    artifacts = [folder / p.name for p in artifacts]
    tags = {"git_commit": _git_commit(), "data_fingerprint": fingerprint,
            "job": f"{cfg.model.name} ({splitter.name})"}
    sweep = _sweep_folder()
    with tracker.experiment(cfg.experiment_name, OmegaConf.to_container(cfg, resolve=True),
                            tags, sweep):
        for name in models:
            tracker.log_model_run(name, result.metrics[result.metrics["model"] == name],
                                  artifacts if name == cfg.model.name else [],
                                  result.final_models[name], result.final_inputs)
    print(_summary(result, folder))
    out = {"result": result, "folder": folder}
    if cfg.get("objective"):
        out["objective"] = _objective(result, cfg.model.name, cfg.objective)
        print(f"objective ({cfg.objective} of {cfg.model.name}, mean over forecast dates): "
              f"{out['objective']:.4f}")
    return out


def _objective(result: BacktestResult, model: str, metric: str) -> float:
    """The value a sweeper minimises: ``metric`` of ``model`` averaged over the dates."""
    rows = result.metrics[result.metrics["model"] == model]
    return float(rows[metric].mean())


def _sweep_folder() -> str | None:
    """The sweep folder of a Hydra ``-m`` job (its jobs share one parent run), else None."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return str(hydra.sweep.dir) if hydra.mode == RunMode.MULTIRUN else None


def _summary(result: BacktestResult, folder: Path) -> str:
    table = result.metrics.pivot(index="forecast_date", columns="model",
                                 values="rmse").round(2)
    lines = ["county RMSE (bu/ac) by forecast date:", table.to_string()]
    if not result.usda.empty:
        lines += ["state yield RMSE (% of final), ours before each USDA forecast vs USDA's:",
                  usda_summary(result.usda).round(2).to_string(index=False)]
    lines += [*[f"note: {n}" for n in result.notes], f"results: {folder}"]
    return "\n".join(lines)
