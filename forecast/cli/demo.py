"""``cropcast demo``: every pipeline stage that exists, on the embedded default world."""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from cropcast.forecast.cli import backtest, data, features, world

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Run the world, data, features and backtest commands in turn on one config.

    Parameters
    ----------
    cfg : DictConfig
        The composed ``demo`` config (the backtest's, with the demo's experiment and an
        ``as_of`` for the matrix).

    Returns
    -------
    dict
        ``data_report``, ``features`` and ``backtest``: what each command returned.
    """
    log.info("demo: stage 1/4: the simulated world")
    world.run(cfg)
    log.info("demo: stage 2/4: data sources checked at the door")
    report = data.run(cfg)
    log.info("demo: stage 3/4: the feature store and an as-of matrix")
    matrix = features.run(cfg)
    log.info("demo: stage 4/4: the backtest %s", cfg.experiment_name)
    result = backtest.run(cfg)
    return {"data_report": report, "features": matrix, "backtest": result}
