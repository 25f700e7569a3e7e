"""Figures of backtest results: axes, artists, labels, atomic PNG writes, bad input."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from shapely.geometry import box

from cropcast.errors import CropcastError
from cropcast.forecast.reporting.plots import (
    county_error_map,
    predicted_vs_observed,
    save_figure,
    season_curves,
    skill_by_date,
)

MODELS = ["trend", "ridge", "lgbm"]
DATES = ["07-01", "08-01", "09-01"]


@pytest.fixture
def metrics() -> pd.DataFrame:
    """metrics.csv rows: three models at three dates, given out of season order."""
    rows = []
    for date in reversed(DATES):
        for i, model in enumerate(MODELS):
            rows.append({"model": model, "forecast_date": date, "n": 10, "rmse": 20.0 - i,
                         "nrmse": 10.0, "mape": 8.0, "r2": 0.5, "bias": 0.1,
                         "skill_vs_trend": 0.1 * i, "coverage": np.nan})
    return pd.DataFrame(rows)


@pytest.fixture
def predictions() -> pd.DataFrame:
    """Five models, two dates, four counties x two years; two truths missing per model."""
    rng = np.random.default_rng(0)
    rows = []
    for model in ["m1", "m2", "m3", "m4", "m5"]:
        for date in ["08-01", "09-01"]:
            for region in ["19001", "19003", "19005", "19007"]:
                for year in (2012, 2013):
                    truth = np.nan if region == "19007" else 150 + rng.normal(0, 20)
                    rows.append({"model": model, "forecast_date": date, "region_id": region,
                                 "year": year, "y_true": truth,
                                 "y_pred": 150 + rng.normal(0, 20)})
    return pd.DataFrame(rows)


@pytest.fixture
def regions() -> gpd.GeoDataFrame:
    """Three 1-degree squares in Iowa, in EPSG:4326."""
    squares = [box(-94 + i, 41, -93 + i, 42) for i in range(3)]
    return gpd.GeoDataFrame({"region_id": ["19001", "19003", "19005"]}, geometry=squares,
                            crs="EPSG:4326")


def _legend_labels(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_skill_by_date_panels_lines_and_season_order(metrics):
    fig = skill_by_date(metrics, title="Backtest 2008-2023")
    assert isinstance(fig, Figure)
    rmse_ax, skill_ax = fig.axes
    assert len(fig.axes) == 2
    assert rmse_ax.get_shared_x_axes().joined(rmse_ax, skill_ax)
    assert _legend_labels(rmse_ax) == MODELS
    assert _legend_labels(skill_ax) == ["trend baseline"]
    assert len(rmse_ax.lines) == len(MODELS)
    assert len(skill_ax.lines) == len(MODELS) + 1  # the models and the baseline at 0
    assert list(skill_ax.lines[-1].get_ydata()) == [0.0, 0.0]
    assert [t.get_text() for t in skill_ax.get_xticklabels()] == DATES
    lgbm = rmse_ax.lines[MODELS.index("lgbm")]
    assert list(lgbm.get_xdata()) == sorted(lgbm.get_xdata())  # drawn in season order
    assert list(lgbm.get_ydata()) == [18.0, 18.0, 18.0]
    assert fig._suptitle.get_text() == "Backtest 2008-2023"
    assert "RMSE (bu/ac)" in rmse_ax.get_ylabel()


def test_skill_by_date_accepts_dates(metrics):
    metrics["forecast_date"] = [dt.date(2020, int(d[:2]), int(d[3:]))
                                for d in metrics["forecast_date"]]
    skill_ax = skill_by_date(metrics).axes[1]
    assert [t.get_text() for t in skill_ax.get_xticklabels()] == DATES


def test_predicted_vs_observed_points_titles_and_layout(predictions):
    fig = predicted_vs_observed(predictions)
    assert len(fig.axes) == 5  # one per model, in 2 rows of up to 4 columns
    assert fig.axes[4].get_subplotspec().get_geometry()[:2] == (2, 4)
    assert "09-01" in fig._suptitle.get_text()  # the latest date by default
    latest = predictions[predictions["forecast_date"] == "09-01"]
    for ax, (model, rows) in zip(fig.axes, latest.groupby("model", sort=False), strict=True):
        scored = rows.dropna(subset=["y_true"])
        points = ax.collections[0].get_offsets()
        assert len(points) == len(scored) == 6
        np.testing.assert_allclose(points[:, 0], scored["y_true"])
        np.testing.assert_allclose(points[:, 1], scored["y_pred"])
        rmse = np.sqrt(np.mean((scored["y_pred"] - scored["y_true"]) ** 2))
        assert ax.get_title() == f"{model}\nRMSE {rmse:.1f} bu/ac, n=6"
        assert len(ax.lines) == 1  # the 1:1 line
        assert ax.get_xlim() == ax.get_ylim()


def test_predicted_vs_observed_picks_a_date(predictions):
    early = predictions[predictions["forecast_date"] == "08-01"]
    fig = predicted_vs_observed(predictions.iloc[::-1], forecast_date=dt.date(2013, 8, 1))
    assert "08-01" in fig._suptitle.get_text()
    first = early[early["model"] == "m5"].dropna(subset=["y_true"])
    np.testing.assert_allclose(np.sort(fig.axes[0].collections[0].get_offsets()[:, 1]),
                               np.sort(first["y_pred"]))
    one = predicted_vs_observed(predictions[predictions["model"] == "m1"], "08-01")
    assert len(one.axes) == 1
    with pytest.raises(CropcastError, match=r"no predictions at forecast_date '10-01'.*"
                                            r"\['08-01', '09-01'\]"):
        predicted_vs_observed(predictions, forecast_date="10-01")


def test_county_error_map_colours_grey_and_colorbar(regions):
    errors = pd.DataFrame({"region_id": ["19001", "19003", "99999"],
                           "error": [6.0, -2.0, 1.0]})
    fig = county_error_map(errors, regions, title="Mean error 2018-2023")
    assert len(fig.axes) == 2  # the map and its colorbar
    ax, bar = fig.axes
    assert bar.get_ylabel() == "bu/ac"
    assert ax.get_title() == "Mean error 2018-2023"
    coloured, grey = ax.collections
    assert grey.get_label() == "no published yield"
    assert len(grey.get_paths()) == 1  # 19005 has no value
    assert len(coloured.get_paths()) == 2
    assert _legend_labels(ax) == ["no published yield"]
    assert coloured.norm.vmin == -6.0 and coloured.norm.vmax == 6.0  # centred on 0
    assert list(coloured.get_array()) == [6.0, -2.0]
    x_max = max(abs(p.vertices[:, 0]).max() for p in coloured.get_paths())
    assert x_max > 1e4  # metres of EPSG:5070, not degrees


def test_county_error_map_all_known_and_none_known(regions):
    errors = pd.DataFrame({"region_id": ["19001", "19003", "19005"], "bias": [1.0, 2.0, -3.0]})
    ax = county_error_map(errors, regions, column="bias").axes[0]
    assert len(ax.collections) == 1 and ax.get_legend() is None
    nothing = pd.DataFrame({"region_id": ["19001"], "error": [np.nan]})
    ax = county_error_map(nothing, regions.to_crs(3857)).axes[0]
    assert len(ax.collections) == 1 and len(ax.collections[0].get_paths()) == 3


def test_county_error_map_rejects_bad_regions(regions):
    errors = pd.DataFrame({"region_id": ["19001"], "error": [1.0]})
    with pytest.raises(CropcastError, match="with a CRS"):
        county_error_map(errors, regions.set_crs(None, allow_override=True))
    twice = pd.DataFrame({"region_id": ["19001", "19001"], "error": [1.0, 2.0]})
    with pytest.raises(CropcastError, match=r"several rows for region\(s\) \['19001'\]"):
        county_error_map(twice, regions)
    with pytest.raises(CropcastError, match=r"missing the column\(s\) \['geometry'\]"):
        county_error_map(errors, pd.DataFrame({"region_id": ["19001"]}))


def test_season_curves_one_line_per_year_and_highlight():
    doy = np.arange(97, 300, 16)
    curves = pd.DataFrame({"region_id": "19001", "year": np.repeat([2011, 2012, 2013], len(doy)),
                           "doy": np.tile(doy, 3), "value": np.linspace(0.2, 0.8, 3 * len(doy))})
    curves = pd.concat([curves, curves.assign(region_id="19003")]).sample(frac=1, random_state=1)
    ax = season_curves(curves, "19001", highlight=2012).axes[0]
    assert len(ax.lines) == 3 and _legend_labels(ax) == ["2011", "2012", "2013"]
    assert ax.lines[1].get_linewidth() > ax.lines[0].get_linewidth()
    assert list(ax.lines[1].get_xdata()) == list(doy)
    with pytest.raises(CropcastError, match=r"year 2020; that region has the years \[2011"):
        season_curves(curves, "19001", highlight=2020)
    with pytest.raises(CropcastError, match="no curve for region_id '19999'"):
        season_curves(curves, "19999")


def test_save_figure_writes_png_atomically(tmp_path, metrics):
    target = tmp_path / "figures" / "skill.png"
    written = save_figure(skill_by_date(metrics), target)
    assert written == target
    data = target.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["skill.png"]  # no temporary left
    save_figure(skill_by_date(metrics.iloc[:3]), str(target))  # replaces the old file
    assert target.read_bytes() != data


def test_save_figure_leaves_nothing_when_writing_fails(tmp_path, monkeypatch, metrics):
    fig = skill_by_date(metrics)

    def broken(path, **kwargs):
        Path(path).write_bytes(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, tmp_path / "skill.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("function", "frame", "missing"), [
    (skill_by_date, "metrics", "skill_vs_trend"),
    (predicted_vs_observed, "predictions", "y_true"),
])
def test_missing_columns_are_named(function, frame, missing, request):
    table = request.getfixturevalue(frame).drop(columns=[missing])
    with pytest.raises(CropcastError, match=rf"missing the column\(s\) \['{missing}'\]; "
                                            r"it has \['model', 'forecast_date'"):
        function(table)


def test_other_bad_input(regions, metrics):
    with pytest.raises(CropcastError, match=r"errors is missing the column\(s\) \['error'\]"):
        county_error_map(pd.DataFrame({"region_id": ["19001"], "err": [1.0]}), regions)
    with pytest.raises(CropcastError, match="must be a DataFrame; got dict"):
        skill_by_date({"model": ["a"]})
    with pytest.raises(CropcastError, match="metrics has no rows"):
        skill_by_date(metrics.iloc[:0])
    with pytest.raises(CropcastError, match="column 'rmse' of metrics must be numeric"):
        skill_by_date(metrics.astype({"rmse": str}))
    with pytest.raises(CropcastError, match="forecast_date 'harvest' is neither"):
        skill_by_date(metrics.assign(forecast_date="harvest"))
    with pytest.raises(CropcastError, match="forecast_date '02-30' is neither"):
        skill_by_date(metrics.assign(forecast_date="02-30"))


def test_no_pyplot_figures_are_left_behind(metrics, regions):
    county_error_map(pd.DataFrame({"region_id": ["19001"], "error": [1.0]}), regions)
    skill_by_date(metrics)
    if "matplotlib.pyplot" in sys.modules:  # geopandas imports it, but must not use it
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []
