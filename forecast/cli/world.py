"""``cropcast world``: generate (or reuse) the simulated world."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from cropcast.features.world import World, build_world
from cropcast.forecast.cli.compose import world_spec

__all__ = ["run"]


def run(cfg: DictConfig) -> World:
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
    world = build_world(world_spec(cfg), Path(cfg.workdir), workers=cfg.workers)
    print(world.summary())
    return world
