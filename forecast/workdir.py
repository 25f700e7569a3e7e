"""The workdir: the one folder under which a command writes everything."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from features.errors import CropcastError

__all__ = ["DEFAULT_WORKDIR", "check_workdir", "expand_workdir_override",
           "workdir_from_overrides"]

DEFAULT_WORKDIR = "./cropcast-work"
_OVERRIDE = re.compile(r"^\+{0,2}workdir=(?P<value>.*)$")


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
    return found[-1].strip("'\"") if found else DEFAULT_WORKDIR
