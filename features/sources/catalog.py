"""A data catalog: the configured sources of a workdir, checked at the door.

A data config (``configs/data/*.yaml``) instantiates a :class:`DataCatalog`;
:func:`check_catalog` loads every source, which validates it, and summarises what it holds
for ``cropcast data``. The simulated world is read through its manifest with the very
readers real downloads use (:func:`catalog_from_manifest`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.errors import CropcastError
from features.sources.boundaries import BoundarySource, join_report
from features.sources.quickstats import QuickStatsData, QuickStatsSource
from features.sources.tables import FeatureTable, RegionTimeSeries, YieldTable

__all__ = ["DataCatalog", "catalog_from_manifest", "check_catalog"]


@dataclass
class DataCatalog:
    """The sources of one data config; any may be absent.

    Parameters
    ----------
    yields : QuickStatsSource or YieldTable, optional
        Historical yields (and acreage where the source has it).
    boundaries : BoundarySource, optional
        Region polygons.
    series : list of RegionTimeSeries
        Pre-aggregated region time series.
    features : list of FeatureTable
        Precomputed feature tables (end-of-season use only).
    """

    yields: QuickStatsSource | YieldTable | None = None
    boundaries: BoundarySource | None = None
    series: list[RegionTimeSeries] = field(default_factory=list)
    features: list[FeatureTable] = field(default_factory=list)


def catalog_from_manifest(manifest: str) -> DataCatalog:
    """The catalog of a simulated world, from its ``manifest.json``.

    Its NASS exports and county GeoPackage are read by the same readers as real files.
    """
    path = Path(manifest)
    try:
        entries = json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CropcastError(f"{path}: not a readable world manifest ({error}); run "
                            "`cropcast world` to (re)generate the world") from None
    root = path.parent
    yields = [str(root / e["path"]) for e in entries if e["role"] == "yields"]
    shapes = [str(root / e["path"]) for e in entries if e["role"] == "boundaries"]
    if not yields or not shapes:
        raise CropcastError(f"{path}: lists no yields or no boundaries; regenerate the world")
    return DataCatalog(
        yields=QuickStatsSource(paths=yields, commodity="CORN"),
        boundaries=BoundarySource(path=shapes[0], layer="counties", id_column="GEOID",
                                  name_column="NAME", region_id_width=5),
    )


def _years(years: pd.Series) -> dict:
    if years.empty:
        return {"first": None, "last": None, "count": 0}
    return {"first": int(years.min()), "last": int(years.max()), "count": int(years.nunique())}


def _missing_by_code(table: pd.DataFrame, variables: list[str]) -> dict:
    out = {}
    for variable in variables:
        code = table.get(f"{variable}_code")
        if code is None:
            continue
        counts = code.dropna().value_counts()
        absent = int((table[variable].isna() & code.isna()).sum())
        entry = {str(k): int(v) for k, v in counts.items()}
        if absent:
            entry["no record"] = absent
        if entry:
            out[variable] = entry
    return out


def _yields_report(data: QuickStatsData | pd.DataFrame) -> tuple[dict, pd.Series]:
    if isinstance(data, QuickStatsData):
        counties = data.counties
        variables = [c for c in counties.columns if f"{c}_code" in counties.columns]
        absent = [v for v in variables
                  if counties[v].isna().all() and counties[f"{v}_code"].isna().all()]
        variables = [v for v in variables if v not in absent]
        report = {
            "kind": "NASS Quick Stats", "files": data.files, "rows": len(counties),
            "regions": int(counties["region_id"].nunique()), "years": _years(counties["year"]),
            "values": {v: int(counties[v].notna().sum()) for v in variables},
            "missing_by_code": _missing_by_code(counties, variables),
            "series_not_in_files": absent,
            "other_rows": len(data.others),
            "state_series": data.states.groupby(["variable", "reference_period"]).size()
            .rename("rows").reset_index().to_dict("records"),
        }
        return report, counties["region_id"]
    report = {"kind": "yields table", "rows": len(data),
              "regions": int(data["region_id"].nunique()), "years": _years(data["year"]),
              "missing": {"yield": int(data["yield"].isna().sum())}}
    return report, data["region_id"]


def check_catalog(catalog: DataCatalog) -> dict:
    """Load (and so validate) every source; return a JSON-ready summary.

    Raises
    ------
    CropcastError
        From the first invalid source, naming file, row and value.
    """
    report: dict = {}
    region_ids = None
    if catalog.yields is not None:
        report["yields"], region_ids = _yields_report(catalog.yields.load())
    if catalog.boundaries is not None:
        shapes, repairs = catalog.boundaries.load()
        report["boundaries"] = {
            "path": catalog.boundaries.path, "features": len(shapes),
            "crs": shapes.crs.to_string(), "repaired_geometries": repairs.repaired,
        }
        if region_ids is not None:
            report["yields_vs_boundaries"] = join_report(region_ids, shapes).as_dict()
    for source in catalog.series:
        table = source.load()
        report.setdefault("series", {})[source.name] = {
            "path": source.path, "rows": len(table),
            "regions": int(table["region_id"].nunique()),
            "dates": {"first": str(table["date"].min().date()),
                      "last": str(table["date"].max().date())},
            "value_columns": list(source.value_columns),
        }
    for source in catalog.features:
        table = source.load()
        report.setdefault("features", {})[source.name] = {
            "path": source.path, "rows": len(table),
            "regions": int(table["region_id"].nunique()), "years": _years(table["year"]),
            "columns": [c for c in table.columns if c not in ("region_id", "year")],
            "as_of": "end of season only (the table has no dates)",
        }
    if not report:
        raise CropcastError("the data config names no source; set data.yields, "
                            "data.boundaries, data.series or data.features")
    return report
