"""The world carries the signal a forecaster needs, seen through the files alone."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.features import rasterize
from rasterstats import zonal_stats

from cropcast.features.world.grids import MODIS_SINUSOIDAL


def _read_good_ndvi(path):
    """NDVI (int16) of a composite, its good-pixel mask and transform."""
    with rasterio.open(path) as src:
        ndvi, transform = src.read(1), src.transform
    with rasterio.open(str(path).replace("NDVI", "pixel_reliability")) as src:
        good = src.read(1) == 0
    return ndvi, good, transform


def _labels(counties, shape, transform):
    """County index of each pixel by the pixel-centre rule (-1 outside)."""
    shapes = ((g, i + 1) for i, g in enumerate(counties.geometry))
    return rasterize(shapes, out_shape=shape, transform=transform, dtype="int32") - 1


def _sums(ndvi, good, label, n):
    keep = good & (label >= 0)
    return (np.bincount(label[keep], weights=ndvi[keep], minlength=n),
            np.bincount(label[keep], minlength=n))


@pytest.fixture(scope="module")
def counties(tiny_world):
    return gpd.read_file(tiny_world.paths("boundaries")[0]).to_crs(MODIS_SINUSOIDAL)


@pytest.fixture(scope="module")
def county_ndvi(tiny_world, counties):
    """Mean NDVI of good pixels per county and composite, MODIS tiles combined."""
    labels, rows = {}, []
    for entry in tiny_world.files:
        if entry.get("layer") != "250m_16_days_NDVI":
            continue
        ndvi, good, transform = _read_good_ndvi(tiny_world.root / entry["path"])
        if entry["tile"] not in labels:
            labels[entry["tile"]] = _labels(counties, ndvi.shape, transform)
        sums, counts = _sums(ndvi, good, labels[entry["tile"]], len(counties))
        rows += zip(counties["GEOID"], [entry["date"]] * len(counties), sums, counts,
                    strict=True)
    per_tile = pd.DataFrame(rows, columns=["region_id", "date", "sum", "count"])
    combined = per_tile.groupby(["region_id", "date"])[["sum", "count"]].sum()
    combined = combined[combined["count"] > 0]
    ndvi = (combined["sum"] / combined["count"] * 1e-4).rename("ndvi").reset_index()
    ndvi["year"] = pd.to_datetime(ndvi["date"]).dt.year
    return ndvi


def test_county_sums_agree_with_rasterstats(tiny_world, counties):
    entry = next(f for f in tiny_world.files if f.get("layer") == "250m_16_days_NDVI"
                 and f["date"].startswith("2012-07"))
    ndvi, good, transform = _read_good_ndvi(tiny_world.root / entry["path"])
    sums, counts = _sums(ndvi, good, _labels(counties, ndvi.shape, transform), len(counties))
    reference = pd.DataFrame(zonal_stats(counties, np.where(good, ndvi, -3000),
                                         affine=transform, nodata=-3000,
                                         stats=["sum", "count"]))
    np.testing.assert_array_equal(counts, reference["count"])
    np.testing.assert_allclose(sums, reference["sum"].fillna(0.0).astype(float))
    assert counts.sum() > 0


def _published_yields(world) -> pd.DataFrame:
    raw = pd.read_csv(world.root / "nass" / "quickstats_county_corn_grain_yield.csv", dtype=str,
                      keep_default_na=False)
    raw = raw[raw["County ANSI"] != ""]
    raw = raw[~raw["Value"].str.strip().str.startswith("(")]
    return pd.DataFrame({
        "region_id": raw["State ANSI"].str.zfill(2) + raw["County ANSI"].str.zfill(3),
        "year": raw["Year"].astype(int),
        "yield": raw["Value"].str.replace(",", "").astype(float),
    })


def test_yield_anomalies_fall_with_heat_and_rise_with_peak_ndvi(tiny_world, county_ndvi):
    truth = pd.read_parquet(tiny_world.paths("truth")[0])
    data = _published_yields(tiny_world).merge(truth[["region_id", "year", "trend_yield",
                                                      "edd_season"]])
    data["anomaly"] = data["yield"] - data["trend_yield"]
    peak = county_ndvi.groupby(["region_id", "year"])["ndvi"].max()
    data = data.join(peak.rename("peak_ndvi"), on=["region_id", "year"]).dropna()
    assert len(data) > 400

    heat = np.corrcoef(data["anomaly"], data["edd_season"])[0, 1]
    greenness = np.corrcoef(data["anomaly"], data["peak_ndvi"])[0, 1]
    assert heat < -0.4, heat
    assert greenness > 0.3, greenness


def test_ndvi_curves_peak_in_summer_and_sag_in_the_heat_year(county_ndvi):
    ndvi = county_ndvi.copy()
    ndvi["month"] = pd.to_datetime(ndvi["date"]).dt.month
    by_month = ndvi.groupby("month")["ndvi"].mean()
    assert by_month.idxmax() in (7, 8)
    assert by_month[5] < by_month[7] - 0.2
    summer = ndvi[ndvi["month"].isin([7, 8])].groupby("year")["ndvi"].mean()
    assert summer.idxmin() == 2012
