"""``cropcast backtest``: a configured backtest from data to tracked results.

Composes the pieces the config names (data catalog, feature store and matrix spec,
model, baselines, splitter, tracking), runs
:func:`cropcast.forecast.evaluation.backtest.run_backtest`, writes
``WORKDIR/backtests/<experiment>/<timestamp>/``
(:func:`cropcast.forecast.reporting.results.save_backtest`) and tracks the run.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from cropcast.errors import CropcastError
from cropcast.features.sources.catalog import DataCatalog
from cropcast.features.store.build import data_fingerprint
from cropcast.forecast.cli.compose import data_catalog, feature_rows, from_config, matrix_spec
from cropcast.forecast.evaluation.backtest import (
    BacktestData,
    BacktestResult,
    forecast_dates,
    run_backtest,
)
from cropcast.forecast.evaluation.usda import usda_summary
from cropcast.forecast.reporting.results import save_backtest
from cropcast.workdir import Workdir

__all__ = ["OBJECTIVES", "run"]

#: What a job may return to an optimising sweeper (``objective``), averaged over dates.
OBJECTIVES = ("rmse", "nrmse", "mape")


def run(cfg: DictConfig) -> dict:
    """Run the configured backtest.

    Parameters
    ----------
    cfg : DictConfig
        The composed ``backtest`` config, with an experiment.

    Returns
    -------
    dict
        ``result`` (:class:`BacktestResult`), ``folder`` (the results folder) and, with
        ``objective``, the value an optimising sweeper minimises.
    """
    name = _experiment_name(cfg)
    if cfg.get("objective") not in (None, *OBJECTIVES):
        raise CropcastError(f"objective must be one of {list(OBJECTIVES)} (minimised) or "
                            f"null; got {cfg.objective!r}")
    spec = matrix_spec(cfg)
    models = {key: from_config(node, f"baselines.{key}") for key, node in cfg.baselines.items()}
    models[cfg.model.name] = from_config(cfg.model.estimator, "model.estimator")
    splitter = from_config(cfg.cv, "cv")
    tracker = from_config(cfg.tracking, "tracking")
    tracker.check(name)  # a bad tracking URI fails before the work
    dates = forecast_dates(**OmegaConf.to_container(cfg.forecast, resolve=True))
    catalog = data_catalog(cfg)
    counties, states, others = _yields(catalog)
    regions = catalog.boundaries.load()[0] if catalog.boundaries is not None else None
    rows, store, _ = feature_rows(cfg, catalog, regions)
    data = BacktestData(counties, spec.matrices(rows, catalog.features), states, others)
    releases = cfg.get("usda_releases")
    result = run_backtest(data, models, splitter, dates, level=cfg.interval_level,
                          min_calibration_years=cfg.min_calibration_years,
                          baseline=cfg.baseline, workers=cfg.workers,
                          usda_releases=dict(releases) if releases else None)
    title = f"{name}: {cfg.cv.get('_target_', '').rsplit('.', 1)[-1]}"
    folder, artifacts = save_backtest(result, Workdir(cfg.workdir).backtest(name),
                                      OmegaConf.to_yaml(cfg, resolve=True), cfg.model.name,
                                      title, regions)
    tags = {"git_commit": _git_commit(), "data_fingerprint": data_fingerprint(store, catalog),
            "job": f"{cfg.model.name} ({splitter.name})"}
    with tracker.experiment(name, OmegaConf.to_container(cfg, resolve=True), tags,
                            _sweep_folder()):
        for model in models:
            tracker.log_model_run(model, result.metrics[result.metrics["model"] == model],
                                  artifacts if model == cfg.model.name else [],
                                  result.final_models[model], result.final_inputs)
    print(_summary(result, folder))
    out = {"result": result, "folder": folder}
    if cfg.get("objective"):
        out["objective"] = _objective(result, cfg.model.name, cfg.objective)
        print(f"objective ({cfg.objective} of {cfg.model.name}, mean over forecast dates): "
              f"{out['objective']:.4f}")
    return out


def _experiment_name(cfg: DictConfig) -> str:
    """The experiment's name, or a one-line error listing the experiments to choose from."""
    if OmegaConf.is_missing(cfg, "experiment_name"):
        raise CropcastError(f"a backtest needs an experiment: add experiment=NAME, one of "
                            f"{', '.join(experiment_options())} (configs/experiment/), or "
                            "experiment_name=NAME for a study of your own")
    return str(cfg.experiment_name)


def experiment_options() -> list[str]:
    """The experiments Hydra can compose: the packaged ones and, inside a Hydra run, those
    of the user's ``--config-dir``."""
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return sorted(GlobalHydra.instance().config_loader().get_group_options("experiment"))
    folder = resources.files("cropcast.configs") / "experiment"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def _yields(catalog: DataCatalog) -> tuple[pd.DataFrame, pd.DataFrame | None,
                                           pd.DataFrame | None]:
    """County yields (+ acres, state), state planted acres and non-county rows."""
    if catalog.yields is None:
        raise CropcastError("a backtest needs yields: set data.yields")
    loaded = catalog.yields.load()
    if hasattr(loaded, "counties"):  # Quick Stats
        return loaded.counties, loaded.states, loaded.others
    return loaded, None, None


def _git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


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
