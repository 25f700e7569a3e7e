"""Figures of backtest results: skill by date, predicted vs observed, error maps, curves.

Each function returns a :class:`matplotlib.figure.Figure` of the object-oriented API (no
pyplot, no global state, no display); :func:`save_figure` writes one as PNG.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cropcast.atomic import current_umask
from cropcast.checks import require_columns
from cropcast.days import day_of_year, month_day
from cropcast.errors import CropcastError

__all__ = ["county_error_map", "predicted_vs_observed", "save_figure", "season_curves",
           "skill_by_date"]

_DPI, _MISSING_COLOR, _MISSING_LABEL = 110, "lightgrey", "no published yield"


def _require(frame: object, columns: Sequence[str], who: str, what: str,
             numeric: Sequence[str] = ()) -> pd.DataFrame:
    """``frame`` after checking it is a DataFrame with rows, ``columns`` and ``numeric``."""
    require_columns(frame, columns, who, what, numeric=numeric)
    if frame.empty:
        raise CropcastError(f"{who}: {what} has no rows")
    return frame


def _date_key(value: object, who: str) -> str:
    """A forecast date (``"MM-DD"`` label or date) as ``"MM-DD"`` (sorts in season order);
    ``"end"`` (the end of season) stays ``"end"``."""
    text = value.strip() if isinstance(value, str) else value
    if text == "end":
        return "end"
    try:
        if isinstance(text, str) and re.fullmatch(r"\d{2}-\d{2}", text):
            month_day(text)  # a real day ("02-29" included)
            return text
        return pd.Timestamp(text).strftime("%m-%d")
    except (TypeError, ValueError) as err:
        raise CropcastError(f"{who}: forecast_date {value!r} is neither an 'MM-DD' label "
                            "nor a date") from err


def skill_by_date(metrics: pd.DataFrame, title: str = "Skill by forecast date") -> Figure:
    """RMSE and skill vs the trend baseline of each model, by forecast date.

    Parameters
    ----------
    metrics : DataFrame
        Rows of ``metrics.csv``, one per model and date: ``model, forecast_date, rmse,
        skill_vs_trend`` at least (``forecast_date`` an ``"MM-DD"`` label or a date).
    title : str
        Figure title.

    Returns
    -------
    Figure
        Two axes sharing x (forecast date as day of year, ticks ``MM-DD``): RMSE (bu/ac)
        with a legend of the models, and skill_vs_trend with a line at 0.
    """
    who = "skill_by_date"
    _require(metrics, ["model", "forecast_date", "rmse", "skill_vs_trend"], who, "metrics",
             numeric=["rmse", "skill_vs_trend"])
    table = metrics.assign(_key=[_date_key(v, who) for v in metrics["forecast_date"]])
    table = table.assign(_x=[366 if k == "end" else day_of_year(k) for k in table["_key"]])
    table = table.sort_values("_x", kind="stable")
    fig = Figure(figsize=(8, 6), layout="constrained")
    rmse_ax, skill_ax = fig.subplots(2, 1, sharex=True)
    for i, model in enumerate(pd.unique(table["model"])):
        rows = table[table["model"] == model]
        for ax, column in ((rmse_ax, "rmse"), (skill_ax, "skill_vs_trend")):
            ax.plot(rows["_x"], rows[column], marker="o", color=f"C{i}", label=str(model))
    skill_ax.axhline(0.0, color="black", linestyle="--", linewidth=1, label="trend baseline")
    skill_ax.set_xticks(table["_x"].unique().tolist(), table["_key"].unique().tolist())
    rmse_ax.set_ylabel("RMSE (bu/ac)")
    skill_ax.set(ylabel="skill vs trend", xlabel="forecast date")
    rmse_ax.legend(title="model")
    skill_ax.legend(handles=skill_ax.lines[-1:])
    fig.suptitle(title)
    return fig


def predicted_vs_observed(predictions: pd.DataFrame, forecast_date: object = None) -> Figure:
    """Predicted against published yields at one forecast date, one panel per model.

    Parameters
    ----------
    predictions : DataFrame
        Columns ``model, forecast_date, region_id, year, y_true, y_pred`` (bu/ac). Rows
        with NaN ``y_true`` (or ``y_pred``) are skipped.
    forecast_date : str or date, optional
        The forecast date shown (``"MM-DD"`` or a date); default the latest in season.

    Returns
    -------
    Figure
        One axes per model (up to 4 columns, shared limits): scatter, 1:1 line, RMSE and n.
    """
    who = "predicted_vs_observed"
    _require(predictions, ["model", "forecast_date", "region_id", "year", "y_true", "y_pred"],
             who, "predictions", numeric=["y_true", "y_pred"])
    at = predictions["forecast_date"].map(lambda v: _date_key(v, who))
    available = sorted(set(at))
    chosen = available[-1] if forecast_date is None else _date_key(forecast_date, who)
    if chosen not in available:
        raise CropcastError(f"{who}: no predictions at forecast_date {chosen!r}; the table "
                            f"has {available}")
    finite = np.isfinite(predictions[["y_true", "y_pred"]].to_numpy(float)).all(axis=1)
    rows = predictions[(at == chosen).to_numpy() & finite]
    models = list(pd.unique(predictions.loc[at == chosen, "model"]))
    ncols, nrows = min(4, len(models)), -(-len(models) // 4)
    fig = Figure(figsize=(3.2 * ncols, 3.2 * nrows + 0.4), layout="constrained")
    values = rows[["y_true", "y_pred"]].to_numpy(float)
    low, high = (values.min(), values.max()) if values.size else (0.0, 1.0)
    pad = 0.05 * (high - low) or 1.0
    for i, model in enumerate(models):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        part = rows[rows["model"] == model]
        truth, predicted = part["y_true"].to_numpy(float), part["y_pred"].to_numpy(float)
        rmse = float(np.sqrt(np.mean((predicted - truth) ** 2))) if len(part) else np.nan
        ax.scatter(truth, predicted, s=10, alpha=0.6, color="C0")
        ax.axline((low, low), slope=1, color="black", linewidth=1, linestyle="--")
        ax.set(xlim=(low - pad, high + pad), ylim=(low - pad, high + pad), aspect="equal",
               xlabel="observed (bu/ac)", ylabel="predicted (bu/ac)",
               title=f"{model}\nRMSE {rmse:.1f} bu/ac, n={len(part)}")
    fig.suptitle(f"Predicted vs observed, forecast date {chosen}")
    return fig


def county_error_map(errors: pd.DataFrame, regions, column: str = "error",
                     title: str = "Mean forecast error (predicted - published)") -> Figure:
    """Choropleth of a per-region error, centred on 0, on an equal-area projection.

    Parameters
    ----------
    errors : DataFrame
        Columns ``region_id`` and ``column`` (bu/ac), at most one row per region.
    regions : GeoDataFrame
        ``region_id`` (matched as strings) and geometry in any CRS; drawn in EPSG:5070.
    column : str, default "error"
        The column of ``errors`` mapped.
    title : str
        Map title.

    Returns
    -------
    Figure
        A map (``RdBu_r``, symmetric limits, red = over-forecast) and a colorbar "bu/ac";
        regions without a finite value are light grey ("no published yield" in legend).
    """
    who = "county_error_map"
    _require(errors, ["region_id", column], who, "errors", numeric=[column])
    _require(regions, ["region_id", "geometry"], who, "regions")
    if getattr(regions, "crs", None) is None:
        raise CropcastError(f"{who}: regions must be a GeoDataFrame with a CRS (set_crs)")
    ids = errors["region_id"].astype(str)
    if ids.duplicated().any():
        raise CropcastError(f"{who}: errors has several rows for region(s) "
                            f"{sorted(set(ids[ids.duplicated()]))[:5]}; give one per region")
    value = pd.Series(errors[column].to_numpy(float), index=ids.to_numpy())
    shown = regions[["region_id", "geometry"]].to_crs(epsg=5070)
    shown["_value"] = shown["region_id"].astype(str).map(value).to_numpy(float)
    known = np.isfinite(shown["_value"].to_numpy())
    extent = float(np.abs(shown.loc[known, "_value"]).max()) if known.any() else 0.0
    norm = Normalize(vmin=-(extent or 1.0), vmax=extent or 1.0)
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    if known.any():
        shown[known].plot(ax=ax, column="_value", cmap="RdBu_r", vmin=norm.vmin,
                          vmax=norm.vmax, edgecolor="white", linewidth=0.2)
    if (~known).any():
        shown[~known].plot(ax=ax, color=_MISSING_COLOR, edgecolor="white", linewidth=0.2,
                           label=_MISSING_LABEL)
        ax.legend(handles=[Patch(color=_MISSING_COLOR, label=_MISSING_LABEL)], loc="lower left")
    fig.colorbar(ScalarMappable(norm=norm, cmap="RdBu_r"), ax=ax, shrink=0.7, label="bu/ac")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def season_curves(curves: pd.DataFrame, region_id: object, highlight: int | None = None,
                  label: str = "NDVI") -> Figure:
    """A vegetation-index curve per year for one region, one year highlighted.

    Parameters
    ----------
    curves : DataFrame
        Long table ``region_id, year, doy, value``; ``region_id`` matched as a string.
    region_id : object
        The region shown.
    highlight : int, optional
        The year drawn thick in black (default the latest).
    label : str, default "NDVI"
        The y-axis label.

    Returns
    -------
    Figure
        One axes with a line per year and a legend of the years.
    """
    who = "season_curves"
    _require(curves, ["region_id", "year", "doy", "value"], who, "curves",
             numeric=["year", "doy", "value"])
    rows = curves[(curves["region_id"].astype(str) == str(region_id)) & curves["year"].notna()]
    years = sorted(int(y) for y in pd.unique(rows["year"]))
    highlight = (years or [None])[-1] if highlight is None else int(highlight)
    if highlight not in years:
        raise CropcastError(f"{who}: no curve for region_id {region_id!r} and year "
                            f"{highlight}; that region has the years {years}")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for year in years:
        part = rows[rows["year"] == year].sort_values("doy")
        style = ({"color": "black", "linewidth": 2.5, "zorder": 3} if year == highlight
                 else {"linewidth": 1, "alpha": 0.5})
        ax.plot(part["doy"], part["value"], label=str(year), **style)
    ax.set(xlabel="day of year", ylabel=label, title=f"{label} of {region_id}")
    ax.legend(title="year", fontsize="small", ncols=2)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as PNG (dpi 110) via a temporary file in the folder; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(handle)
    try:
        fig.savefig(temporary, dpi=_DPI, format="png")
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600; honour the umask
        os.replace(temporary, path)
    finally:  # a no-op after the rename; removes the partial file after a failure
        Path(temporary).unlink(missing_ok=True)
    return path
