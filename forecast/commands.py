"""The plain functions behind each ``cropcast`` command (tests call these directly)."""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from features.errors import CropcastError
from forecast.world import World, WorldSpec, build_world

__all__ = ["build", "run_demo", "run_world"]

log = logging.getLogger(__name__)


def build(node: DictConfig) -> object:
    """``hydra.utils.instantiate`` that lets a :class:`CropcastError` through unwrapped.

    Hydra wraps whatever a ``_target_`` raises; a user's bad setting should still reach
    the command line as the project's own one-line message.
    """
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, CropcastError):
            raise cause from None
        raise


def _world_spec(cfg: DictConfig) -> WorldSpec:
    return build(cfg.world)


def run_world(cfg: DictConfig) -> World:
    """Generate (or reuse) the simulated world described by ``cfg.world``.

    Parameters
    ----------
    cfg : DictConfig
        The composed ``world`` config: ``workdir``, ``workers`` and the ``world`` group.

    Returns
    -------
    World
        The world's folder and manifest.
    """
    world = build_world(_world_spec(cfg), Path(cfg.workdir), workers=cfg.workers)
    print(world.summary())
    return world


def run_demo(cfg: DictConfig) -> World:
    """Run every stage that exists on the embedded default world (today: the world)."""
    log.info("demo: stage 1/1: the simulated world")
    return run_world(cfg)
