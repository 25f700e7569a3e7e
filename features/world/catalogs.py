"""The world's imagery also as a listing (CSV) and a STAC item collection, as users get it.

Both point at the same GeoTIFFs with paths relative to themselves, so the folder, listing
and STAC routes of the imagery readers can be checked against each other.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from rasterio.warp import transform_bounds

from cropcast.features.world.grids import ImageryTile
from cropcast.manifest import Role

__all__ = ["write_listing", "write_stac"]

LISTING = "listing.csv"
STAC = "stac_items.json"


def write_listing(entries: list[dict], folder: Path) -> dict:
    """``folder/listing.csv`` with ``path, date, product, layer, tile`` per image file."""
    path = folder / LISTING
    rows = sorted((Path(e["path"]).relative_to(folder).as_posix(), e["date"], e["product"],
                   e["layer"], e["tile"]) for e in entries)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "date", "product", "layer", "tile"])
        writer.writerows(rows)
    return {"path": path, "role": Role.IMAGERY_CATALOG, "format": "CSV listing"}


def write_stac(entries: list[dict], tiles: list[ImageryTile], folder: Path) -> dict:
    """``folder/stac_items.json``: a STAC 1.0 ItemCollection, one item per product, tile
    and date, one asset per layer file, hrefs relative to the collection file."""
    footprint = {}
    for tile in tiles:
        g = tile.grid
        west, south, east, north = transform_bounds(
            g.crs, "EPSG:4326", g.transform.c, g.transform.f + g.height * g.transform.e,
            g.transform.c + g.width * g.transform.a, g.transform.f, densify_pts=21)
        footprint[tile.name] = [round(v, 6) for v in (west, south, east, north)]
    items: dict[tuple, dict] = {}
    for e in sorted(entries, key=lambda e: (e["product"], e["date"], e["tile"], e["layer"])):
        key = (e["product"], e["date"], e["tile"])
        if key not in items:
            west, south, east, north = footprint[e["tile"]]
            start = dt.date.fromisoformat(e["date"])
            doy = start.timetuple().tm_yday
            items[key] = {
                "type": "Feature", "stac_version": "1.0.0",
                "id": f"{e['product']}.A{start.year}{doy:03d}.{e['tile']}",
                "collection": e["product"],
                "geometry": {"type": "Polygon", "coordinates": [[
                    [west, south], [east, south], [east, north], [west, north],
                    [west, south]]]},
                "bbox": [west, south, east, north],
                "properties": {
                    "datetime": None, "start_datetime": f"{e['date']}T00:00:00Z",
                    "end_datetime": f"{e['window_end']}T23:59:59Z",
                    "product": e["product"], "tile": e["tile"],
                },
                "assets": {}, "links": [],
            }
        items[key]["assets"][e["layer"]] = {
            "href": Path(e["path"]).relative_to(folder).as_posix(),
            "type": "image/tiff; application=geotiff", "roles": ["data"],
        }
    path = folder / STAC
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(items.values())},
                               indent=1) + "\n")
    return {"path": path, "role": Role.IMAGERY_CATALOG, "format": "STAC ItemCollection"}
