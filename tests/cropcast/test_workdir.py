"""The workdir: one object names its folders; a bad one is refused before anything runs."""

import datetime as dt
from pathlib import Path

import pytest

from cropcast.errors import CropcastError
from cropcast.workdir import Workdir, check_workdir


def test_the_workdir_names_every_folder_under_its_root():
    workdir = Workdir("w")
    assert workdir.root == Path("w")
    assert workdir.worlds == Path("w/world")
    assert workdir.data_report == Path("w/data_report.json")
    assert workdir.store == Path("w/features/store")
    assert workdir.matrix(dt.date(2024, 8, 1)) == Path("w/features/matrix_asof-2024-08-01.parquet")
    assert workdir.matrix(None) == Path("w/features/matrix_asof-end.parquet")
    assert workdir.backtest("demo_expanding") == Path("w/backtests/demo_expanding")
    assert not Path("w").exists()  # naming creates nothing


def test_a_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(CropcastError, match=r"workdir='.*blocker/inside' is not usable: .* "
                                            r"is a file"):
        check_workdir(tmp_path / "blocker" / "inside", create=True)
    checked = Workdir(tmp_path / "new" / "w").checked(create=True)
    assert checked.root.is_dir() and checked.root.is_absolute()
