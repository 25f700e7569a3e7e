"""The backtest engine: for every forecast date and test season, the as-of matrix, fit, predict.

One matrix per forecast date serves every test season: it is built as of that month and
day of the last season, and each of its rows (a region-season) uses only what was observed
by that month and day of its own season (see :mod:`cropcast.features.store.matrix`). For
test season Y the models are fitted on the rows of the splitter's training seasons (with their final
yields) and predict the rows of Y. Hyper-parameter searches configured as estimators
(``GridSearchCV(cv=YearSplitter())``) therefore search inside the training seasons only.

Intervals are split-conformal: the half-width at a forecast date is a quantile of the
absolute out-of-sample errors of the earlier test seasons at that date (county errors for
counties; state and national errors for those levels, never sums of county bounds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from tqdm.auto import tqdm

from cropcast.checks import check_int
from cropcast.days import reference_date
from cropcast.errors import CropcastError
from cropcast.features.weather.columns import FINAL_PREFIX
from cropcast.forecast.evaluation.aggregate import aggregate, inseason_acres, states_left_out
from cropcast.forecast.evaluation.metrics import coverage_by_year, reliability_table, score
from cropcast.forecast.evaluation.usda import USDA_RELEASES, compare_with_usda
from cropcast.models.intervals import conformal_halfwidth
from cropcast.regions import with_state_fips

__all__ = ["BacktestData", "BacktestResult", "forecast_dates", "run_backtest"]

_KEY = ["region_id", "year"]


def forecast_dates(start: str = "06-01", end: str = "10-01", every_days: int = 16,
                   dates: list[str] | None = None) -> list[str]:
    """Forecast days as ``MM-DD``: ``dates`` if given, else every ``every_days`` from
    ``start`` through ``end``."""
    def parse(text: str, name: str) -> dt.date:
        try:
            return reference_date(text)
        except ValueError:
            raise CropcastError(f"{name} must be a day MM-DD of every season, such as 06-01; "
                                f"got {text!r}") from None

    if dates:
        days = {str(d) for d in dates}
        parsed = sorted({parse(d, "forecast.dates[*]").strftime("%m-%d") for d in days - {"end"}})
        return parsed + (["end"] if "end" in days else [])
    first, last = parse(start, "forecast.start"), parse(end, "forecast.end")
    check_int(every_days, "forecast.every_days", 1)
    if last < first:
        raise CropcastError(f"forecast needs start <= end; got {start} and {end}")
    days = range(0, (last - first).days + 1, every_days)
    return [(first + dt.timedelta(days=d)).strftime("%m-%d") for d in days]


@dataclass
class BacktestData:
    """What a backtest reads.

    Parameters
    ----------
    yields : DataFrame
        ``region_id, year, yield`` (final, bu/acre; NaN where unpublished) and optionally
        ``harvested_acres`` and ``state_fips``.
    matrix : callable
        ``matrix(as_of: date | None) -> DataFrame``: the as-of feature matrix (``region_id,
        year`` and features) for that day of every season up to ``as_of``'s.
    states, others : DataFrame, optional
        State planted acres and non-county rows (Quick Stats) for in-season acre weights
        and reconciled state totals; without them, county acres of earlier seasons weight.
    """

    yields: pd.DataFrame
    matrix: Callable[[dt.date | None], pd.DataFrame]
    states: pd.DataFrame | None = None
    others: pd.DataFrame | None = None


@dataclass
class BacktestResult:
    """Predictions and scores of a backtest (see :func:`run_backtest`)."""

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    coverage: pd.DataFrame
    aggregated: pd.DataFrame
    reliability: pd.DataFrame
    final_models: dict = field(default_factory=dict)
    final_inputs: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    usda: pd.DataFrame = field(default_factory=pd.DataFrame)


def _design(matrix: pd.DataFrame, yields: pd.DataFrame) -> pd.DataFrame:
    keys = yields[_KEY].drop_duplicates()
    table = matrix.merge(keys, on=_KEY, how="outer") if not matrix.empty else keys
    table = with_state_fips(table.merge(yields[[*_KEY, "yield"]], on=_KEY, how="left"))
    return table.sort_values(_KEY, ignore_index=True)


def _with_intervals(frame: pd.DataFrame, level: float, min_years: int) -> pd.DataFrame:
    """Conformal bounds from the errors of earlier test seasons at the same date."""
    frame = frame.sort_values(["model", "forecast_date", "year"], ignore_index=True)
    lower = np.full(len(frame), np.nan)
    upper = np.full(len(frame), np.nan)
    for _, rows in frame.groupby(["model", "forecast_date"], sort=False):
        errors = rows["y_pred"] - rows["y_true"]
        for year in rows["year"].unique():
            earlier = rows["year"] < year
            if rows.loc[earlier, "year"].nunique() < min_years:
                continue
            known = errors[earlier].dropna().to_numpy()
            half = conformal_halfwidth(known, level) if known.size else np.nan
            at = rows.index[rows["year"] == year]
            lower[at] = frame.loc[at, "y_pred"] - half
            upper[at] = frame.loc[at, "y_pred"] + half
    return frame.assign(lower=lower, upper=upper)


def _aggregated(predictions: pd.DataFrame, data: BacktestData, level: float,
                min_years: int) -> pd.DataFrame:
    counties = with_state_fips(data.yields)
    if "harvested_acres" not in counties:
        return pd.DataFrame()
    states = data.states if data.states is not None else pd.DataFrame(
        columns=["state_fips", "year", "reference_period", "variable", "value"])
    acres = pd.concat([inseason_acres(counties, states, int(year), others=data.others,
                                      regions=predictions["region_id"].unique())
                       for year in sorted(predictions["year"].unique())], ignore_index=True)
    final = counties[["region_id", "year", "yield", "harvested_acres"]]
    frames = [aggregate(predictions[["model", "forecast_date", "region_id", "year",
                                     "y_pred"]], acres, level=name, final=final,
                        others=data.others) for name in ("state", "nation")]
    table = pd.concat(frames, ignore_index=True)
    parts = []
    for _, rows in table.groupby("level", sort=False):
        with_bounds = _with_intervals(rows.drop(columns="level"), level, min_years)
        parts.append(with_bounds.assign(level=rows["level"].iloc[0]))
    return pd.concat(parts, ignore_index=True)


def _fit_predict(name: str, estimator, train: pd.DataFrame, test: pd.DataFrame,
                 day: str) -> pd.DataFrame:
    fitted = clone(estimator).fit(train.drop(columns="yield"), train["yield"])
    return pd.DataFrame({"model": name, "forecast_date": day,
                         "region_id": test["region_id"].to_numpy(),
                         "year": test["year"].to_numpy(), "y_true": test["yield"].to_numpy(),
                         "y_pred": fitted.predict(test.drop(columns="yield"))})


def run_backtest(data: BacktestData, models: dict, splitter, dates: list[str],
                 last_year: int | None = None, level: float = 0.9,
                 min_calibration_years: int = 3, baseline: str = "trend",
                 workers: int = 1, progress: bool = True,
                 usda_releases: dict[str, str] | None = None) -> BacktestResult:
    """Backtest every model at every forecast date over the splitter's test seasons.

    Parameters
    ----------
    data : BacktestData
        Yields, the matrix builder and the acreage tables.
    models : dict of str to estimator
        Unfitted scikit-learn estimators by name; ``baseline`` must be one of them.
    splitter : ExpandingWindow, LeaveOneYearOut or FixedHoldout
        Which seasons train each test season (``cropcast.forecast.evaluation.splits``).
    dates : list of str
        Forecast days ``MM-DD`` (see :func:`forecast_dates`); ``end``: the end of season.
        A test season's ``final_`` columns (end-of-season weather, for the trend of the
        training seasons) are blanked: in season they are not known yet.
    last_year : int, optional
        The last season (default: the last with a yield).
    level : float
        Interval coverage (0.9: 90% intervals).
    min_calibration_years : int
        Earlier test seasons needed before an interval is given (NaN before).
    baseline : str
        The trend baseline's name (``skill_vs_trend`` is relative to it).
    workers : int
        Processes fitting the models of a forecast date in parallel (joblib).
    progress : bool
        Show a progress bar.
    usda_releases : dict of str to str, optional
        Release day ``MM-DD`` of USDA's monthly forecasts (default
        :data:`cropcast.forecast.evaluation.usda.USDA_RELEASES`), for the comparison with the
        USDA forecasts in ``data.states``.

    Returns
    -------
    BacktestResult
        County predictions (with ``lower``/``upper``), ``metrics.csv`` rows, coverage by
        season, state and national aggregates with intervals, the reliability table
        (national), each model refitted on every season at the last forecast date, and
        the state forecasts beside USDA's (``usda``, empty without USDA forecasts).
    """
    if baseline not in models:
        raise CropcastError(f"the backtest needs its baseline {baseline!r} among the models; "
                            f"got {sorted(models)}: add it to `baselines`")
    yields = data.yields
    published = sorted(yields.loc[yields["yield"].notna(), "year"].unique())
    last_year = int(last_year or published[-1])
    splits = splitter.splits([y for y in published if y <= last_year])
    rows, notes = [], []
    if getattr(splitter, "uses_later_years", False):
        notes.append(f"{splitter.name} trains on later seasons too (the trend included): "
                     "fine for comparing with published benchmarks, not an in-season claim")
    bar = tqdm(total=len(dates) * len(splits) * len(models), desc="backtest", unit="fit",
               disable=not progress or None)
    design = None
    with Parallel(n_jobs=workers) as parallel:
        for day in dates:
            as_of = None if day == "end" else reference_date(day).replace(year=last_year)
            design = _design(data.matrix(as_of), yields)
            tasks = []
            for train_years, test_year in splits:
                train = design[design["year"].isin(train_years) & design["yield"].notna()]
                # The test season's own end-of-season values are not known in season.
                test = design[design["year"] == test_year].assign(
                    **{c: np.nan for c in design.columns if c.startswith(FINAL_PREFIX)})
                if not train.empty and not test.empty:
                    tasks += [delayed(_fit_predict)(name, estimator, train, test, day)
                              for name, estimator in models.items()]
            for frame in parallel(tasks):
                rows.append(frame)
                bar.update()
    bar.close()
    if not rows:
        raise CropcastError(f"no test season has both features and yields for {splitter.name}; "
                            f"seasons with yields: {published[0]}-{published[-1]}")
    predictions = _with_intervals(pd.concat(rows, ignore_index=True), level,
                                  min_calibration_years)
    aggregated = _aggregated(predictions, data, level, min_calibration_years)
    reliability = pd.DataFrame()
    if not aggregated.empty:
        nation = aggregated[aggregated["level"] == "nation"]
        missing = nation.loc[nation["y_pred"].isna(), "year"].unique()
        unweighted = sorted(int(y) for y in missing)
        if unweighted:
            notes.append(f"no national figure for seasons {unweighted}: no state has "
                         "in-season acres there (no county acres in the seasons before)")
        left_out = {year: fips for year, fips in states_left_out(aggregated).items()
                    if year not in unweighted}
        if left_out:
            listed = "; ".join(f"{year}: {', '.join(fips)}" for year, fips in left_out.items())
            notes.append("national figures leave out, on both sides, the states without "
                         f"in-season acres (no county acres in the seasons before): {listed}")
        if nation["y_pred"].notna().any():
            reliability = reliability_table(nation[nation["y_pred"].notna()])
    usda = pd.DataFrame()
    if not aggregated.empty:
        usda = compare_with_usda(aggregated[aggregated["level"] == "state"], data.states,
                                 usda_releases or USDA_RELEASES)
        if usda.empty:
            notes.append("no comparison with USDA: the data holds no USDA Aug-Nov state "
                         "yield forecasts (Quick Stats 'YEAR - AUG FORECAST' rows) for the "
                         "test seasons, or none after a forecast date")
    trainable = design[design["yield"].notna()]
    final = {name: clone(est).fit(trainable.drop(columns="yield"), trainable["yield"])
             for name, est in models.items()}
    return BacktestResult(predictions, score(predictions, baseline),
                          coverage_by_year(predictions), aggregated, reliability, final,
                          trainable.drop(columns="yield").head(5), notes, usda)
