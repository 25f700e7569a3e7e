"""Every config the project ships composes, and everything it describes can be built.

The configs are found on disk (``cropcast.configs``), so a new group option or experiment
is tested the day it is added.
"""

from __future__ import annotations

import importlib
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_module
from omegaconf import OmegaConf
from sklearn.base import is_regressor

from cropcast.errors import CropcastError
from cropcast.features.store.matrix import MatrixSpec
from cropcast.features.world import WorldSpec
from cropcast.forecast.cli.compose import from_config

CONFIGS = resources.files("cropcast.configs")
#: Parts that model options extend (`defaults`), not options to choose.
BUILDING_BLOCKS = {"model/base", "model/regressor"}
#: Root configs: one per command.
COMMANDS = ("world", "data", "features", "backtest", "demo")


def _options(group: str) -> list[str]:
    folder = CONFIGS.joinpath(group)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def _groups() -> list[str]:
    """Every config group folder (nested ones as ``model/regressor``)."""
    found = []

    def walk(folder, prefix):
        for entry in folder.iterdir():
            if entry.is_dir() and entry.name != "__pycache__":
                name = f"{prefix}{entry.name}"
                if any(p.name.endswith(".yaml") for p in entry.iterdir()):
                    found.append(name)
                walk(entry, f"{name}/")

    walk(CONFIGS, "")
    return sorted(found)


#: Groups whose options the tests below compose and build one by one.
BUILT = {"model", "cv", "tracking", "features", "world", "experiment"}
CHOICES = [(group, option) for group in _groups()
           if group not in BUILDING_BLOCKS | BUILT | {"hydra"}
           for option in _options(group)]


def _targets(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_":
                yield value
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from _targets(value)


def test_the_groups_are_the_seams():
    assert set(_groups()) == {"cv", "data", "experiment", "features", "hparams_search",
                              "hydra", "model", "model/base", "model/regressor", "paths",
                              "tracking", "world"}
    assert sorted(p.name for p in CONFIGS.iterdir() if p.name.endswith(".yaml")) == [
        f"{command}.yaml" for command in sorted(COMMANDS)]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_composes_with_its_defaults(command, compose, tmp_path):
    cfg = compose(command, [f"workdir={tmp_path}"])
    assert cfg.workdir == str(tmp_path) and cfg.workers == 2  # the paths group
    if command in ("backtest", "demo"):
        assert OmegaConf.is_missing(cfg, "experiment_name") == (command == "backtest")


@pytest.mark.parametrize(("group", "option"), CHOICES, ids=[f"{g}={o}" for g, o in CHOICES])
def test_every_other_group_option_composes(group, option, compose):
    cfg = compose("backtest", [f"{group}={option}"])
    assert cfg is not None


def test_every_group_is_tested():
    assert {g for g, _ in CHOICES} | BUILT | BUILDING_BLOCKS | {"hydra"} == set(_groups())


def test_every_target_in_every_config_file_exists():
    files = [p for group in ["", *_groups()] for p in CONFIGS.joinpath(group).iterdir()
             if p.name.endswith(".yaml")]
    targets = {t for p in files for t in _targets(OmegaConf.to_container(
        OmegaConf.create(p.read_text())))}
    assert len(targets) > 15
    for target in sorted(targets):
        module, _, name = target.rpartition(".")
        assert hasattr(importlib.import_module(module), name), target


@pytest.mark.parametrize("option", _options("model"))
def test_every_model_config_fits_and_predicts_a_later_season(option, compose):
    cfg = compose("backtest", [f"model={option}"])
    estimator = from_config(cfg.model.estimator, "model.estimator")
    assert is_regressor(estimator) and cfg.model.name == option
    rng = np.random.default_rng(0)
    seasons = np.repeat(np.arange(2010, 2020), 12)
    frame = pd.DataFrame({"region_id": np.tile([f"19{i:03d}" for i in range(12)], 10),
                          "year": seasons, "state_fips": "19",
                          "edd": rng.gamma(2, 10, seasons.size)})
    target = 150 + 2 * (seasons - 2010) - 0.5 * frame["edd"] + rng.normal(0, 2, seasons.size)
    train = frame["year"] < 2019
    predicted = estimator.fit(frame[train], target[train]).predict(frame[~train])
    assert np.isfinite(predicted).all()
    error = np.sqrt(np.mean((predicted - target[~train]) ** 2))
    assert error < np.std(target)  # better than knowing nothing


def test_the_feature_models_extend_one_base(compose):
    base = OmegaConf.create(CONFIGS.joinpath("model/base/trend_residual.yaml").read_text())
    for option in ("lgbm", "lgbm_ridge", "random_forest", "ridge", "lgbm_search"):
        estimator = compose("backtest", [f"model={option}"]).model.estimator
        residual = estimator.estimator if option == "lgbm_search" else estimator
        for key in ("_target_", "relative", "backfit_rounds", "backfit_columns", "trend"):
            assert residual[key] == base[key], (option, key)


@pytest.mark.parametrize("option", _options("cv"))
def test_every_splitter_config_builds(option, compose):
    cfg = compose("backtest", [f"cv={option}", "cv.last_train_year=2015"]
                  if option == "holdout" else [f"cv={option}"])
    splitter = from_config(cfg.cv, "cv")
    assert splitter.splits(list(range(2005, 2020)))


def test_a_holdout_without_its_year_names_the_setting(compose):
    with pytest.raises(CropcastError, match=r"cv.last_train_year is required"):
        from_config(compose("backtest", ["cv=holdout"]).cv, "cv")


@pytest.mark.parametrize("option", _options("tracking"))
def test_every_tracking_config_builds_without_touching_the_disk(option, compose, tmp_path):
    cfg = compose("backtest", [f"tracking={option}", f"workdir={tmp_path}"])
    tracker = from_config(cfg.tracking, "tracking")
    assert hasattr(tracker, "log_model_run") and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", _options("features"))
def test_every_features_config_builds_a_matrix_spec(option, compose):
    spec = from_config(compose("features", [f"features={option}"]).features, "features")
    assert isinstance(spec, MatrixSpec) and spec.curve_specs()


@pytest.mark.parametrize("option", _options("world"))
def test_every_world_config_builds_a_world_spec(option, compose, tmp_path):
    cfg = compose("world", [f"world={option}", f"workdir={tmp_path}"])
    assert isinstance(from_config(cfg.world, "world"), WorldSpec)


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_composes_and_builds_its_models(option, compose):
    cfg = compose("backtest", [f"experiment={option}"])
    assert cfg.experiment_name == option
    assert from_config(cfg.model.estimator, "model.estimator") is not None
    for name, node in cfg.baselines.items():
        assert from_config(node, f"baselines.{name}") is not None
    assert cfg.baseline in cfg.baselines


def test_the_optuna_search_is_a_group_the_sweep_experiment_picks():
    with initialize_config_module(config_module="cropcast.configs", version_base="1.3"):
        cfg = hydra_compose("backtest", ["experiment=demo_lgbm_sweep"],
                            return_hydra_config=True)
        plain = hydra_compose("backtest", ["experiment=demo_expanding"],
                              return_hydra_config=True)
    assert cfg.hydra.runtime.choices["hparams_search"] == "lgbm_optuna"
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert cfg.objective == "rmse" and cfg.hydra.sweeper.study_name == "demo_lgbm_sweep"
    assert plain.hydra.sweeper._target_.endswith("BasicSweeper") and plain.objective is None


def test_the_demo_names_its_experiment_and_the_backtest_names_none(compose):
    assert compose("demo", []).experiment_name == "demo_expanding"
    assert OmegaConf.is_missing(compose("backtest", []), "experiment_name")
