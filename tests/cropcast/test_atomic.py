"""Atomic writes: the old file or the new one, never half of either, with the umask's mode."""

import os

import pytest

from cropcast.atomic import write_atomic, write_parquet_atomic, write_text_atomic


def test_atomic_writes_honour_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "report.json", "{}\n")
    finally:
        os.umask(previous)
    assert path.read_text() == "{}\n"
    assert (path.stat().st_mode & 0o777) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "report.json", "old\n")

    def half_then_fail(temporary: str) -> None:
        with open(temporary, "w") as out:
            out.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, half_then_fail)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_parquet_is_written_without_the_index(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"region_id": ["19001"], "year": [2012]}, index=[7])
    path = write_parquet_atomic(frame, tmp_path / "sub" / "m.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame.reset_index(drop=True))
