"""The workdir: checked before Hydra writes into it, ``~`` expanded once for everyone."""

import os
from pathlib import Path

from features.atomic import write_text_atomic
from forecast.workdir import expand_workdir_override, workdir_from_overrides


def test_tilde_is_expanded_so_hydra_and_the_command_agree():
    home = str(Path("~").expanduser())
    assert expand_workdir_override(["world=tiny", "workdir=~/cc"]) == [
        "world=tiny", f"workdir={home}/cc"]
    assert expand_workdir_override(["++workdir='~/cc'"]) == [f"++workdir={home}/cc"]
    assert workdir_from_overrides(["workdir=a", "workdir=b"]) == "b"
    assert workdir_from_overrides([]) == "./cropcast-work"


def test_atomic_writes_honour_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "report.json", "{}\n")
    finally:
        os.umask(previous)
    assert path.read_text() == "{}\n"
    assert (path.stat().st_mode & 0o777) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
