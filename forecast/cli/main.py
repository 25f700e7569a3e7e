"""The ``cropcast`` console script: ``cropcast COMMAND [key=value ...]``.

Each COMMAND composes ``configs/COMMAND.yaml`` with Hydra, so Hydra's own flags work
(``--help``, ``--cfg job``, ``-m`` for multirun, ``--config-dir DIR`` to add a folder of
the user's configs). The work itself is done by the plain function ``run(cfg)`` of the
command's module (``cropcast.forecast.cli.<command>``), which tests call directly; this
module only dispatches and turns a :class:`CropcastError` into a one-line message and exit
status 2.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from cropcast.errors import CropcastError
from cropcast.workdir import check_workdir

__all__ = ["COMMANDS", "CONFIG_PATH", "default_workdir", "expand_workdir_override", "main",
           "workdir_from_overrides"]

#: The commands; each is the module ``cropcast.forecast.cli.<command>`` with ``run(cfg)``.
COMMANDS = ("world", "data", "features", "backtest", "demo")

# Hydra flags that only print: they must not create the workdir.
_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--resolve",
               "--version", "--shell-completion", "-sc"}

# Search path of the packaged configs; works for editable and regular installs alike.
CONFIG_PATH = "pkg://cropcast.configs"

USAGE = """usage: cropcast COMMAND [key=value ...] [hydra flags]

commands:
  world   generate the simulated corn-belt world (counties, crop masks, weather,
          MODIS-like imagery, NASS-style yields) under WORKDIR/world/
  data    check the configured data sources and write WORKDIR/data_report.json
  features  build or extend the feature store (WORKDIR/features/store); with
          as_of=YYYY-MM-DD (or end) also write the as-of feature matrix
  backtest  backtest a model against the trend baseline over past seasons at every
          forecast date (experiment=NAME, e.g. experiment=demo_expanding); results in
          WORKDIR/backtests/, runs tracked in MLflow
  demo    run every pipeline stage that exists on the embedded default world

Every command takes workdir=DIR (default ./cropcast-work). Hydra flags work:
  cropcast world --help        the command's settings
  cropcast world --cfg job     print the composed config and exit
  cropcast world -m world.seed=1,2   one run per value (multirun)
"""


_OVERRIDE = re.compile(r"^\+{0,2}workdir=(?P<value>.*)$")


def default_workdir() -> str:
    """The ``workdir`` of the packaged ``paths`` config (configs/paths/default.yaml)."""
    config = resources.files("cropcast.configs") / "paths" / "default.yaml"
    return str(OmegaConf.create(config.read_text())["workdir"])


def expand_workdir_override(overrides: Sequence[str]) -> list[str]:
    """Overrides with a ``workdir=~/...`` made absolute, so that Hydra's run folder and the
    command's outputs land in the same place."""
    out = []
    for override in overrides:
        match = _OVERRIDE.match(override)
        if match and match.group("value").strip("'\"").startswith("~"):
            prefix = override[: match.start("value")]
            override = prefix + str(Path(match.group("value").strip("'\"")).expanduser())
        out.append(override)
    return out


def workdir_from_overrides(overrides: Sequence[str]) -> str:
    """The workdir a command line asks for (the last ``workdir=`` override wins)."""
    found = [m.group("value") for m in map(_OVERRIDE.match, overrides) if m]
    return found[-1].strip("'\"") if found else default_workdir()


def _task(command: str) -> Callable[[DictConfig], float | None]:
    """Wrap the command's plain function for ``hydra.main``: errors become one line."""
    run = importlib.import_module(f"cropcast.forecast.cli.{command}").run

    def task(cfg: DictConfig) -> float | None:
        try:
            out = run(cfg)
        except CropcastError as error:
            print(f"cropcast {command}: error: {error}", file=sys.stderr)
            # SystemExit is not an Exception, so Hydra lets it through untouched.
            sys.exit(2)
        # A sweeper that optimises (Optuna) reads the job's return value.
        return out.get("objective") if isinstance(out, dict) else None

    task.__name__ = f"cropcast_{command}"
    return task


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``cropcast`` console script."""
    import hydra

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        sys.exit(0 if args else 2)
    command, overrides = args[0], expand_workdir_override(args[1:])
    if command not in COMMANDS:
        print(
            f"cropcast: error: unknown command {command!r}; "
            f"choose one of: {', '.join(sorted(COMMANDS))} (cropcast --help lists them)",
            file=sys.stderr,
        )
        sys.exit(2)
    if not _INFO_FLAGS.intersection(overrides):
        # Hydra creates its run folder under the workdir before any of our code runs: check
        # the workdir first so that a bad one is a one-line error, not a traceback.
        try:
            check_workdir(workdir_from_overrides(overrides), create=True)
        except CropcastError as error:
            print(f"cropcast {command}: error: {error}", file=sys.stderr)
            sys.exit(2)
    # Hydra parses sys.argv itself; present it the command's own argument list.
    sys.argv = [f"cropcast {command}", *overrides]
    entry = hydra.main(config_path=CONFIG_PATH, config_name=command, version_base="1.3")
    entry(_task(command))()
