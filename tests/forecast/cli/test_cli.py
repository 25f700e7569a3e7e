"""The cropcast console script: Hydra composition, flags, one-line errors, the demo."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cropcast.forecast.cli.main import expand_workdir_override, workdir_from_overrides

CROPCAST = Path(sys.executable).with_name("cropcast")


def run(*args, cwd):
    return subprocess.run([str(CROPCAST), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def test_tilde_is_expanded_so_hydra_and_the_command_agree():
    home = str(Path("~").expanduser())
    assert expand_workdir_override(["world=tiny", "workdir=~/cc"]) == [
        "world=tiny", f"workdir={home}/cc"]
    assert expand_workdir_override(["++workdir='~/cc'"]) == [f"++workdir={home}/cc"]
    assert workdir_from_overrides(["workdir=a", "workdir=b"]) == "b"
    assert workdir_from_overrides([]) == "./cropcast-work"  # configs/paths/default.yaml


def test_help_lists_the_commands(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert all(c in result.stdout for c in ("world", "data", "demo"))
    assert list(tmp_path.iterdir()) == []


def test_unknown_command_is_one_line(tmp_path):
    result = run("forcast", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cropcast: error: unknown command 'forcast'; choose one of: backtest, data, demo, "
        "features, world (cropcast --help lists them)"]


@pytest.mark.slow
@pytest.mark.parametrize(("override", "start"), [
    ("world.states=[XX]", "cropcast world: error: world.states must be"),
    ("world.last_year=1990", "cropcast world: error: world.first_year/last_year must be"),
    ("world.resolution_m=0", "cropcast world: error: world.resolution_m must be"),
    ("workdir=blocker/inside", "cropcast world: error: workdir='blocker/inside' is not usable"),
    ("workers=abc", "cropcast world: error: workers must be an integer >= 1; got 'abc'"),
])
def test_bad_settings_are_one_line_errors_not_tracebacks(tmp_path, override, start):
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = run("world", override, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cfg_job_prints_the_composed_config_and_writes_nothing(tmp_path):
    result = run("world", "--cfg", "job", "world=tiny", "workdir=w", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "states:\n  - IA" in result.stdout and "workdir: w" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_world_help_shows_the_config_groups(tmp_path):
    result = run("world", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "world: default, tiny" in result.stdout


@pytest.mark.slow
def test_demo_runs_on_a_tiny_world_and_keeps_everything_in_the_workdir(tmp_path):
    # five seasons: three train the first test season
    demo = ("demo", "world=tiny", "workdir=work", "cv.min_train_years=3")
    result = run(*demo, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "world generated" in result.stdout
    assert "data: every source is valid" in result.stdout
    assert "feature store: 75 unit(s) computed" in result.stdout
    assert "matrix as of 2024-08-01: 495 region-years" in result.stdout
    assert "county RMSE (bu/ac) by forecast date" in result.stdout
    backtests = list((tmp_path / "work" / "backtests" / "demo_expanding").iterdir())
    assert len(backtests) == 1 and (backtests[0] / "metrics.csv").is_file()
    assert (tmp_path / "work" / "mlflow.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    report = json.loads((tmp_path / "work" / "data_report.json").read_text())
    assert report["yields"]["regions"] == 99
    worlds = list((tmp_path / "work" / "world").iterdir())
    assert len(worlds) == 1
    manifest = json.loads((worlds[0] / "manifest.json").read_text())
    assert manifest["summary"]["counties"] == 99
    runs = list((tmp_path / "work" / "hydra" / "demo").iterdir())
    assert len(runs) == 1 and (runs[0] / ".hydra" / "config.yaml").is_file()

    again = run(*demo, cwd=tmp_path)
    assert again.returncode == 0 and "world reused" in again.stdout
    assert "feature store: 0 unit(s) computed, 75 already up to date" in again.stdout


@pytest.mark.slow
def test_multirun_sweeps_land_in_the_workdir(tmp_path):
    result = run("world", "-m", "world=tiny", "world.first_year=2012", "world.last_year=2012",
                 "world.resolution_m=8000,9000", "workdir=work", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert len(list((tmp_path / "work" / "world").iterdir())) == 2
    sweeps = list((tmp_path / "work" / "hydra" / "world-multirun").iterdir())
    assert len(sweeps) == 1 and (sweeps[0] / "multirun.yaml").is_file()


@pytest.mark.slow
def test_data_errors_are_one_line(tmp_path):
    result = run("data", "data=us_corn", "workdir=w", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cropcast data: error: data.yields.paths is required (it is ??? in the config): set it "
        "on the command line, e.g. data.yields.paths=..., or in your own config file"]
    (tmp_path / "y.csv").write_text("region_id,year,yield\nA,2019,x\n")
    result = run("data", "data=tables", f"data.yields.path={tmp_path / 'y.csv'}", "workdir=w",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("y.csv, line 2: yield 'x' in column 'yield' is not a "
                                          "number")


@pytest.mark.slow
def test_an_optuna_sweep_of_backtests_reports_its_best_value(tiny_world, tmp_path):
    result = run("backtest", "-m", "experiment=demo_lgbm_sweep", "world=tiny",
                 f"data.manifest={tiny_world.root / 'manifest.json'}", "workdir=work",
                 "tracking=none", "workers=1", "cv.min_train_years=2", "cv.test_years=[2012]",
                 "hydra.sweeper.n_trials=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    values = [float(line.rsplit(":", 1)[1]) for line in result.stdout.splitlines()
              if line.startswith("objective (rmse of lgbm")]
    assert len(values) == 2
    best = [line for line in result.stderr.splitlines() + result.stdout.splitlines()
            if "Best value:" in line]
    assert best and float(best[0].rsplit(":", 1)[1]) == pytest.approx(min(values), abs=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    runs = list((tmp_path / "work" / "backtests" / "demo_lgbm_sweep").iterdir())
    assert len(runs) == 2
