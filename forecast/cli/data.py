"""``cropcast data``: check every configured source at the door and write the data report."""

from __future__ import annotations

import json

from omegaconf import DictConfig

from cropcast.atomic import write_text_atomic
from cropcast.features.sources.catalog import check_catalog
from cropcast.forecast.cli.compose import data_catalog
from cropcast.workdir import Workdir

__all__ = ["run"]


def run(cfg: DictConfig) -> dict:
    """Check every configured source and write ``WORKDIR/data_report.json``.

    Returns
    -------
    dict
        The report (per source: rows, regions, years, missing values by code, ...).
    """
    report = check_catalog(data_catalog(cfg))
    path = write_text_atomic(Workdir(cfg.workdir).data_report,
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
