"""Shared fixtures: a tiny simulated world, composed through the real Hydra configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

SHARED = Path(__file__).resolve().parents[2] / "shared"


def compose_command(command: str, overrides: list[str]):
    """Compose ``configs/COMMAND.yaml`` with overrides, as the console script does."""
    with initialize_config_module(config_module="configs", version_base="1.3"):
        return compose(config_name=command, overrides=overrides)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The ``world=tiny`` world (Iowa, 2009-2013, 4 km), generated once per session."""
    from forecast.commands import run_world

    workdir = tmp_path_factory.mktemp("tiny")
    return run_world(compose_command("world", ["world=tiny", f"workdir={workdir}"]))
