"""Shared fixtures: a tiny simulated world, composed through the real Hydra configs, and
helpers to build its feature store and change its inputs.

Helpers are fixtures (``compose``, ``build_tiny_store``, ``change_after``), never imported
from this file.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import netCDF4
import pandas as pd
import pytest
import rasterio
from hydra import compose as hydra_compose
from hydra import initialize_config_module
from omegaconf import DictConfig

# ../shared beside the project: reference data, read-only (see its README).
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _compose(command: str, overrides: list[str]) -> DictConfig:
    with initialize_config_module(config_module="cropcast.configs", version_base="1.3"):
        return hydra_compose(config_name=command, overrides=overrides)


@pytest.fixture(scope="session")
def compose() -> Callable[[str, list[str]], DictConfig]:
    """``compose(command, overrides)``: ``configs/COMMAND.yaml`` composed with overrides, as
    the console script does."""
    return _compose


@pytest.fixture(scope="session")
def shared_nass() -> Path:
    """``../shared/data/nass`` (real NASS files); a test using it is skipped without it."""
    folder = SHARED / "data" / "nass"
    if not folder.is_dir():
        pytest.skip(f"the shared NASS files are not in {folder}")
    return folder


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The ``world=tiny`` world (Iowa, 2009-2013, 4 km), generated once per session."""
    from cropcast.forecast.cli import world

    workdir = tmp_path_factory.mktemp("tiny")
    return world.run(_compose("world", ["world=tiny", f"workdir={workdir}"]))


@pytest.fixture
def world_copy(tiny_world, tmp_path) -> Path:
    """A copy of the tiny world's folder in ``tmp_path``, free to change."""
    root = tmp_path / "world"
    shutil.copytree(tiny_world.root, root)
    return root


@pytest.fixture(scope="session")
def build_tiny_store() -> Callable:
    """``build_tiny_store(world_root, store_dir, years=None, workers=1)``: the store of a
    world folder, built through its manifest; returns ``(BuildReport, FeatureStore)``."""
    from cropcast.features.sources.catalog import catalog_from_manifest
    from cropcast.features.store.build import build_store
    from cropcast.features.store.store import FeatureStore

    def build(root: Path, store_dir: Path, years=None, workers: int = 1):
        catalog = catalog_from_manifest(str(root / "manifest.json"))
        store = FeatureStore(store_dir)
        return build_store(catalog, store, years=years, workers=workers,
                           progress=False), store

    return build


def _scramble_raster(path: Path, rng) -> None:
    with rasterio.open(path, "r+") as dst:
        data = dst.read(1)
        dst.write(rng.permutation(data.ravel()).reshape(data.shape), 1)


def _change_after(root: Path, as_of: dt.date, rng) -> None:
    """Change every input observed after ``as_of``'s month and day, in every season (the
    matrix cuts each season there), and every later season, yields and truth included."""

    def after(day: dt.date) -> bool:
        return day.year > as_of.year or day > as_of.replace(year=day.year)

    for path in (root / "imagery").rglob("*.tif"):
        start = dt.datetime.strptime(path.name.split(".")[1][1:], "%Y%j").date()
        window = 16 if path.name.startswith("MOD13Q1") else 8
        if after(start + dt.timedelta(days=window - 1)):  # straddling windows included
            _scramble_raster(path, rng)
    for path in (root / "weather").glob("*.nc"):
        with netCDF4.Dataset(path, "r+") as nc:
            name = next(v for v in nc.variables if v not in ("crs", "day", "lat", "lon"))
            days = netCDF4.num2date(nc["day"][:], nc["day"].units)
            first = next(i for i, d in enumerate(days) if after(dt.date(d.year, d.month, d.day)))
            nc[name][first:] = nc[name][first:] + 3
    for year in range(as_of.year, 2014):  # a season's crop mask appears after it
        _scramble_raster(next((root / "cropmask").glob(f"{year}_*.tif")), rng)
    truth = pd.read_parquet(root / "truth" / "truth.parquet")
    truth.loc[truth["year"] >= as_of.year, "yield"] += 50
    truth.to_parquet(root / "truth" / "truth.parquet")
    for path in (root / "nass").glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        later = table["Year"].astype(int) >= as_of.year
        table.loc[later, "Value"] = "1"
        table.to_csv(path, index=False, quoting=csv.QUOTE_ALL)


@pytest.fixture(scope="session")
def change_after() -> Callable:
    """``change_after(world_root, as_of, rng)``: scramble every input of a (copied) tiny
    world observed after ``as_of``'s month and day, and every later season's yields."""
    return _change_after


@pytest.fixture(scope="session")
def scramble_raster() -> Callable:
    """``scramble_raster(path, rng)``: permute a GeoTIFF's pixels in place."""
    return _scramble_raster
