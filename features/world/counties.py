"""Real county geometry for the world: Census cb_2016_us_county_500k, shipped by plotly-geo."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import geopandas as gpd
import pyogrio

from cropcast.errors import CropcastError

__all__ = ["census_counties", "write_counties"]

# The shapefile has no .prj (it is NAD83) and no .cpg (its names are UTF-8).
_CENSUS_CRS = "EPSG:4269"
_SHAPEFILE = "cb_2016_us_county_500k.shp"
# GeoPackage writers stamp the current time unless told otherwise: fix it for equal bytes.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def _shapefile() -> Path:
    try:
        folder = resources.files("_plotly_geo") / "package_data"
    except ModuleNotFoundError as error:
        raise CropcastError(
            "the Census county shapefile comes from the 'plotly-geo' package, which is not "
            "installed; install it with: pip install plotly-geo"
        ) from error
    return Path(str(folder / _SHAPEFILE))


def census_counties(state_fips: list[str]) -> gpd.GeoDataFrame:
    """Counties of the given states (FIPS codes), sorted by GEOID, in EPSG:4269.

    Columns: ``GEOID`` (5 characters), ``NAME``, ``STATEFP``, ``ALAND`` (m2), geometry.
    """
    counties = gpd.read_file(_shapefile(), encoding="utf-8")
    counties = counties.set_crs(_CENSUS_CRS)
    counties = counties[counties["STATEFP"].isin(state_fips)]
    columns = ["GEOID", "NAME", "STATEFP", "ALAND", "geometry"]
    return counties[columns].sort_values("GEOID", ignore_index=True)


def write_counties(counties: gpd.GeoDataFrame, path: Path, crs: str) -> None:
    """Write ``GEOID, NAME, STATEFP`` and geometry to a GeoPackage in ``crs``."""
    out = counties[["GEOID", "NAME", "STATEFP", "geometry"]].to_crs(crs)
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        out.to_file(path, layer="counties", driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
