"""Scores of yield forecasts: research metrics, interval coverage, USDA reliability.

Every function takes a predictions table (one row per model, forecast date, region and
year) and returns one row per group. ``forecast_date`` is a label shared by the seasons
(e.g. ``"08-01"``), so a group gathers one forecast date over all test years. Rows
without a published truth (NaN ``y_true``) are not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import r2_score

from cropcast.checks import require_columns, require_unique, shown
from cropcast.errors import CropcastError

__all__ = ["PREDICTION_COLUMNS", "SCORE_COLUMNS", "coverage_by_year", "reliability_table",
           "score"]

PREDICTION_COLUMNS = ("model", "forecast_date", "region_id", "year", "y_true", "y_pred")
SCORE_COLUMNS = ("model", "forecast_date", "n", "rmse", "nrmse", "mape", "r2", "bias",
                 "skill_vs_trend", "coverage")
_GROUP = ["model", "forecast_date"]
_KEY = ["model", "forecast_date", "region_id", "year"]


def _checked(frame: pd.DataFrame, required: Sequence[str], who: str,
             what: str = "predictions") -> pd.DataFrame:
    """The rows with a truth, after checking columns, keys and predicted values."""
    require_columns(frame, required, who, what,
                    hint="rename the columns or build the table with the backtest",
                    numeric=("y_true", "y_pred", "lower", "upper"))
    blank = frame[_KEY].isna().any(axis=1)
    if blank.any():
        row = frame[blank].iloc[0]
        raise CropcastError(f"{who}: {what} has {int(blank.sum())} row(s) without a model, "
                            f"forecast_date, region_id or year, e.g. "
                            f"{shown(row, _KEY)}; fill or drop them")
    require_unique(frame, _KEY, who, what, hint="keep one prediction per key")
    scored = frame[frame["y_true"].notna()]
    bad = ~np.isfinite(scored["y_pred"].to_numpy(dtype=float))
    if bad.any():
        row = scored[bad].iloc[0]
        raise CropcastError(f"{who}: y_pred is missing or infinite in {int(bad.sum())} scored "
                            f"row(s), e.g. {shown(row, _KEY)}; a model must "
                            "predict every row it is scored on (drop the row or fix the "
                            "model)")
    return scored


def _coverage(rows: pd.DataFrame) -> float:
    """Share of ``y_true`` inside ``[lower, upper]`` over the rows that have both bounds
    (a backtest's first seasons have none: too few earlier errors to calibrate); NaN when
    no row has them."""
    if rows.empty or "lower" not in rows or "upper" not in rows:
        return float("nan")
    lower, upper = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
    bounded = ~(np.isnan(lower) | np.isnan(upper))
    if not bounded.any():
        return float("nan")
    truth = rows["y_true"].to_numpy(float)[bounded]
    return float(np.mean((lower[bounded] <= truth) & (truth <= upper[bounded])))


def _rmse(truth: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2))) if len(truth) else float("nan")


def _metrics(rows: pd.DataFrame) -> dict[str, float]:
    truth, pred = rows["y_true"].to_numpy(float), rows["y_pred"].to_numpy(float)
    n = len(truth)
    if n == 0:
        return {"n": 0, "rmse": np.nan, "nrmse": np.nan, "mape": np.nan, "r2": np.nan,
                "bias": np.nan, "coverage": np.nan}
    rmse = _rmse(truth, pred)
    mean_truth = float(np.mean(truth))
    return {
        "n": n,
        "rmse": rmse,
        "nrmse": 100.0 * rmse / mean_truth if mean_truth != 0 else np.nan,
        "mape": (100.0 * float(np.mean(np.abs(pred - truth) / np.abs(truth)))
                 if np.all(truth != 0) else np.nan),
        "r2": float(r2_score(truth, pred)) if n >= 2 else np.nan,
        "bias": float(np.mean(pred - truth)),
        "coverage": _coverage(rows),
    }


def _skill(model_rows: pd.DataFrame, base_rows: pd.DataFrame | None, is_baseline: bool) -> float:
    """1 - rmse(model) / rmse(baseline) on the rows both scored."""
    if is_baseline:
        return 0.0
    if base_rows is None:
        return float("nan")
    both = model_rows.merge(base_rows, on=["region_id", "year"], suffixes=("", "_base"))
    if both.empty:
        return float("nan")
    truth = both["y_true"].to_numpy(float)
    base = _rmse(truth, both["y_pred_base"].to_numpy(float))
    if base == 0:
        return float("nan")
    return 1.0 - _rmse(truth, both["y_pred"].to_numpy(float)) / base


def score(predictions: pd.DataFrame, baseline: str = "trend") -> pd.DataFrame:
    """Score each model at each forecast date (the rows of ``metrics.csv``).

    Parameters
    ----------
    predictions : DataFrame
        Columns ``model, forecast_date, region_id, year, y_true, y_pred`` and optionally
        ``lower, upper`` (interval bounds). Rows with NaN ``y_true`` are not scored.
    baseline : str, default "trend"
        The model whose RMSE ``skill_vs_trend`` compares against.

    Returns
    -------
    DataFrame
        One row per model and forecast date, sorted, with columns :data:`SCORE_COLUMNS`:
        ``n`` scored rows; ``rmse``; ``nrmse`` = 100 rmse / mean(y_true) (CY-Bench);
        ``mape`` in percent (NaN if a y_true is 0); ``r2`` (scikit-learn's definition, NaN
        for n < 2); ``bias`` = mean(y_pred - y_true); ``skill_vs_trend`` = 1 - rmse /
        rmse of ``baseline`` at the same forecast date on the rows both models scored
        (NaN without the baseline or shared rows, 0 for the baseline itself);
        ``coverage`` = share of y_true within ``[lower, upper]`` (NaN without bounds or
        when a bound is NaN).

    Raises
    ------
    CropcastError
        For missing columns, repeated keys or a missing prediction on a scored row.
    """
    if not isinstance(baseline, str):
        raise CropcastError(f"baseline must be a model name (str); got {baseline!r}")
    scored = _checked(predictions, PREDICTION_COLUMNS, "score")
    records = []
    groups = predictions.groupby(_GROUP, sort=True, dropna=False).size().index
    for model, forecast_date in groups:
        at_date = scored["forecast_date"] == forecast_date
        rows = scored[at_date & (scored["model"] == model)]
        base = scored[at_date & (scored["model"] == baseline)]
        base_rows = base[["region_id", "year", "y_pred"]] if len(base) else None
        record = {"model": model, "forecast_date": forecast_date, **_metrics(rows)}
        record["skill_vs_trend"] = _skill(rows, base_rows, model == baseline)
        records.append(record)
    out = pd.DataFrame.from_records(records, columns=list(SCORE_COLUMNS))
    return out.astype({"n": "int64"})


def coverage_by_year(predictions: pd.DataFrame) -> pd.DataFrame:
    """Interval coverage per model, forecast date and year.

    Errors of one season share its weather, so a pooled coverage hides bad years; this
    reports each year apart.

    Parameters
    ----------
    predictions : DataFrame
        As for :func:`score`, with ``lower`` and ``upper`` required.

    Returns
    -------
    DataFrame
        ``model, forecast_date, year, n, coverage`` (n = scored rows; coverage NaN when a
        bound is NaN), sorted.
    """
    scored = _checked(predictions, (*PREDICTION_COLUMNS, "lower", "upper"), "coverage_by_year")
    keys = [*_GROUP, "year"]
    records = [{**dict(zip(keys, key, strict=True)), "n": len(rows),
                "coverage": _coverage(rows)}
               for key, rows in scored.groupby(keys, sort=True, dropna=False)]
    out = pd.DataFrame.from_records(records, columns=[*keys, "n", "coverage"])
    return out.astype({"n": "int64"})


def _reliability(rows: pd.DataFrame) -> dict[str, float]:
    truth, pred = rows["y_true"].to_numpy(float), rows["y_pred"].to_numpy(float)
    n = len(truth)
    pct = 100.0 * (pred - truth) / truth
    miss = np.abs(pred - truth)
    rmse_pct = float(np.sqrt(np.mean(pct ** 2)))
    t95 = float(stats.t.ppf(0.95, n - 1)) if n >= 2 else np.nan
    return {
        "rmse_pct": rmse_pct,
        "ci90_pct": rmse_pct * t95,
        "p5_error_pct": float(np.percentile(pct, 5)),
        "p95_error_pct": float(np.percentile(pct, 95)),
        "mean_abs_miss": float(np.mean(miss)),
        "smallest_miss": float(np.min(miss)),
        "largest_miss": float(np.max(miss)),
        "years_below": int(np.sum(pred < truth)),
        "years_above": int(np.sum(pred > truth)),
        "n_years": n,
    }


def reliability_table(aggregated: pd.DataFrame) -> pd.DataFrame:
    """USDA-style reliability of state or national forecasts against the final figures.

    Parameters
    ----------
    aggregated : DataFrame
        ``model, forecast_date, region_id, year, y_true, y_pred`` with one row per year
        (e.g. the output of :func:`cropcast.forecast.evaluation.aggregate.aggregate`; y may be
        yield or production). Rows with NaN ``y_true`` are not scored.

    Returns
    -------
    DataFrame
        One row per model, forecast date and region (states are not pooled) with
        ``rmse_pct`` (root mean square of the percent errors 100 (pred - true) / true),
        ``ci90_pct`` (rmse_pct times Student's t 0.95 quantile with n_years - 1 degrees
        of freedom, as USDA computes its 90% confidence interval; NaN for one year),
        ``p5_error_pct``, ``p95_error_pct`` (5th and 95th percentiles of the percent
        errors, numpy's linear interpolation: the range of 90% of the errors),
        ``mean_abs_miss``, ``smallest_miss``, ``largest_miss`` (absolute misses in y
        units), ``years_below``, ``years_above`` (forecast below / above the final) and
        ``n_years``.

    Raises
    ------
    CropcastError
        For missing columns, repeated keys, a missing prediction or a zero ``y_true``.
    """
    scored = _checked(aggregated, PREDICTION_COLUMNS, "reliability_table", "aggregated")
    zero = scored["y_true"] == 0
    if zero.any():
        row = scored[zero].iloc[0]
        raise CropcastError(f"reliability_table: y_true is 0 for {shown(row, _KEY)}"
                            "; percent errors need a nonzero final figure (drop the row)")
    keys = [*_GROUP, "region_id"]
    records = [{**dict(zip(keys, key, strict=True)), **_reliability(rows)}
               for key, rows in scored.groupby(keys, sort=True, dropna=False)]
    columns = [*keys, "rmse_pct", "ci90_pct", "p5_error_pct", "p95_error_pct",
               "mean_abs_miss", "smallest_miss", "largest_miss", "years_below",
               "years_above", "n_years"]
    return pd.DataFrame.from_records(records, columns=columns)
