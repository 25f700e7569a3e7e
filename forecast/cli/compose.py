"""From configs to objects: what every command builds the same way.

:func:`from_config` is ``hydra.utils.instantiate`` with the project's errors; the other
functions build the pieces several commands share (the world's settings, the data catalog,
the matrix spec, the feature rows), so a command module holds only its own work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from cropcast.errors import CropcastError
from cropcast.features.sources.catalog import DataCatalog
from cropcast.features.store.build import BuildReport, build_store, store_rows
from cropcast.features.store.matrix import MatrixSpec
from cropcast.features.store.store import FeatureStore
from cropcast.features.world import WorldSpec, build_world
from cropcast.manifest import MANIFEST
from cropcast.workdir import Workdir

__all__ = ["MOVED_MODULES", "FeatureRows", "data_catalog", "feature_rows", "from_config",
           "matrix_spec", "world_spec"]

#: Where the modules of cropcast 0.1 (four top-level packages) live since 0.2 (one import
#: name): a config whose ``_target_`` names an old path is refused with the new one. (The
#: 0.1 command modules, forecast.cli, .commands and .experiment, held no config targets.)
MOVED_MODULES = {
    "features.errors": "cropcast.errors",
    "features.atomic": "cropcast.atomic",
    "features.days": "cropcast.days",
    "features.cropmask": "cropcast.features.cropmask",
    "features.season_weather": "cropcast.features.weather.columns",
    "features.season": "cropcast.features.imagery.curves",
    "features.extract": "cropcast.features.imagery.composites",
    "features.phenology": "cropcast.features.weather.phenology",
    "features.soil_water": "cropcast.features.weather.soil_water",
    "features.weather_indices": "cropcast.features.weather.indices",
    "features.store": "cropcast.features.store.store",
    "features.asof": "cropcast.features.store.matrix",
    "features.sources": "cropcast.features.sources",
    "features.zonal": "cropcast.features.zonal",
    "forecast.workdir": "cropcast.workdir",
    "forecast.world": "cropcast.features.world",
    "forecast.feature_store": "cropcast.features.store.build",
    "forecast.splits": "cropcast.forecast.evaluation.splits",
    "forecast.metrics": "cropcast.forecast.evaluation.metrics",
    "forecast.backtest": "cropcast.forecast.evaluation.backtest",
    "forecast.aggregate": "cropcast.forecast.evaluation.aggregate",
    "forecast.usda": "cropcast.forecast.evaluation.usda",
    "forecast.plots": "cropcast.forecast.reporting.plots",
    "forecast.tracking": "cropcast.forecast.reporting.tracking",
    "models": "cropcast.models",
    # Names that left their module (the longest matching prefix wins).
    "features.cropmask.TargetGrid": "cropcast.grid.TargetGrid",
    "features.cropmask.pixel_index": "cropcast.grid.pixel_index",
    "features.cropmask.MODES": "cropcast.features.sources.catalog.CROPMASK_MODES",
    "features.extract.weather_rows": "cropcast.features.weather.daily.weather_rows",
    "features.store.LONG_COLUMNS": "cropcast.schema.LONG_COLUMNS",
    "forecast.world.MANIFEST": "cropcast.manifest.MANIFEST",
    "forecast.workdir.expand_workdir_override":
        "cropcast.forecast.cli.main.expand_workdir_override",
    "forecast.workdir.workdir_from_overrides": "cropcast.forecast.cli.main.workdir_from_overrides",
    "models.base.check_int": "cropcast.models.base.check_param_int",
}


def _targets(node: object, key: str) -> Iterator[tuple[str, str]]:
    """``(config key, _target_)`` of every object a plain config tree describes."""
    if isinstance(node, dict):
        for name, value in node.items():
            child = f"{key}.{name}" if key else str(name)
            if name == "_target_" and isinstance(value, str):
                yield child, value
            else:
                yield from _targets(value, child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _targets(value, f"{key}[{i}]")


def _check_moved(node: object, where: str) -> None:
    if isinstance(node, DictConfig | ListConfig):
        node = OmegaConf.to_container(node, resolve=False)
    for key, target in _targets(node, where):
        for old in sorted(MOVED_MODULES, key=len, reverse=True):
            if target == old or target.startswith(old + "."):
                new = MOVED_MODULES[old] + target[len(old):]
                raise CropcastError(f"{key}={target!r} names a module of cropcast 0.1; since "
                                    f"0.2 it is {new!r}: update your config")


def from_config(node: DictConfig, where: str = "") -> object:
    """``hydra.utils.instantiate`` that lets a :class:`CropcastError` through unwrapped.

    Hydra wraps whatever a ``_target_`` raises; a user's bad setting should still reach
    the command line as the project's own one-line message. ``where`` is the node's key
    in the full config (e.g. ``data``), used to name missing settings. A ``_target_`` of
    cropcast 0.1's layout is refused with its new path (:data:`MOVED_MODULES`).
    """
    _check_moved(node, where)
    try:
        return instantiate(node, _convert_="all")
    except MissingMandatoryValue as error:
        raise _missing(error, where) from None
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, CropcastError):
            raise cause from None
        if isinstance(cause, MissingMandatoryValue):
            raise _missing(cause, where) from None
        raise


def _missing(error: MissingMandatoryValue, where: str) -> CropcastError:
    key = ".".join(k for k in (where, getattr(error, "full_key", "")) if k) or "a setting"
    return CropcastError(f"{key} is required (it is ??? in the config): set it on the command "
                         f"line, e.g. {key}=..., or in your own config file")


def world_spec(cfg: DictConfig) -> WorldSpec:
    """The simulated world's settings (``cfg.world``)."""
    return from_config(cfg.world, "world")


def data_catalog(cfg: DictConfig) -> DataCatalog:
    """Instantiate ``cfg.data``; a manifest-based config without a manifest reads the world
    of the ``world`` group, generating it first if needed."""
    node = OmegaConf.to_container(cfg.data, resolve=False)
    if isinstance(node, dict) and "manifest" in node and node["manifest"] is None:
        world = build_world(world_spec(cfg), Path(cfg.workdir), workers=cfg.workers)
        node["manifest"] = str(world.root / MANIFEST)
    catalog = from_config(OmegaConf.create(node), "data")
    if not isinstance(catalog, DataCatalog):
        raise CropcastError(f"data config must build a DataCatalog; its _target_ made a "
                            f"{type(catalog).__name__}")
    return catalog


def matrix_spec(cfg: DictConfig) -> MatrixSpec:
    """The as-of matrix's settings (``cfg.features``), every curve checked now, before
    hours of work."""
    spec = from_config(cfg.features, "features")
    if not isinstance(spec, MatrixSpec):
        raise CropcastError(f"features config must build a MatrixSpec; its _target_ made a "
                            f"{type(spec).__name__}")
    spec.curve_specs()
    return spec


class FeatureRows(NamedTuple):
    """What :func:`feature_rows` returns."""

    rows: pd.DataFrame  #: the store's long rows and the catalog's region time series
    store: FeatureStore  #: the workdir's store
    report: BuildReport  #: the units computed and skipped


def feature_rows(cfg: DictConfig, catalog: DataCatalog, regions=None,
                 years: list[int] | None = None) -> FeatureRows:
    """Bring the workdir's feature store up to date and read it back with the catalog's
    region time series: the one store build of every command that needs features.

    Parameters
    ----------
    cfg : DictConfig
        ``workdir``, ``workers`` and ``scheduler``.
    catalog : DataCatalog
        The sources.
    regions : GeoDataFrame, optional
        The catalog's boundaries, when the caller has loaded them already.
    years : list of int, optional
        Seasons to build and read (all by default).

    Returns
    -------
    FeatureRows
        The long rows (:func:`cropcast.features.store.build.store_rows`), the store and
        the build's report.
    """
    store = FeatureStore(Workdir(cfg.workdir).store)
    report = build_store(catalog, store, regions=regions, years=years, workers=cfg.workers,
                         scheduler=cfg.get("scheduler"))
    if report.computed or report.skipped:  # a catalog without imagery or weather has none
        print(report.summary())
    return FeatureRows(store_rows(store, catalog, years), store, report)
