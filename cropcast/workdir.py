"""The workdir: the one folder under which a command writes everything.

:class:`Workdir` names each of its sub-folders and files once; the commands, the world
generator and (later) the notebook API find everything through it::

    WORKDIR/
      world/<name>/                      simulated worlds (cropcast world)
      data_report.json                   cropcast data
      features/store/                    the feature store (cropcast features)
      features/matrix_asof-<day>.parquet as-of matrices
      backtests/<experiment>/<stamp>/    cropcast backtest
      hydra/                             Hydra's run and sweep folders (configs/hydra)
      mlflow.db, mlartifacts/            MLflow tracking (configs/tracking/mlflow.yaml)
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cropcast.errors import CropcastError

__all__ = ["Workdir", "check_workdir"]


@dataclass(frozen=True)
class Workdir:
    """The folders and files of one workdir (nothing is created by naming them).

    Parameters
    ----------
    root : str or Path
        The workdir (the commands' ``workdir`` setting).

    Attributes
    ----------
    worlds : Path
        Simulated worlds, one folder each (``world/``).
    data_report : Path
        The report of ``cropcast data`` (``data_report.json``).
    features : Path
        The feature store's folder and the as-of matrices beside it (``features/``).
    store : Path
        The feature store (``features/store/``).
    backtests : Path
        Backtest results, one folder per experiment (``backtests/``).
    """

    root: Path
    worlds: Path = field(init=False)
    data_report: Path = field(init=False)
    features: Path = field(init=False)
    store: Path = field(init=False)
    backtests: Path = field(init=False)

    def __post_init__(self) -> None:
        root = Path(self.root)
        named = {"root": root, "worlds": root / "world", "data_report": root / "data_report.json",
                 "features": root / "features", "store": root / "features" / "store",
                 "backtests": root / "backtests"}
        for name, path in named.items():  # a frozen dataclass sets its fields this way
            object.__setattr__(self, name, path)

    def matrix(self, as_of: dt.date | None) -> Path:
        """The as-of matrix written by ``cropcast features as_of=...`` (None: end of season)."""
        day = "end" if as_of is None else as_of.isoformat()
        return self.features / f"matrix_asof-{day}.parquet"

    def backtest(self, experiment: str) -> Path:
        """The folder of one experiment's backtests (one timestamped folder per run)."""
        return self.backtests / experiment

    def checked(self, create: bool = False) -> Workdir:
        """This workdir with an absolute root, after :func:`check_workdir`."""
        return Workdir(check_workdir(self.root, create=create))


def check_workdir(workdir: str | Path, create: bool = False) -> Path:
    """Return ``workdir`` as an absolute path if it is (or can become) a writable folder.

    Parameters
    ----------
    workdir : str or Path
        The folder.
    create : bool
        Create it (and its parents) when missing.

    Raises
    ------
    CropcastError
        When it is a file, or neither it nor its nearest existing parent is writable.
    """
    path = Path(workdir).expanduser().absolute()
    hint = "choose a folder you can write, e.g. workdir=./cropcast-work"
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CropcastError(f"workdir={str(workdir)!r} is not usable: {existing} is a file; "
                            f"{hint}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CropcastError(f"workdir={str(workdir)!r} is not writable (no write permission "
                            f"on {existing}); {hint}")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CropcastError(f"workdir={str(workdir)!r} cannot be created "
                                f"({error.strerror}); {hint}") from None
    return path
