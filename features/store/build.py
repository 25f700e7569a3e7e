"""Build or extend the feature store: plan units, skip what is done, run the rest in parallel.

:func:`build_store` is the one way the store is built: ``cropcast features`` and
``cropcast backtest`` both call it, then read the store back with :func:`store_rows`.

A unit is one composite of one product (every tile of that date) or one weather year. Its
inputs (the files it reads, the crop masks behind its weights, the regions and the
settings) are hashed by content; a unit whose hash is in the store's manifest is skipped,
so a weekly rerun computes only new or changed inputs. Units run on local processes by
default, or on a Dask cluster given its scheduler address (``distributed``'s
``concurrent.futures`` executor); results are written by this process, one part at a time,
atomically.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from cropcast.checks import check_int
from cropcast.errors import CropcastError
from cropcast.features.imagery.composites import composite_rows
from cropcast.features.sources.catalog import CropMaskSource, DataCatalog
from cropcast.features.sources.products import Product
from cropcast.features.store.matrix import series_rows
from cropcast.features.store.store import FeatureStore, file_digest
from cropcast.features.weather.daily import weather_rows
from cropcast.regions import regions_digest

__all__ = ["BuildReport", "Unit", "build_store", "data_fingerprint", "plan_units", "store_rows"]

# Bumped when the statistics a unit computes change, so stores built before are redone.
_ALGORITHM = "zonal-centre-v1"


@dataclass
class Unit:
    """One piece of work and everything it needs (picklable for a process or a cluster)."""

    key: str
    kind: str  # "composite" | "weather"
    product: str
    year: int
    name: str
    inputs: list[str]
    settings: dict
    spec: Product | None = None
    date: object = None
    files: pd.DataFrame | None = None
    weather: object = None


@dataclass
class BuildReport:
    """What a run did: unit keys computed and skipped (already in the store)."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        return (f"feature store: {len(self.computed)} unit(s) computed, {len(self.skipped)} "
                "already up to date")


def _mask_paths(cropmask: CropMaskSource | None, year: int) -> list[str]:
    return [] if cropmask is None else list(cropmask.season_paths(year).values())


def plan_units(catalog: DataCatalog, regions: gpd.GeoDataFrame,
               years: list[int] | None = None) -> list[Unit]:
    """Every unit the catalog's imagery and weather make, for ``years`` (all by default)."""
    cropmask = catalog.cropmask
    settings = {"algorithm": _ALGORITHM, "regions": regions_digest(regions),
                "cropmask": None if cropmask is None else
                {"mode": cropmask.mode, "classes": list(cropmask.classes),
                 "years_back": cropmask.years_back}}
    units = []
    for source in catalog.imagery:
        spec = source.spec()
        files = source.catalog()
        files = files[files["product"] == spec.name]
        for date, rows in files.groupby("date", sort=True):
            if years is not None and date.year not in years:
                continue
            units.append(Unit(
                key=f"{spec.name}/{date.isoformat()}", kind="composite", product=spec.name,
                year=date.year, name=date.isoformat(),
                inputs=sorted(rows["path"]) + _mask_paths(cropmask, date.year),
                settings={**settings, "product": repr(spec)}, spec=spec, date=date,
                files=rows.reset_index(drop=True)))
    if catalog.weather is not None:
        for year in catalog.weather.years():
            if years is not None and year not in years:
                continue
            paths = [str(Path(catalog.weather.folder) / pattern.format(year=year))
                     for pattern in catalog.weather.files.values()]
            units.append(Unit(
                key=f"weather/{year}", kind="weather", product="weather", year=year,
                name="daily", inputs=paths + _mask_paths(cropmask, year),
                settings={**settings, "weather": repr(catalog.weather)},
                weather=catalog.weather))
    return units


def _inputs_hash(unit: Unit, digests: dict) -> str:
    digest = hashlib.sha256(json.dumps(unit.settings, sort_keys=True).encode())
    for path in unit.inputs:
        digest.update(path.encode() + b"\0" + file_digest(path, digests).encode())
    return digest.hexdigest()


def _compute(unit: Unit, regions: gpd.GeoDataFrame, cropmask, labels_dir: str) -> pd.DataFrame:
    if unit.kind == "composite":
        return composite_rows(unit.files, unit.spec, unit.date, regions, cropmask, labels_dir)
    return weather_rows(unit.weather, unit.year, regions, cropmask)


def _compute_batch(units: list[Unit], regions: gpd.GeoDataFrame, cropmask,
                   labels_dir: str) -> list[pd.DataFrame]:
    return [_compute(unit, regions, cropmask, labels_dir) for unit in units]


@contextmanager
def _executor(workers: int, scheduler: str | None) -> Iterator[Executor]:
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise CropcastError(f"scheduler={scheduler!r} needs Dask's distributed package; "
                                "pip install 'dask[distributed]', or leave scheduler unset "
                                "to run on local processes") from None
        with Client(scheduler) as client:
            yield client.get_executor()
        return
    # fork: the workers inherit the imported stack (the world generator does the same)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def build_store(catalog: DataCatalog, store: FeatureStore, *,
                regions: gpd.GeoDataFrame | None = None, years: list[int] | None = None,
                workers: int = 2, scheduler: str | None = None,
                progress: bool = True) -> BuildReport:
    """Compute the units the store lacks (new or changed inputs) and write them.

    Parameters
    ----------
    catalog : DataCatalog
        Imagery, crop masks and weather (a catalog with neither imagery nor weather has
        nothing to build: the report is empty).
    store : FeatureStore
        Where the parts and the manifest go.
    regions : GeoDataFrame, optional
        ``region_id`` and polygons; by default the catalog's boundaries.
    years : list of int, optional
        Seasons to build (all the sources have, by default).
    workers : int
        Local processes (1 runs in this process).
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``) to run the units on instead.
    progress : bool
        Show a progress bar (on a terminal).

    Returns
    -------
    BuildReport
        The unit keys computed and skipped.

    Raises
    ------
    CropcastError
        When the catalog has imagery or weather but no region polygons, or ``workers``
        is not a positive integer.
    """
    check_int(workers, "workers", minimum=1)
    if not catalog.imagery and catalog.weather is None:
        return BuildReport()
    if regions is None:
        if catalog.boundaries is None:
            raise CropcastError("imagery and weather need region polygons: set "
                                "data.boundaries (e.g. data.boundaries.path=counties.gpkg)")
        regions, _ = catalog.boundaries.load()
    units = plan_units(catalog, regions, years)
    store.remove_temporaries()
    digests = store.manifest().setdefault("digests", {})
    report, todo = BuildReport(), []
    for unit in tqdm(units, desc="hashing inputs", unit="unit", disable=not progress or None,
                     leave=False):
        inputs_hash = _inputs_hash(unit, digests)
        if store.is_done(unit.key, inputs_hash):
            report.skipped.append(unit.key)
        else:
            todo.append((unit, inputs_hash))
    store.save_manifest()  # keep the digests even if nothing is left to do
    labels_dir = str(store.labels_dir)
    bar = tqdm(total=len(todo), desc="features", unit="unit", disable=not progress or None)
    if workers == 1 and not scheduler:
        for unit, inputs_hash in todo:
            rows = _compute(unit, regions, catalog.cropmask, labels_dir)
            store.write(unit.key, inputs_hash, unit.product, unit.year, unit.name, rows)
            report.computed.append(unit.key)
            bar.update()
    elif todo:
        # One task per product and season: its units share the season's crop weights, so a
        # process computes them once (they are remembered per process).
        batches: dict[tuple[str, int], list] = {}
        for unit, inputs_hash in todo:
            batches.setdefault((unit.product, unit.year), []).append((unit, inputs_hash))
        with _executor(workers, scheduler) as pool:
            futures = {pool.submit(_compute_batch, [u for u, _ in batch], regions,
                                   catalog.cropmask, labels_dir): batch
                       for batch in batches.values()}
            for future in as_completed(futures):
                for (unit, inputs_hash), rows in zip(futures[future], future.result(),
                                                     strict=True):
                    store.write(unit.key, inputs_hash, unit.product, unit.year, unit.name,
                                rows)
                    report.computed.append(unit.key)
                    bar.update()
    bar.close()
    report.computed.sort()
    return report


def store_rows(store: FeatureStore, catalog: DataCatalog,
               years: list[int] | None = None) -> pd.DataFrame:
    """The store's rows and the catalog's region time series, in the long schema.

    Parameters
    ----------
    store : FeatureStore
        The store (built by :func:`build_store`).
    catalog : DataCatalog
        Its ``series`` (e.g. an Earth Engine export) join the store's rows.
    years : list of int, optional
        The store's seasons to read (all by default; the series are read whole).

    Returns
    -------
    DataFrame
        What :func:`cropcast.features.store.matrix.as_of_matrix` cuts.
    """
    rows = store.load(years=years)
    extra = [series_rows(series) for series in catalog.series]
    if extra:
        rows = pd.concat([rows, *extra], ignore_index=True)
    return rows


def data_fingerprint(store: FeatureStore, catalog: DataCatalog) -> str:
    """A short hash of the data behind a matrix: the store's units (their inputs' hashes)
    and the bytes of the catalog's series and feature tables."""
    fingerprint = hashlib.sha256(json.dumps(store.manifest().get("units", {}),
                                            sort_keys=True).encode())
    for series in [*catalog.series, *catalog.features]:
        fingerprint.update(Path(series.path).read_bytes())
    return fingerprint.hexdigest()[:16]
