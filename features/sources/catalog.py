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

import numpy as np
import pandas as pd
import rasterio

from cropcast.errors import CropcastError
from cropcast.features.sources.boundaries import BoundarySource, join_report
from cropcast.features.sources.imagery import (
    folder_catalog,
    listing_catalog,
    read_scenes,
    stac_catalog,
)
from cropcast.features.sources.products import Product, product_from_config
from cropcast.features.sources.quickstats import QuickStatsData, QuickStatsSource
from cropcast.features.sources.tables import FeatureTable, RegionTimeSeries, YieldTable
from cropcast.features.sources.weather import WeatherSource
from cropcast.manifest import Role

__all__ = ["CROPMASK_MODES", "ROUTES", "CropMaskSource", "DataCatalog", "ImagerySource",
           "catalog_from_manifest", "check_catalog"]

ROUTES = ("folder", "listing", "stac")
# In-season weightings of a crop mask (cropcast.features.cropmask.crop_fraction).
CROPMASK_MODES = ("frequency", "previous_year", "cropland", "same_year")


@dataclass
class ImagerySource:
    """One imagery product and where its files are.

    Parameters
    ----------
    product : str or dict
        A preset name (``MOD13Q1``, ``MOD09Q1``) or a full product description (``name``,
        ``window_days``, ``layers``, ``quality``, ``indices``, ``bands``, ``lag_days``;
        ``preset`` to start from one).
    route : {"folder", "listing", "stac"}
        How the files are listed.
    path : str
        The folder, the CSV/Parquet listing, or the STAC item collection / catalog.
    pattern, date_pattern : str
        Folder route only: file glob and date pattern (see ``folder_catalog``).
    """

    product: str | dict
    route: str
    path: str
    pattern: str = "*.tif"
    date_pattern: str = "auto"

    def spec(self) -> Product:
        """The decoded product settings."""
        return product_from_config(self.product)

    def catalog(self) -> pd.DataFrame:
        """The files, one row per layer, tile and date."""
        product = self.spec()
        if self.route == "folder":
            return folder_catalog(self.path, product, self.pattern, self.date_pattern)
        if self.route == "listing":
            return listing_catalog(self.path, product)
        if self.route == "stac":
            return stac_catalog(self.path, product)
        raise CropcastError(f"imagery route must be one of {list(ROUTES)}; got {self.route!r}")


@dataclass
class CropMaskSource:
    """Crop masks (CDL GeoTIFFs), one per season, found by a file pattern.

    Parameters
    ----------
    folder : str
        Where the files are.
    pattern : str
        File name with ``{year}``, e.g. ``{year}_30m_cdls.tif``.
    classes : list of int
        Classes of the crop (CDL corn = 1).
    mode : str
        In-season weighting (see ``cropcast.features.cropmask.crop_fraction``): ``frequency``.
    years_back : int
        Seasons in the corn frequency.
    """

    folder: str
    pattern: str = "{year}_30m_cdls.tif"
    classes: list[int] = field(default_factory=lambda: [1])
    mode: str = "frequency"
    years_back: int = 4

    def paths(self) -> dict[int, str]:
        """Mask path by season."""
        if self.pattern.count("{year}") != 1:
            raise CropcastError(f"cropmask.pattern={self.pattern!r} must contain {{year}} once,"
                                " e.g. {year}_30m_cdls.tif")
        if self.mode not in CROPMASK_MODES:
            raise CropcastError(f"cropmask.mode must be one of {list(CROPMASK_MODES)}; got "
                                f"{self.mode!r}")
        prefix, suffix = self.pattern.split("{year}")
        found = {}
        for path in Path(self.folder).glob(self.pattern.replace("{year}", "[0-9]" * 4)):
            found[int(path.name[len(prefix): len(path.name) - len(suffix)])] = str(path)
        if not found:
            raise CropcastError(f"{self.folder}: no crop mask matches {self.pattern!r}; set "
                                "cropmask.pattern (e.g. {year}_30m_cdls.tif)")
        return dict(sorted(found.items()))

    def season_paths(self, year: int) -> dict[int, str]:
        """The mask files behind ``year``'s in-season weights, by season (the mode's)."""
        paths = self.paths()
        if self.mode == "same_year":
            years = [year]
        elif self.mode == "frequency":
            years = list(range(year - self.years_back, year))
        else:
            years = [year - 1]
        return {y: paths[y] for y in years if y in paths}


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
    imagery : list of ImagerySource
        Imagery products.
    cropmask : CropMaskSource, optional
        Crop masks by season.
    weather : WeatherSource, optional
        Daily gridded weather.
    """

    yields: QuickStatsSource | YieldTable | None = None
    boundaries: BoundarySource | None = None
    series: list[RegionTimeSeries] = field(default_factory=list)
    features: list[FeatureTable] = field(default_factory=list)
    imagery: list[ImagerySource] = field(default_factory=list)
    cropmask: CropMaskSource | None = None
    weather: WeatherSource | None = None


def catalog_from_manifest(manifest: str) -> DataCatalog:
    """The catalog of a simulated world, from its ``manifest.json``.

    Its NASS exports, county GeoPackage, imagery, crop masks and weather are read by the
    same readers as real files.

    Parameters
    ----------
    manifest : str
        Path of the world's ``manifest.json``.

    Returns
    -------
    DataCatalog

    Raises
    ------
    CropcastError
        When the manifest is unreadable or lists no yields or boundaries.
    """
    path = Path(manifest)
    try:
        entries = json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CropcastError(f"{path}: not a readable world manifest ({error}); run "
                            "`cropcast world` to (re)generate the world") from None
    root = path.parent
    yields = [str(root / e["path"]) for e in entries if e["role"] == Role.YIELDS]
    shapes = [str(root / e["path"]) for e in entries if e["role"] == Role.BOUNDARIES]
    if not yields or not shapes:
        raise CropcastError(f"{path}: lists no yields or no boundaries; regenerate the world")
    masks = [e for e in entries if e["role"] == Role.CROPMASK]
    weather = [e for e in entries if e["role"] == Role.WEATHER]
    return DataCatalog(
        yields=QuickStatsSource(paths=yields, commodity="CORN"),
        boundaries=BoundarySource(path=shapes[0], layer="counties", id_column="GEOID",
                                  name_column="NAME", region_id_width=5),
        imagery=[ImagerySource(product=name, route="folder", path=str(root / "imagery"))
                 for name in sorted({e["product"] for e in entries if e["role"] == Role.IMAGERY})],
        cropmask=CropMaskSource(folder=str(root / "cropmask"),
                                pattern=Path(masks[0]["path"]).name.replace(
                                    str(masks[0]["year"]), "{year}")) if masks else None,
        weather=WeatherSource(folder=str(root / "weather")) if weather else None,
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
    for kind, sources in (("series", catalog.series), ("features", catalog.features)):
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise CropcastError(f"data.{kind}: names {names} repeat; give each source its own "
                                "name")
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
    for source in catalog.imagery:
        report.setdefault("imagery", {}).update(_imagery_report(source))
    if catalog.cropmask is not None:
        report["cropmask"] = _cropmask_report(catalog.cropmask)
    if catalog.weather is not None:
        report["weather"] = _weather_report(catalog.weather)
    if not report:
        raise CropcastError("the data config names no source; set data.yields, "
                            "data.boundaries, data.series or data.features")
    return report


def _imagery_report(source: ImagerySource, sample_dates: int = 3) -> dict:
    """Dates, tiles, grids and the share of good pixels (on a few sampled dates)."""
    product = source.spec()
    table = source.catalog()
    dates = sorted(table["date"].unique())
    picks = [dates[int(i)] for i in np.linspace(0, len(dates) - 1, min(sample_dates,
                                                                      len(dates)))]
    grids, good, total = {}, 0, 0
    for date in picks:
        for _, files in table[table["date"] == date].groupby("tile"):
            for scene in read_scenes(files, product, date, *_central_window(files)):
                grids[scene.tile or "(single)"] = {
                    "sample_shape": list(scene.shape), "pixel_size": abs(scene.transform.a),
                    "crs": _crs_text(scene.crs)}
                has_data = np.zeros(scene.shape, dtype=bool)
                for array in scene.values.values():
                    has_data |= np.isfinite(array)
                good += int((scene.good & has_data).sum())
                total += int(has_data.sum())
    return {product.name: {
        "route": source.route, "path": source.path, "files": len(table),
        "dates": len(dates), "first": str(dates[0]), "last": str(dates[-1]),
        "window_days": product.window_days, "lag_days": product.lag_days,
        "first_observed": str(table["obs_date"].min()), "tiles": grids,
        "layers": sorted(product.layers) + list(product.indices),
        "good_pixel_share": round(good / total, 4) if total else None,
        "good_pixel_sample": "central windows of at most 1024 x 1024 pixels",
        "sampled_dates": [str(d) for d in picks],
    }}


def _central_window(files: pd.DataFrame) -> tuple[tuple, object]:
    """Bounds (and CRS) of a central window of at most 1024 x 1024 pixels of a tile: the
    report samples, it never reads a CONUS raster whole."""
    with rasterio.open(files["path"].iloc[0]) as src:
        t, (rows, cols) = src.transform, src.shape
        r0, c0 = max(rows // 2 - 512, 0), max(cols // 2 - 512, 0)
        r1, c1 = min(r0 + 1024, rows), min(c0 + 1024, cols)
        xs = sorted((t.c + c0 * t.a, t.c + c1 * t.a))
        ys = sorted((t.f + r0 * t.e, t.f + r1 * t.e))
        return (xs[0], ys[0], xs[1], ys[1]), src.crs


def _cropmask_report(source: CropMaskSource) -> dict:
    paths = source.paths()
    crs = res = None
    for year, path in paths.items():  # every mask opens, with one grid
        try:
            with rasterio.open(path) as src:
                found = (_crs_text(src.crs) if src.crs else None, list(src.res))
        except rasterio.errors.RasterioIOError as error:
            raise CropcastError(f"{path}: cannot be opened as a crop mask ({error}); download "
                                f"the {year} layer again") from None
        crs, res = (crs or found[0]), (res or found[1])
    return {"folder": source.folder, "years": list(paths), "crs": crs, "pixel_size": res,
            "classes": source.classes, "mode": source.mode, "years_back": source.years_back}


def _weather_report(source: WeatherSource) -> dict:
    years = source.years()
    if not years:
        raise CropcastError(f"{source.folder}: no year has every weather file "
                            f"{sorted(source.files.values())}")
    sample = _central_weather(source, years[-1])
    ranges = {name: {"units": "degC" if name != "pr" else "mm",
                     "min": round(float(sample[name].min()), 2),
                     "max": round(float(sample[name].max()), 2)}
              for name in sample.data_vars}
    return {"folder": source.folder, "years": [years[0], years[-1]], "variables": ranges,
            "sample_grid": [int(sample.sizes["lat"]), int(sample.sizes["lon"])],
            "sampled_year": years[-1], "sample": "a central box of at most 5 x 5 degrees"}


def _central_weather(source: WeatherSource, year: int):
    """The year's weather over a central box of at most 5 x 5 degrees (a sample)."""
    import xarray as xr

    first = Path(source.folder) / next(iter(source.files.values())).format(year=year)
    try:
        with xr.open_dataset(first) as ds:
            lat, lon = ds[source.lat_dim].values, ds[source.lon_dim].values
    except (OSError, ValueError, KeyError) as error:
        raise CropcastError(f"{first}: cannot be read as NetCDF ({error})") from None
    lon = np.where(lon > 180, lon - 360, lon)
    clat, clon = float(np.median(lat)), float(np.median(lon))
    return source.load_year(year, bounds=(clon - 2.5, clat - 2.5, clon + 2.5, clat + 2.5))


def _crs_text(crs) -> str:
    """``EPSG:n`` when the CRS has a code, its PROJ string otherwise (MODIS sinusoidal)."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_proj4()
