"""The plain functions behind each ``cropcast`` command (tests call these directly)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from features.atomic import write_parquet_atomic, write_text_atomic
from features.errors import CropcastError
from features.sources.catalog import DataCatalog, check_catalog
from forecast.world import MANIFEST, World, WorldSpec, build_world

__all__ = ["FEATURES_DIR", "build", "data_catalog", "run_data", "run_demo", "run_features",
           "run_world"]

DATA_REPORT = "data_report.json"
FEATURES_DIR = "features"

log = logging.getLogger(__name__)


def build(node: DictConfig, where: str = "") -> object:
    """``hydra.utils.instantiate`` that lets a :class:`CropcastError` through unwrapped.

    Hydra wraps whatever a ``_target_`` raises; a user's bad setting should still reach
    the command line as the project's own one-line message. ``where`` is the node's key
    in the full config (e.g. ``data``), used to name missing settings.
    """
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


def _world_spec(cfg: DictConfig) -> WorldSpec:
    return build(cfg.world, "world")


def run_world(cfg: DictConfig) -> World:
    """Generate (or reuse) the simulated world described by ``cfg.world``.

    Parameters
    ----------
    cfg : DictConfig
        The composed ``world`` config: ``workdir``, ``workers`` and the ``world`` group.

    Returns
    -------
    World
        The world's folder and manifest.
    """
    world = build_world(_world_spec(cfg), Path(cfg.workdir), workers=cfg.workers)
    print(world.summary())
    return world


def data_catalog(cfg: DictConfig) -> DataCatalog:
    """Instantiate ``cfg.data``; a manifest-based config without a manifest reads the world
    of the ``world`` group, generating it first if needed."""
    node = OmegaConf.to_container(cfg.data, resolve=False)
    if isinstance(node, dict) and "manifest" in node and node["manifest"] is None:
        world = build_world(_world_spec(cfg), Path(cfg.workdir), workers=cfg.workers)
        node["manifest"] = str(world.root / MANIFEST)
    catalog = build(OmegaConf.create(node), "data")
    if not isinstance(catalog, DataCatalog):
        raise CropcastError(f"data config must build a DataCatalog; its _target_ made a "
                            f"{type(catalog).__name__}")
    return catalog


def run_data(cfg: DictConfig) -> dict:
    """Check every configured source and write ``WORKDIR/data_report.json``.

    Returns
    -------
    dict
        The report (per source: rows, regions, years, missing values by code, ...).
    """
    report = check_catalog(data_catalog(cfg))
    path = write_text_atomic(Path(cfg.workdir) / DATA_REPORT,
                             json.dumps(report, indent=1, default=str) + "\n")
    print(_data_summary(report))
    print(f"report: {path}")
    return report


def _data_summary(report: dict) -> str:
    lines = ["data: every source is valid"]
    if "yields" in report:
        y = report["yields"]
        lines.append(f"  yields ({y['kind']}): {y['rows']} region-years, {y['regions']} "
                     f"regions, {y['years']['first']}-{y['years']['last']}")
        for variable, codes in y.get("missing_by_code", {}).items():
            lines.append(f"    {variable} missing: {codes}")
        if "other_rows" in y:
            lines.append(f"    other (not county) rows: {y['other_rows']}")
    if "boundaries" in report:
        b = report["boundaries"]
        lines.append(f"  boundaries: {b['features']} polygons, {b['crs']}, "
                     f"{len(b['repaired_geometries'])} repaired")
    if "yields_vs_boundaries" in report:
        j = report["yields_vs_boundaries"]
        lines.append(f"  join: {j['matched_regions']} regions matched; without a polygon: "
                     f"{j['regions_without_boundary'][:10] or 'none'}")
    for kind in ("series", "features"):
        for name, entry in report.get(kind, {}).items():
            lines.append(f"  {kind} {name}: {entry['rows']} rows, {entry['regions']} regions")
    for name, entry in report.get("imagery", {}).items():
        lines.append(f"  imagery {name}: {entry['dates']} dates {entry['first']}..{entry['last']}"
                     f" ({entry['window_days']}-day windows), tiles {sorted(entry['tiles'])}, "
                     f"good pixels {entry['good_pixel_share']:.0%} (sampled)")
    if "cropmask" in report:
        c = report["cropmask"]
        lines.append(f"  crop masks: {len(c['years'])} seasons {c['years'][0]}-"
                     f"{c['years'][-1]}, {c['crs']}, {c['pixel_size'][0]:g} m, mode {c['mode']}")
    if "weather" in report:
        w = report["weather"]
        ranges = ", ".join(f"{k} {v['min']}..{v['max']} {v['units']}"
                           for k, v in w["variables"].items())
        lines.append(f"  weather: {w['years'][0]}-{w['years'][1]}, {ranges} "
                     f"({w['sampled_year']})")
    return "\n".join(lines)


def _matrix_path(folder: Path, as_of) -> Path:
    return folder / f"matrix_asof-{'end' if as_of is None else as_of.isoformat()}.parquet"


def run_features(cfg: DictConfig) -> dict:
    """Build or extend ``WORKDIR/features/store``; with ``as_of``, write the as-of matrix.

    Returns
    -------
    dict
        ``report`` (the :class:`~forecast.feature_store.BuildReport`), ``store`` (its
        folder) and, with ``as_of``, ``matrix`` (the DataFrame) and ``matrix_path``.
    """
    from features.asof import MatrixSpec, parse_as_of, series_rows
    from features.store import FeatureStore
    from forecast.feature_store import build_store

    as_of_setting = cfg.get("as_of")
    as_of = None if as_of_setting in (None, "end") else parse_as_of(as_of_setting)
    spec = build(cfg.features, "features")
    if not isinstance(spec, MatrixSpec):
        raise CropcastError(f"features config must build a MatrixSpec; its _target_ made a "
                            f"{type(spec).__name__}")
    spec.curve_specs()  # a bad curve is reported before hours of work
    catalog = data_catalog(cfg)
    folder = Path(cfg.workdir) / FEATURES_DIR
    store = FeatureStore(folder / "store")
    years = None if cfg.get("years") is None else [int(y) for y in cfg.years]
    out: dict = {"store": store.root}
    if catalog.imagery or catalog.weather is not None:
        if catalog.boundaries is None:
            raise CropcastError("imagery and weather need region polygons: set data.boundaries")
        regions, _ = catalog.boundaries.load()
        out["report"] = build_store(catalog, regions, store, years=years,
                                    workers=cfg.workers, scheduler=cfg.get("scheduler"))
        print(out["report"].summary())
    print(f"store: {store.root}")
    if as_of_setting is None:
        return out
    rows = store.load(years=years)
    extra = [series_rows(series) for series in catalog.series]
    if extra:
        rows = pd.concat([rows, *extra], ignore_index=True)
    matrix = spec.matrix(rows, as_of, catalog.features)
    path = _matrix_path(folder, as_of)
    write_parquet_atomic(matrix, path)
    print(f"matrix as of {as_of or 'the end of season'}: {len(matrix)} region-years x "
          f"{matrix.shape[1] - 2} features -> {path}")
    out.update(matrix=matrix, matrix_path=path)
    return out


def run_demo(cfg: DictConfig) -> dict:
    """Run every stage that exists on the embedded default world: world, data, features
    and the default backtest.

    Returns
    -------
    dict
        ``data_report``, ``features`` (see :func:`run_features`) and ``backtest`` (see
        :func:`forecast.experiment.run_backtest_command`).
    """
    from forecast.experiment import run_backtest_command

    log.info("demo: stage 1/4: the simulated world")
    run_world(cfg)
    log.info("demo: stage 2/4: data sources checked at the door")
    report = run_data(cfg)
    log.info("demo: stage 3/4: the feature store and an as-of matrix")
    features = run_features(cfg)
    log.info("demo: stage 4/4: the backtest %s", cfg.experiment_name)
    backtest = run_backtest_command(cfg)
    return {"data_report": report, "features": features, "backtest": backtest}
