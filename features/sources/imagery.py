"""Imagery catalogs and reads: folder, listing or STAC in; scenes of clean values out.

A catalog is a table with one row per file layer: ``product, layer, tile, date`` (the
first day of the compositing window, as in file names), ``obs_date`` (the window's end
plus any availability lag: later stages filter on it, never on ``date``), ``path``.
Three routes build it from what users have: a folder of GeoTIFF/COG files with the date in
their names, a CSV/Parquet listing, or a STAC item collection / static catalog.
:func:`read_scenes` then reads one product and date over a region, one scene per tile
(each tile is its own pixel grid), windowed so that a CONUS raster is never read whole.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.transform import Affine
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from cropcast.errors import CropcastError
from cropcast.features.sources.products import Layer, Product, QualityLayer
from cropcast.features.sources.tables import read_table

__all__ = ["DATE_PATTERNS", "Scene", "folder_catalog", "listing_catalog", "read_scenes",
           "stac_catalog"]

DATE_PATTERNS = {
    "modis": r"\.A(?P<year>\d{4})(?P<doy>\d{3})\.",
    "appeears": r"doy(?P<year>\d{4})(?P<doy>\d{3})",
    "iso": r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)",
    "compact": r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<month>\d{2})(?P<day>\d{2})(?!\d)",
}
_TILE = re.compile(r"(h\d{2}v\d{2}|T\d{2}[A-Z]{3})")
_COLUMNS = ["product", "layer", "tile", "date", "obs_date", "path"]


def _date_from_match(match: re.Match) -> dt.date:
    parts = match.groupdict()
    if parts.get("doy"):
        year, doy = int(parts["year"]), int(parts["doy"])
        if not 1 <= doy <= (366 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 365):
            raise ValueError(f"day of year {doy} out of range")
        return dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
    return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))


def _parse_date(name: str, pattern: str) -> dt.date | None:
    patterns = list(DATE_PATTERNS.values()) if pattern == "auto" else [
        DATE_PATTERNS.get(pattern, pattern)]
    for regex in patterns:
        match = re.search(regex, name)
        if match:
            try:
                return _date_from_match(match)
            except (ValueError, KeyError):
                return None
    return None


def _finish(rows: list[dict], product: Product, where: str) -> pd.DataFrame:
    """Add observation dates, check duplicates and completeness."""
    if not rows:
        raise CropcastError(f"{where}: no {product.name} files found")
    table = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c != "obs_date"])
    table["obs_date"] = table["date"] + dt.timedelta(days=product.window_days - 1
                                                     + product.lag_days)
    key = ["product", "layer", "tile", "date"]
    dup = table.duplicated(key, keep=False)
    if dup.any():
        clash = table[dup].sort_values(key).head(2)
        raise CropcastError(
            f"{where}: two files claim {product.name} layer {clash['layer'].iloc[0]!r}, tile "
            f"{clash['tile'].iloc[0] or '(none)'}, date {clash['date'].iloc[0]}: "
            f"{clash['path'].iloc[0]} and {clash['path'].iloc[1]}; remove one (a re-download "
            "or a reprocessed version?)")
    needed = {layer.file for layer in product.files().values()}
    per_scene = table.groupby(["tile", "date"])["layer"].agg(set)
    incomplete = per_scene[per_scene.map(lambda found: not needed <= found)]
    if len(incomplete):
        (tile, date), found = incomplete.index[0], incomplete.iloc[0]
        raise CropcastError(
            f"{where}: {product.name} on {date} (tile {tile or '(none)'}) lacks layer(s) "
            f"{sorted(needed - found)}; found {sorted(found)}. Download the missing layers "
            "or fix the product's layer names")
    return table[_COLUMNS].sort_values(["date", "tile", "layer"], ignore_index=True)


def folder_catalog(folder: str | Path, product: Product, pattern: str = "*.tif",
                   date_pattern: str = "auto", recursive: bool = True) -> pd.DataFrame:
    """Catalog the files of ``product`` in a folder, dates and tiles from their names.

    Parameters
    ----------
    folder : str or Path
        Folder to search (recursively by default).
    product : Product
        The product; a file belongs to a layer when its name contains the layer's token.
    pattern : str
        Glob of the file names to consider (``*.tif``).
    date_pattern : str
        ``auto`` (try all), ``modis`` (``AYYYYDDD``), ``appeears`` (``doyYYYYDDD``),
        ``iso`` (``YYYY-MM-DD``), ``compact`` (``YYYYMMDD``), or a regex with named groups
        ``year`` and ``doy``, or ``year``, ``month`` and ``day``.
    recursive : bool
        Search sub-folders too.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CropcastError(f"{folder}: no such folder; check the imagery path in your data "
                            "config")
    files = sorted(p for p in (folder.rglob("*") if recursive else folder.iterdir())
                   if p.is_file() and fnmatch.fnmatch(p.name, pattern))
    hdf = [p for p in (files or folder.rglob("*.hdf")) if p.suffix.lower() == ".hdf"]
    if hdf and not _gdal_reads_hdf4():
        raise CropcastError(f"{folder}: holds HDF4 files such as {hdf[0].name}: {_HDF4_HINT}")
    if not files:
        raise CropcastError(f"{folder}: no file matches {pattern!r}")
    named = [p for p in files if product.name.lower() in p.name.lower()]
    files = named or files  # e.g. keep MOD13Q1 files apart from MYD13Q1 ones
    tokens = {layer.file for layer in product.files().values()}
    rows, undated = [], []
    for path in files:
        layer = max((t for t in tokens if t in path.name), key=len, default=None)
        if layer is None:
            continue
        date = _parse_date(path.name, date_pattern)
        if date is None:
            undated.append(path.name)
            continue
        tile = _TILE.search(path.name)
        rows.append({"product": product.name, "layer": layer, "tile": tile.group(1) if tile
                     else "", "date": date, "path": str(path)})
    if undated and not rows:
        raise CropcastError(
            f"{folder}: the date pattern {date_pattern!r} matches no file name (e.g. "
            f"{undated[0]!r}); set date_pattern to modis (AYYYYDDD), appeears (doyYYYYDDD), "
            "iso, compact or a regex with named groups year and doy (or month, day)")
    if not rows:
        raise CropcastError(f"{folder}: no file name contains a layer token of "
                            f"{product.name} {sorted(tokens)}; e.g. {files[0].name!r}")
    return _finish(rows, product, str(folder))


def _gdal_reads_hdf4() -> bool:
    with rasterio.Env() as env:
        return "HDF4" in env.drivers()


def listing_catalog(path: str | Path, product: Product) -> pd.DataFrame:
    """Catalog from a CSV/Parquet listing with ``path, date, product`` and optional
    ``layer`` (default: the product's only layer file) and ``tile`` columns. Relative paths
    are relative to the listing."""
    path = Path(path)
    table = read_table(path, {"path": "path", "date": "date", "product": "product"})
    table = table[table["product"].astype(str) == product.name]
    tokens = {layer.file for layer in product.files().values()}
    if "layer" not in table:
        if len(tokens) > 1:
            raise CropcastError(f"{path}: has no 'layer' column but {product.name} has "
                                f"several layer files {sorted(tokens)}; add the column")
        table = table.assign(layer=next(iter(tokens)))
    rows = []
    for position, row in enumerate(table.itertuples(index=False)):
        date = _parse_date(str(row.date), "iso") or _parse_date(str(row.date), "compact")
        if date is None:
            raise CropcastError(f"{path}, row {position + 1}: date {row.date!r} is not "
                                "YYYY-MM-DD or YYYYMMDD")
        if row.layer not in tokens:
            raise CropcastError(f"{path}, row {position + 1}: layer {row.layer!r} is not one "
                                f"of {product.name}'s {sorted(tokens)}")
        file = str(row.path)
        if not _is_url(file) and not Path(file).is_absolute():
            file = str(path.parent / file)
        rows.append({"product": product.name, "layer": row.layer,
                     "tile": str(getattr(row, "tile", "") or ""), "date": date, "path": file})
    return _finish(rows, product, str(path))


def _is_url(href: str) -> bool:
    return urlparse(href).scheme in ("http", "https", "s3", "gs")


def _stac_items(path: str | Path) -> tuple[list[dict], Path | str]:
    location = str(path)
    text = _read_text(location)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CropcastError(f"{location}: not valid STAC JSON ({error})") from None
    base = location.rsplit("/", 1)[0] if _is_url(location) else Path(location).parent
    if document.get("type") == "FeatureCollection":
        return document.get("features", []), base
    if document.get("type") == "Feature":
        return [document], base
    if document.get("type") in ("Catalog", "Collection"):
        items = []
        for link in document.get("links", []):
            if link.get("rel") in ("item", "child"):
                href = _resolve(base, link["href"])
                found, _ = _stac_items(href)
                here = str(href).rsplit("/", 1)[0] if _is_url(str(href)) else str(
                    Path(href).parent)
                items += [i if "_base" in i else dict(i, _base=here) for i in found]
        return items, base
    raise CropcastError(f"{location}: not a STAC item collection, item or catalog (type "
                        f"{document.get('type')!r})")


def _read_text(location: str) -> str:
    if _is_url(location):
        from urllib.request import urlopen

        try:
            with urlopen(location, timeout=60) as response:
                return response.read().decode("utf-8")
        except OSError as error:
            raise CropcastError(f"{location}: cannot be fetched ({error})") from None
    try:
        return Path(location).read_text(encoding="utf-8")
    except OSError as error:
        raise CropcastError(f"{location}: cannot be read ({error.strerror})") from None


def _resolve(base: Path | str, href: str) -> str:
    if _is_url(href) or Path(href).is_absolute():
        return href
    if isinstance(base, str) and _is_url(base):
        return f"{base}/{href.removeprefix('./')}"
    return str(Path(base) / href)


def stac_catalog(path: str | Path, product: Product) -> pd.DataFrame:
    """Catalog from a STAC item collection (GeoJSON FeatureCollection), item or static
    catalog. Items of the product (``properties.product`` or the collection id) name their
    date by ``properties.start_datetime`` or ``datetime``; assets are keyed by layer token;
    hrefs may be relative, absolute or http(s) (read through GDAL's /vsicurl/)."""
    items, base = _stac_items(path)
    tokens = {layer.file for layer in product.files().values()}
    rows = []
    for item in items:
        props = item.get("properties", {})
        if (props.get("product") or item.get("collection")) != product.name:
            continue
        stamp = props.get("start_datetime") or props.get("datetime")
        date = _parse_date(str(stamp)[:10], "iso") if stamp else None
        if date is None:
            raise CropcastError(f"{path}: STAC item {item.get('id')!r} has no usable datetime "
                                f"(got {stamp!r})")
        end = props.get("end_datetime")
        if end and stamp and str(end)[:10] != str(stamp)[:10]:
            expected = date + dt.timedelta(days=product.window_days - 1)
            if _parse_date(str(end)[:10], "iso") != expected:
                raise CropcastError(
                    f"{path}: STAC item {item.get('id')!r} spans {str(stamp)[:10]}..."
                    f"{str(end)[:10]} but {product.name} has window_days="
                    f"{product.window_days}; fix window_days so observation dates are right")
        assets = item.get("assets", {})
        missing = sorted(tokens - set(assets))
        if missing:
            raise CropcastError(f"{path}: STAC item {item.get('id')!r} lacks asset(s) {missing}"
                                f" of {product.name}; it has {sorted(assets)}")
        for token in tokens:
            href = _resolve(item.get("_base", base), assets[token]["href"])
            rows.append({"product": product.name, "layer": token,
                         "tile": _stac_tile(item), "date": date,
                         "path": f"/vsicurl/{href}" if _is_url(href) else href})
    return _finish(rows, product, str(path))


def _stac_tile(item: dict) -> str:
    """The tile of a STAC item: ``tile``, ``s2:mgrs_tile``, MODIS h/v, or from its id."""
    props = item.get("properties", {})
    if props.get("tile"):
        return str(props["tile"])
    if props.get("s2:mgrs_tile"):
        return f"T{props['s2:mgrs_tile']}"
    if "modis:horizontal-tile" in props and "modis:vertical-tile" in props:
        return f"h{int(props['modis:horizontal-tile']):02d}v{int(props['modis:vertical-tile']):02d}"
    match = _TILE.search(str(item.get("id", "")))
    return match.group(1) if match else ""


_HDF4_HINT = ("this GDAL cannot read HDF4 (most rasterio wheels lack the driver): export "
              "GeoTIFFs with NASA AppEEARS, or convert with `gdal_translate "
              "HDF4_EOS:EOS_GRID:\"file.hdf\":MODIS_Grid_16DAY_250m_500m_VI:\"250m 16 days "
              "NDVI\" out.tif` where GDAL has HDF4")


@dataclass
class Scene:
    """One product, date and tile over a region: values, quality and the pixel grid.

    ``values`` maps each layer (and derived index) to float32 physical values with NaN
    where the file has fill; ``good`` is True where the quality layer says good and every
    layer has a value. ``crs``/``transform``/``shape`` describe the window that was read.
    """

    product: str
    tile: str
    date: dt.date
    obs_date: dt.date
    crs: rasterio.crs.CRS
    transform: Affine
    shape: tuple[int, int]
    values: dict[str, np.ndarray]
    good: np.ndarray


def _open(path: str):
    if not path.startswith("/vsi") and not Path(path).exists():
        raise CropcastError(f"{path}: no such file (listed in the catalog); check the path "
                            "or rebuild the listing")
    try:
        if path.startswith("/vsicurl/"):
            # Remote COGs: read by HTTP range requests, without listing the server folder.
            with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
                              CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif,.tiff"):
                return rasterio.open(path)
        return rasterio.open(path)
    except RasterioIOError as error:
        if path.lower().endswith(".hdf"):
            raise CropcastError(f"{path}: {_HDF4_HINT}") from None
        raise CropcastError(f"{path}: cannot be opened as a raster ({error}); the file looks "
                            "corrupt or truncated: download it again") from None


_QUALITY_FILL = np.iinfo(np.int64).min


def _decode(src, layer: Layer, window: Window, product: Product, name: str) -> np.ndarray:
    """Physical values (float32, NaN at fill) or, for a quality layer, int64 codes with
    fill as ``_QUALITY_FILL``."""
    if layer.band > src.count:
        raise CropcastError(f"{src.name}: has {src.count} band(s); {product.name} layer {name} "
                            f"wants band {layer.band}")
    try:
        raw = src.read(layer.band, window=window, boundless=False)
    except (RasterioIOError, rasterio.errors.RasterioError) as error:
        raise CropcastError(f"{src.name}: cannot be read ({error}); the file looks truncated "
                            "or corrupt: download it again") from None
    fill = layer.fill if layer.fill is not None else src.nodata
    integer = np.issubdtype(raw.dtype, np.integer)
    if fill is None and integer:
        raise CropcastError(f"{src.name}: {product.name} layer {name} has no fill value (the "
                            f"file declares no nodata); set it in the product, e.g. "
                            f"layers.{name}.fill=-3000")
    if isinstance(layer, QualityLayer):
        codes = raw.astype(np.int64)
        if fill is not None:
            codes[raw == fill] = _QUALITY_FILL
        return codes
    scale = layer.scale if layer.scale is not None else src.scales[layer.band - 1]
    offset = layer.offset if layer.offset is not None else src.offsets[layer.band - 1]
    if layer.scale is None and integer and scale == 1.0 and offset == 0.0:
        raise CropcastError(f"{src.name}: {product.name} layer {name} holds integers with no "
                            "scale in the file or the product; set it, e.g. "
                            f"layers.{name}.scale=0.0001 (MODIS NDVI and reflectance)")
    values = raw.astype(np.float32) * np.float32(scale) + np.float32(offset)
    if fill is not None:
        values[raw == fill] = np.nan
    return values


def _good(codes: np.ndarray, quality: QualityLayer) -> np.ndarray:
    """Where the quality codes say good (fill is never good)."""
    value = codes
    if quality.bits:
        value = np.zeros_like(codes)
        for i, bit in enumerate(quality.bits):  # listed bits, least significant first
            value |= ((codes >> bit) & 1) << i
    return np.isin(value, quality.good) & (codes != _QUALITY_FILL)


def read_scenes(catalog: pd.DataFrame, product: Product, date: dt.date,
                bounds: tuple[float, float, float, float] | None = None,
                bounds_crs: str | None = None) -> list[Scene]:
    """Read ``product`` on ``date`` (window start), one :class:`Scene` per tile.

    Parameters
    ----------
    catalog : DataFrame
        From :func:`folder_catalog`, :func:`listing_catalog` or :func:`stac_catalog`.
    product : Product
        How to decode the layers.
    date : date
        The composite's window start (the ``date`` column).
    bounds, bounds_crs : optional
        Region of interest and its CRS: only the window covering it is read, and tiles
        that miss it are skipped. The bounds are transformed to each raster's CRS; the
        raster itself is never reprojected.
    """
    rows = catalog[(catalog["product"] == product.name) & (catalog["date"] == date)]
    if rows.empty:
        raise CropcastError(f"no {product.name} composite starting on {date} in the catalog; "
                            f"it has {catalog['date'].nunique()} dates from "
                            f"{catalog['date'].min()} to {catalog['date'].max()}")
    if bounds is not None and bounds_crs is None:
        raise CropcastError("bounds_crs is required with bounds (the CRS of the region)")
    scenes = []
    for tile, files in rows.groupby("tile", sort=True):
        paths = dict(zip(files["layer"], files["path"], strict=True))
        scene = _read_tile(paths, product, tile, bounds, bounds_crs, files)
        if scene is not None:
            scenes.append(scene)
    return scenes


def _read_tile(paths: dict[str, str], product: Product, tile: str, bounds, bounds_crs,
               files: pd.DataFrame) -> Scene | None:
    first = next(iter(paths.values()))
    with _open(first) as src:
        crs, full = src.crs, src.transform
        if crs is None and bounds is not None:
            raise CropcastError(f"{first}: has no CRS, so a region cannot be placed on it; "
                                "set one (gdal_edit.py -a_srs) or read without bounds")
        window = Window(0, 0, src.width, src.height)
        if bounds is not None:
            window = _window(transform_bounds(bounds_crs, crs, *bounds, densify_pts=21), src)
            if window is None:
                return None
    values, quality = {}, None
    for name, layer in product.files().items():
        with _open(paths[layer.file]) as src:
            if src.crs != crs or src.transform != full:
                raise CropcastError(f"{src.name}: its grid differs from {first}'s; the layers "
                                    "of one tile and date must share a grid")
            decoded = _decode(src, layer, window, product, name)
        if name == "quality":
            quality = decoded
        else:
            values[name] = decoded
    if product.indices:
        values.update(_indices(values, product))
    good = np.ones(next(iter(values.values())).shape, dtype=bool)
    for array in values.values():
        good &= np.isfinite(array)
    if quality is not None:
        good &= _good(quality, product.quality)
    # Affine multiplication with `@` (affine 3 deprecates `*`, which rasterio.windows uses).
    transform = full @ Affine.translation(window.col_off, window.row_off)
    return Scene(product.name, tile, files["date"].iloc[0], files["obs_date"].iloc[0], crs,
                 transform, (int(window.height), int(window.width)), values, good)


def _window(bounds: tuple[float, float, float, float], src) -> Window | None:
    """The whole pixels covering ``bounds`` (raster CRS), clipped to the raster; None if
    they miss it."""
    t = src.transform
    if t.b != 0 or t.d != 0:
        raise CropcastError(f"{src.name}: rotated rasters are not supported; warp it north-up "
                            "first (gdalwarp)")
    west, south, east, north = bounds
    cols = sorted(((west - t.c) / t.a, (east - t.c) / t.a))
    rows = sorted(((north - t.f) / t.e, (south - t.f) / t.e))  # north-up or south-up
    col0, col1 = int(np.floor(cols[0])), int(np.ceil(cols[1]))
    row0, row1 = int(np.floor(rows[0])), int(np.ceil(rows[1]))
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, src.width), min(row1, src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _indices(values: dict[str, np.ndarray], product: Product) -> dict[str, np.ndarray]:
    import spyndex

    params = {symbol: values[layer] for symbol, layer in product.bands.items()}
    out = {}
    for index in product.indices:
        needed = spyndex.indices[index].bands
        given = {b: params[b] if b in params else spyndex.constants[b].default for b in needed}
        with np.errstate(divide="ignore", invalid="ignore"):
            result = np.asarray(spyndex.computeIndex(index, params=given), dtype=np.float32)
        result[~np.isfinite(result)] = np.nan
        out[index] = result
    return out
