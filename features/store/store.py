"""The feature store: per-date region statistics as Parquet, with a manifest of what is done.

Layout under the store's folder::

    manifest.json                          units done: inputs' content hash -> part file
    product=MOD13Q1/year=2012/2012-07-11.parquet   one part per composite (all tiles)
    product=weather/year=2012/daily.parquet        one part per weather year
    labels/                                 the zonal engine's pixel-label cache

Every part holds rows of the long schema (:mod:`cropcast.schema`).

Writes are atomic: a part is written to a temporary file and renamed, then the manifest is
rewritten the same way. A run killed at any moment leaves parts that are either complete
or not in the manifest, and a later run redoes whatever the manifest does not vouch for.
A unit is redone when the content hash of its inputs changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cropcast.atomic import write_atomic, write_text_atomic
from cropcast.errors import CropcastError
from cropcast.schema import LONG_COLUMNS, LONG_SCHEMA

__all__ = ["FeatureStore", "file_digest"]

MANIFEST = "manifest.json"
_VERSION = 1


def file_digest(path: str | Path, known: dict | None = None) -> str:
    """SHA-256 of a file's bytes; ``known`` caches digests by path, size and mtime.

    Parameters
    ----------
    path : path
        The file.
    known : dict, optional
        ``{path: [size, mtime_ns, digest]}``, updated in place: an unchanged file is not
        read again.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise CropcastError(f"{path}: cannot be read for hashing ({error})") from None
    key = str(path)
    if known is not None:
        cached = known.get(key)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return cached[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * 2**20), b""):
            digest.update(block)
    if known is not None:
        known[key] = [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]
    return digest.hexdigest()


class FeatureStore:
    """A folder of long Parquet parts and the manifest vouching for them.

    Parameters
    ----------
    root : path
        The store's folder (created when first written).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._manifest: dict | None = None

    @property
    def labels_dir(self) -> Path:
        """Where the zonal engine caches its pixel labels."""
        return self.root / "labels"

    def manifest(self) -> dict:
        """``{"version", "units": {key: {...}}, "digests": {...}}`` (empty when new)."""
        if self._manifest is None:
            path = self.root / MANIFEST
            if path.is_file():
                try:
                    self._manifest = json.loads(path.read_text())
                except ValueError as error:
                    raise CropcastError(f"{path}: unreadable manifest ({error}); delete the "
                                        "store folder to rebuild it") from None
                if self._manifest.get("version") != _VERSION:
                    raise CropcastError(f"{path}: store version {self._manifest.get('version')}"
                                        f" is not {_VERSION}; delete the folder to rebuild it")
            else:
                self._manifest = {"version": _VERSION, "units": {}, "digests": {}}
        return self._manifest

    def is_done(self, key: str, inputs_hash: str) -> bool:
        """Whether ``key`` was computed from inputs with this hash and its part exists."""
        unit = self.manifest()["units"].get(key)
        return (unit is not None and unit["inputs"] == inputs_hash
                and (self.root / unit["part"]).is_file())

    def part_path(self, product: str, year: int, name: str) -> Path:
        """Where a unit's part goes."""
        return self.root / f"product={product}" / f"year={year}" / f"{name}.parquet"

    def write(self, key: str, inputs_hash: str, product: str, year: int, name: str,
              rows: pd.DataFrame) -> Path:
        """Write a unit's rows atomically, then record it in the manifest."""
        missing = [c for c in LONG_COLUMNS if c not in rows]
        if missing:
            raise CropcastError(f"feature rows lack columns {missing}; the long schema is "
                                f"{list(LONG_COLUMNS)}")
        path = self.part_path(product, year, name)
        table = pa.Table.from_pandas(rows[list(LONG_COLUMNS)], schema=LONG_SCHEMA,
                                     preserve_index=False)
        write_atomic(path, lambda temporary: pq.write_table(table, temporary))
        self.manifest()["units"][key] = {"inputs": inputs_hash,
                                         "part": str(path.relative_to(self.root)),
                                         "rows": len(rows)}
        self.save_manifest()
        return path

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary files a killed run left (never trusted, never read)."""
        if not self.root.is_dir():
            return []
        left = [p for p in self.root.glob("product=*/year=*/.*.parquet.*") if p.is_file()]
        left += [p for p in self.root.glob(f".{MANIFEST}.*") if p.is_file()]
        for path in left:
            path.unlink(missing_ok=True)
        return left

    def save_manifest(self) -> None:
        """Rewrite the manifest atomically."""
        write_text_atomic(self.root / MANIFEST, json.dumps(self.manifest(), indent=0,
                                                           sort_keys=True) + "\n")

    def parts(self) -> list[Path]:
        """The part files the manifest vouches for, in a stable order."""
        units = self.manifest()["units"]
        return sorted(self.root / unit["part"] for unit in units.values()
                      if (self.root / unit["part"]).is_file())

    def load(self, products: list[str] | None = None,
             years: list[int] | None = None) -> pd.DataFrame:
        """The long rows of the vouched-for parts, optionally for some products and years.

        Returns
        -------
        DataFrame
            :data:`LONG_COLUMNS`, ``date`` and ``obs_date`` as datetime64, sorted by
            product, variable, stat, region and date.
        """
        chosen = []
        for path in self.parts():
            product = path.parent.parent.name.removeprefix("product=")
            year = int(path.parent.name.removeprefix("year="))
            if (products is None or product in products) and (years is None or year in years):
                chosen.append(path)
        if not chosen:
            frame = LONG_SCHEMA.empty_table().to_pandas()
        else:
            frame = pa.concat_tables(pq.read_table(p, schema=LONG_SCHEMA)
                                     for p in chosen).to_pandas()
        for column in ("date", "obs_date"):
            frame[column] = pd.to_datetime(frame[column])
        frame["region_id"] = frame["region_id"].astype(str)
        return frame.sort_values(["product", "variable", "stat", "region_id", "date"],
                                 ignore_index=True)
