"""Build a simulated world: lay out its grids once, simulate each season, write the files.

A world lives in ``WORKDIR/world/<states>_<years>_<resolution>_<hash>/``; the hash covers
every setting, so a different config never touches another world's files. The world is
written to a temporary folder and renamed into place only when complete (its
``manifest.json`` last), so a killed run leaves nothing that a later run would trust, and
a second run with the same config reuses the finished world.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from cropcast.atomic import current_umask
from cropcast.checks import check_int
from cropcast.features.world import layout as world_layout
from cropcast.features.world.catalogs import write_listing, write_stac
from cropcast.features.world.crop import degree_days_above, simulate_crops
from cropcast.features.world.imagery import write_geotiff, write_season_imagery
from cropcast.features.world.landuse import CDL_CLASSES, group_fractions, season_cdl
from cropcast.features.world.nass_export import (
    quickstats_rows,
    state_planted_rows,
    write_quickstats,
)
from cropcast.features.world.spec import STATE_FIPS, WorldSpec
from cropcast.features.world.weather import simulate_weather, write_gridmet
from cropcast.manifest import MANIFEST, Role
from cropcast.workdir import Workdir

__all__ = ["World", "build_world"]

_ACRE_M2 = 4046.8564224
_HARVEST_SHARE = 0.92  # share of planted corn harvested for grain in an ordinary season

# Set in the parent before the pool forks, read by the season workers.
_SHARED: dict = {}


@dataclass
class World:
    """A generated world: its folder and manifest."""

    root: Path
    manifest: dict
    reused: bool = False
    files: list[dict] = field(init=False)

    def __post_init__(self) -> None:
        self.files = self.manifest["files"]

    def paths(self, role: Role | str, product: str | None = None) -> list[Path]:
        """Absolute paths of the files with this role (and product)."""
        return [self.root / f["path"] for f in self.files
                if f["role"] == role and (product is None or f.get("product") == product)]

    def summary(self) -> str:
        """A few lines for the terminal."""
        size = sum((self.root / f["path"]).stat().st_size for f in self.files)
        stats = self.manifest["summary"]
        verb = "reused" if self.reused else "generated"
        return (f"world {verb}: {self.root}\n"
                f"  {stats['counties']} counties, seasons {stats['years']}, "
                f"{len(self.files)} files, {size / 1e6:.1f} MB\n"
                f"  manifest: {self.root / MANIFEST}")


def build_world(spec: WorldSpec, workdir: Path, workers: int = 2,
                progress: bool = True) -> World:
    """Generate the world described by ``spec`` under ``workdir``, or reuse it.

    Parameters
    ----------
    spec : WorldSpec
        The world's settings (validated).
    workdir : Path
        Root of the command's outputs; the world goes to ``workdir/world/<name>``.
    workers : int
        Processes simulating seasons in parallel (1: in this process).
    progress : bool
        Show a progress bar over seasons.

    Returns
    -------
    World
    """
    check_int(workers, "workers", 1)
    root = Workdir(workdir).checked(create=True).worlds / spec.folder_name()
    if (root / MANIFEST).is_file():
        return World(root, json.loads((root / MANIFEST).read_text()), reused=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        manifest = _generate(spec, staging, workers, progress)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; honour the umask
        try:
            os.rename(staging, root)
        except OSError:  # another run finished the same world first: keep theirs
            if not (root / MANIFEST).is_file():
                raise
            shutil.rmtree(staging)
            return World(root, json.loads((root / MANIFEST).read_text()), reused=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return World(root, manifest)


def _generate(spec: WorldSpec, out: Path, workers: int, progress: bool) -> dict:
    lay = world_layout.lay_out(spec)
    for folder in ("boundaries", "cropmask", "weather", "imagery", "nass", "truth"):
        (out / folder).mkdir()
    world_layout.write_counties(lay, out / "boundaries" / "counties.gpkg")
    entries = [{"path": "boundaries/counties.gpkg", "role": Role.BOUNDARIES, "format": "GPKG",
                "layer": "counties", "crs": "EPSG:5070", "columns": ["GEOID", "NAME", "STATEFP"]}]

    _SHARED.update(spec=spec, lay=lay, out=out)
    years = spec.years
    results: list[tuple[pd.DataFrame, list[dict]]] = []
    bar = tqdm(total=len(years), desc="world: seasons", unit="season", disable=not progress)
    try:
        if workers == 1 or len(years) == 1:
            for year in years:
                results.append(_season(year))
                bar.update()
        else:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(workers, len(years)), mp_context=context) as pool:
                for result in pool.map(_season, years):
                    results.append(result)
                    bar.update()
    finally:
        bar.close()
        _SHARED.clear()

    seasons = pd.concat([r[0] for r in results], ignore_index=True)
    for _, season_entries in results:
        entries += season_entries
    images = [e for e in entries if e["role"] == Role.IMAGERY]
    entries.append(write_listing(images, out / "imagery"))
    entries.append(write_stac(images, lay.tiles, out / "imagery"))
    truth = _yields(spec, lay, seasons)
    entries += _write_nass(spec, lay, truth, out / "nass")
    truth_path = out / "truth" / "truth.parquet"
    truth.to_parquet(truth_path, index=False)
    entries.append({"path": "truth/truth.parquet", "role": Role.TRUTH, "format": "Parquet"})
    for entry in entries:
        entry["path"] = str(Path(entry["path"]).relative_to(out)) if Path(
            entry["path"]).is_absolute() else entry["path"]
    return {
        "cropcast_world": 1,
        "spec": spec.identity(),
        "summary": {"counties": int(len(lay.counties)), "years": f"{years[0]}-{years[-1]}",
                    "imagery_pixel_m": round(lay.imagery.transform.a, 3),
                    "cropmask_pixel_m": spec.cropmask_pixel_m,
                    "weather_resolution_deg": spec.weather_resolution_deg,
                    "tiles": [t.name for t in lay.tiles]},
        "crs": {"boundaries": "EPSG:5070", "cropmask": "EPSG:5070",
                "imagery": lay.imagery.crs, "weather": "EPSG:4326"},
        "files": entries,
    }


def _rng(spec: WorldSpec, year: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, year, stream])


def _season(year: int) -> tuple[pd.DataFrame, list[dict]]:
    """Simulate and write one season (runs in a worker process)."""
    spec: WorldSpec = _SHARED["spec"]
    lay: world_layout.Layout = _SHARED["lay"]
    out: Path = _SHARED["out"]
    entries: list[dict] = []

    state_shock = _rng(spec, year, 0).normal(0, 0.05, len(spec.states))
    shock = dict(zip(spec.state_fips, state_shock, strict=True))
    share = lay.corn_share * (1 + lay.counties["STATEFP"].map(shock).to_numpy())
    cdl = season_cdl(lay.land, _rng(spec, year, 1), year, share, lay.mask_county)
    cdl_path = out / "cropmask" / f"{year}_{spec.cropmask_pixel_m:g}m_cdls.tif"
    write_geotiff(cdl_path, cdl, lay.cropmask, 0, tags={"year": str(year)})
    _add_colormap(cdl_path)
    entries.append({"path": cdl_path, "role": Role.CROPMASK, "product": "CDL", "year": year,
                    "crs": "EPSG:5070", "dtype": "uint8", "nodata": 0,
                    "classes": {str(k): v[0] for k, v in CDL_CLASSES.items()}})
    fractions = group_fractions(cdl, lay.mask_to_imagery, lay.imagery.height * lay.imagery.width)
    fractions = fractions[:, lay.pixels.valid]

    heat, drought = year in spec.heat_years, year in spec.drought_years
    weather = simulate_weather(_rng(spec, year, 2), lay.weather, lay.weather_basis, year, heat,
                               drought)
    for path in write_gridmet(weather, lay.weather, year, out / "weather"):
        entries.append({"path": path, "role": Role.WEATHER, "product": "gridMET",
                        "variable": path.name.split("_")[0], "year": year, "crs": "EPSG:4326"})

    days = weather["tmax"].shape[0]
    cells = {k: v.reshape(days, -1) for k, v in weather.items()}
    cells["edd"] = degree_days_above(cells["tmax"], cells["tmin"], 29.0)
    cells["dd10"] = degree_days_above(cells["tmax"], cells["tmin"], 10.0)
    weights = world_layout.county_cell_weights(lay, fractions[0])
    county = {k: np.asarray(weights @ v.T) for k, v in cells.items()}
    crops = simulate_crops(county["tmax"], county["tmin"], county["pr"], county["edd"],
                           county["dd10"], _rng(spec, year, 3))

    corn_pixels = np.bincount(lay.mask_county[cdl == 1], minlength=len(lay.counties))
    entries += write_season_imagery(
        out / "imagery", year, crops.canopy, fractions, lay.pixels,
        (spec.ndvi_first_doy, spec.ndvi_last_doy),
        (spec.reflectance_first_doy, spec.reflectance_last_doy), _rng(spec, year, 4),
    )
    season = pd.DataFrame({
        "region_id": lay.counties["GEOID"].to_numpy(), "year": year,
        "planting_doy": crops.planting_doy, "silking_doy": crops.silking_doy,
        "gdd_season": crops.gdd_season, "edd_season": crops.edd_season,
        "edd_critical": crops.edd_critical,
        "water_stress_critical": crops.water_stress_critical,
        "precip_jun_aug_mm": crops.precip_jun_aug, "relative_yield": crops.relative_yield,
        "peak_corn_ndvi": crops.peak_corn_ndvi,
        "planted_acres": corn_pixels * spec.cropmask_pixel_m**2 / _ACRE_M2,
        "heat_year": heat, "drought_year": drought,
    })
    return season, entries


def _add_colormap(path: Path) -> None:
    import rasterio

    with rasterio.open(path, "r+") as dst:
        dst.write_colormap(1, {code: (*rgb, 255) for code, (_, rgb) in CDL_CLASSES.items()})


def _yields(spec: WorldSpec, lay: world_layout.Layout, seasons: pd.DataFrame) -> pd.DataFrame:
    """Trend x weather stress + noise, and harvested acres, per county-year."""
    rng = np.random.default_rng([spec.seed, 0, 5])
    calib = lay.counties.set_index("GEOID")
    truth = seasons.merge(lay.counties[["GEOID", "STATEFP"]].rename(
        columns={"GEOID": "region_id", "STATEFP": "state_fips"}), on="region_id")
    level = truth["region_id"].map(calib["level_bu_ac"])
    slope = truth["region_id"].map(calib["slope_bu_ac_yr"])
    sd = truth["region_id"].map(calib["noise_sd_bu_ac"])
    truth["trend_yield"] = level + slope * (truth["year"] - world_layout.TREND_REFERENCE_YEAR)
    reference = float(truth["relative_yield"].median())
    truth["stress"] = 1 - truth["relative_yield"] / reference
    truth["yield_noise_free"] = truth["trend_yield"] * (1 - truth["stress"])
    state_year = truth.groupby(["state_fips", "year"]).ngroup()
    state_noise = rng.normal(0, 3.0, state_year.max() + 1)[state_year]
    truth["noise"] = rng.normal(0, 1, len(truth)) * sd + state_noise
    truth["yield"] = np.maximum(truth["yield_noise_free"] + truth["noise"], 10.0).round(1)
    harvest_share = np.clip(_HARVEST_SHARE - 0.25 * np.maximum(truth["stress"], 0)
                            + rng.normal(0, 0.01, len(truth)), 0.3, 0.99)
    truth["harvested_acres"] = (truth["planted_acres"] * harvest_share).round(-2)
    # Publication: small counties are often withheld (D), a few yields not available (NA).
    small = truth["harvested_acres"] < 8000
    withheld = rng.random(len(truth)) < np.where(small, 0.3, 0.03)
    missing = ~withheld & (rng.random(len(truth)) < 0.005)
    truth["nass_code"] = np.select([withheld, missing], ["(D)", "(NA)"], default="")
    truth.loc[truth["harvested_acres"] <= 0, "nass_code"] = "(D)"
    columns = ["region_id", "year", "state_fips", "trend_yield", "stress", "yield_noise_free",
               "noise", "yield", "planted_acres", "harvested_acres", "nass_code"]
    rest = [c for c in truth.columns if c not in columns]
    return truth[columns + rest].sort_values(["year", "region_id"], ignore_index=True)


def _write_nass(spec: WorldSpec, lay: world_layout.Layout, truth: pd.DataFrame,
                folder: Path) -> list[dict]:
    names = {STATE_FIPS[alpha][0]: STATE_FIPS[alpha][1] for alpha in spec.states}
    places = pd.DataFrame(lay.counties[["GEOID", "county_name", "ag_district",
                                        "ag_district_code"]]).rename(columns={"GEOID": "region_id"})
    frame = truth.merge(places, on="region_id")
    frame = frame[frame["harvested_acres"] > 0]
    counties = pd.DataFrame({
        "year": frame["year"], "state_name": frame["state_fips"].map(names),
        "state_ansi": frame["state_fips"].astype(int).astype(str),
        "ag_district": frame["ag_district"], "ag_district_code": frame["ag_district_code"],
        "county_name": frame["county_name"],
        "county_ansi": frame["region_id"].str[2:].astype(int).astype(str),
        "yield": frame["yield"], "harvested_acres": frame["harvested_acres"],
        "code": frame["nass_code"],
    })
    rows = quickstats_rows(counties, np.random.default_rng([spec.seed, 0, 6]))
    states = truth.groupby(["state_fips", "year"], as_index=False)["planted_acres"].sum()
    noise = np.random.default_rng([spec.seed, 0, 7]).normal(0, 0.015, len(states))
    states = pd.DataFrame({
        "year": states["year"], "state_name": states["state_fips"].map(names),
        "state_ansi": states["state_fips"].astype(int).astype(str),
        "planted_june": (states["planted_acres"] * (1 + noise)).round(-4),
    })
    files = {
        "quickstats_county_corn_grain_yield.csv": (rows["yield"], "yield"),
        "quickstats_county_corn_grain_acres_harvested.csv": (rows["harvested"],
                                                             "harvested_acres"),
        "quickstats_state_corn_acres_planted_june.csv": (state_planted_rows(states),
                                                         "planted_acres"),
    }
    entries = []
    for name, (file_rows, variable) in files.items():
        write_quickstats(file_rows, folder / name)
        entries.append({"path": f"nass/{name}", "role": Role.YIELDS, "product": "NASS Quick Stats",
                        "format": "Quick Stats web export CSV", "variable": variable})
    return entries
