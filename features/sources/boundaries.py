"""Region boundaries: shapefile (plain or zipped), GeoPackage, GeoJSON, GeoParquet.

Every reader returns a GeoDataFrame with ``region_id`` (text), ``name`` and ``geometry``.
TIGER/Line and cartographic-boundary files are recognised (``GEOID``, ``NAME``); other
files name their columns in the config. A file without a CRS needs an explicit ``crs``;
invalid geometries are repaired and reported by id; empty ones are an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from cropcast.errors import CropcastError

__all__ = ["BoundarySource", "JoinReport", "Repairs", "join_report", "read_boundaries"]

_ID_CANDIDATES = ("GEOID", "GEOID20", "GEOID10", "region_id", "FIPS", "fips")
_NAME_CANDIDATES = ("NAME", "NAMELSAD", "name", "NAME20", "NAME10")


def _open(path: Path, layer: str | None, encoding: str | None = None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise CropcastError(f"{path}: no such file; check the boundaries path in your data "
                            "config")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            return gpd.read_parquet(path)
        kwargs = {"layer": layer} if layer else {}
        if encoding:
            kwargs["encoding"] = encoding
        if suffixes.endswith(".gpkg") and not layer:
            layers = pyogrio.list_layers(path)
            if len(layers) > 1:
                names = [str(n) for n in layers[:, 0]]
                raise CropcastError(f"{path}: has several layers {names}; choose one with "
                                    "layer=NAME")
        return gpd.read_file(path, engine="pyogrio", **kwargs)
    except CropcastError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError,
            ValueError) as error:
        raise CropcastError(f"{path}: cannot be read as boundaries ({error}); expected a "
                            "shapefile (.shp or .zip), GeoPackage, GeoJSON or GeoParquet") from None


def _pick(columns: pd.Index, wanted: str | None, candidates: tuple[str, ...], role: str,
          path: Path) -> str:
    if wanted:
        if wanted not in columns:
            raise CropcastError(f"{path}: {role} {wanted!r} is not a column; found "
                                f"{[c for c in columns if c != 'geometry']}")
        return wanted
    for candidate in candidates:
        if candidate in columns:
            return candidate
    raise CropcastError(f"{path}: no {role} found among {list(candidates)}; found "
                        f"{[c for c in columns if c != 'geometry']}. Set {role}=COLUMN")


@dataclass
class Repairs:
    """What reading boundaries changed: ids whose geometry was repaired."""

    repaired: list[str] = field(default_factory=list)


def read_boundaries(path: str | Path, id_column: str | None = None,
                    name_column: str | None = None, layer: str | None = None,
                    crs: str | None = None, encoding: str | None = None,
                    region_id_width: int | None = None) -> tuple[gpd.GeoDataFrame, Repairs]:
    """Read region boundaries into ``region_id, name, geometry``.

    Parameters
    ----------
    path : str or Path
        ``.shp``, ``.zip`` (zipped shapefile), ``.gpkg``, ``.geojson``/``.json`` or
        ``.parquet`` (GeoParquet).
    id_column, name_column : str, optional
        Columns holding the region id and name; TIGER/Census ``GEOID``/``NAME`` otherwise.
    layer : str, optional
        Layer of a multi-layer file.
    crs : str, optional
        CRS of a file that has none (a shapefile without ``.prj``): ``EPSG:4269`` for Census.
        Ignored when the file has one (a conflicting value is an error).
    encoding : str, optional
        Attribute encoding of a shapefile without ``.cpg`` (Census files are UTF-8).
    region_id_width : int, optional
        Expected id length (5 for US counties).

    Returns
    -------
    tuple
        The GeoDataFrame and the list of repaired ids.
    """
    path = Path(path)
    wanted = _parse_crs(crs) if crs is not None else None
    frame = _open(path, layer, encoding)
    if frame.crs is None:
        if wanted is None:
            raise CropcastError(
                f"{path}: has no CRS (a shapefile without its .prj?); set it in the data "
                "config, e.g. crs=EPSG:4269 for Census/TIGER files (NAD83)")
        frame = frame.set_crs(wanted)
    elif wanted is not None and not frame.crs.equals(wanted):
        raise CropcastError(f"{path}: the file's CRS is {frame.crs.to_string()} but crs={crs!r}"
                            " was set; remove the setting or fix the file")
    id_col = _pick(frame.columns, id_column, _ID_CANDIDATES, "id_column", path)
    name_col = _pick(frame.columns, name_column, _NAME_CANDIDATES, "name_column", path) \
        if name_column or any(c in frame.columns for c in _NAME_CANDIDATES) else None
    if frame[id_col].dtype.kind in "if":
        raise CropcastError(f"{path}: id column {id_col!r} holds numbers; region ids must be "
                            "text so that '01001' keeps its leading zero")
    ids = frame[id_col].astype("string").str.strip()
    out = gpd.GeoDataFrame({
        "region_id": ids,
        "name": frame[name_col].astype("string") if name_col else ids,
    }, geometry=frame.geometry.values, crs=frame.crs)
    problems = []
    if out["region_id"].isna().any() or (out["region_id"] == "").any():
        problems.append(f"{int((out['region_id'].fillna('') == '').sum())} feature(s) without "
                        f"an id in {id_col!r}")
    if region_id_width:
        wrong = out["region_id"].str.len() != region_id_width
        if wrong.any():
            problems.append(f"ids not {region_id_width} characters: "
                            f"{out.loc[wrong, 'region_id'].head(5).tolist()}")
    dup = out["region_id"].duplicated(keep=False)
    if dup.any():
        problems.append(f"duplicate ids {sorted(set(out.loc[dup, 'region_id']))[:5]}; "
                        "dissolve them first")
    empty = out.geometry.isna() | out.geometry.is_empty
    if empty.any():
        problems.append(f"empty geometries for ids {out.loc[empty, 'region_id'].head(10).tolist()}")
    if problems:
        raise CropcastError(f"{path}: " + "; ".join(problems))
    invalid = ~out.geometry.is_valid
    repairs = Repairs(out.loc[invalid, "region_id"].tolist())
    if invalid.any():
        repaired = [_polygonal(g) for g in shapely.make_valid(out.geometry[invalid].values)]
        out.loc[invalid, "geometry"] = repaired
        lost = out.loc[invalid, "geometry"].is_empty
        if lost.any():
            ids = out.loc[lost[lost].index, "region_id"].tolist()
            raise CropcastError(f"{path}: geometries of ids {ids} are invalid and have no area "
                                "left once repaired; fix them in a GIS")
    return out, repairs


def _parse_crs(crs: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CropcastError(f"boundaries crs {crs!r} is not a CRS; use e.g. EPSG:4269 (NAD83, "
                            "Census files) or EPSG:5070") from None


def _polygonal(geometry):
    """The polygon parts of a repaired geometry (make_valid may add lines or points)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in ("Polygon",
                                                                         "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


@dataclass
class BoundarySource:
    """Configured boundaries (``_target_`` of a data config); see :func:`read_boundaries`."""

    path: str
    id_column: str | None = None
    name_column: str | None = None
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    region_id_width: int | None = None

    def load(self) -> tuple[gpd.GeoDataFrame, Repairs]:
        """Read and validate the boundaries."""
        return read_boundaries(self.path, self.id_column, self.name_column, self.layer,
                               self.crs, self.encoding, self.region_id_width)


@dataclass
class JoinReport:
    """How a table's regions meet the boundaries: nothing unmatched is dropped silently."""

    matched: int
    table_only: list[str]
    boundaries_only: list[str]

    def as_dict(self) -> dict:
        """The report's JSON form (boundaries without data are counted, not listed)."""
        return {"matched_regions": self.matched, "regions_without_boundary": self.table_only,
                "boundaries_without_data": len(self.boundaries_only)}


def join_report(region_ids: pd.Series, boundaries: gpd.GeoDataFrame) -> JoinReport:
    """Compare a table's region ids with the boundaries' (e.g. FIPS 46113 -> 46102).

    Parameters
    ----------
    region_ids : Series
        Region ids of a table (repeats allowed).
    boundaries : GeoDataFrame
        From :func:`read_boundaries`.

    Returns
    -------
    JoinReport
        Matched count and the ids on one side only.
    """
    table = set(region_ids.astype(str))
    shapes = set(boundaries["region_id"].astype(str))
    return JoinReport(len(table & shapes), sorted(table - shapes), sorted(shapes - table))
