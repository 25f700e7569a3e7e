"""Season curves and season features from per-date region observations.

Observations (zonal statistics of composites, or a user's region time series) have columns
``region_id`` (str), ``year`` (int), ``date`` (a composite's window start) and ``value``
(NaN where missing, e.g. cloudy); others are ignored. The caller cuts them at the as-of date
(no look-ahead); nothing here invents values after a region-year's last observation. A date
is placed by its day of year, also in leap years, as MODIS names composites: ``A2019129``
starts on May 9, ``A2020129`` on May 8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cropcast.checks import check_int, is_integer, require_columns
from cropcast.errors import CropcastError

__all__ = ["COMPOSITES", "FILLS", "PRESETS", "SeasonCalendar", "climatology_anomalies",
           "curve_features", "season_curves"]

COMPOSITES = ("max", "median", "mean")
FILLS = ("linear", "none")
# (step_days, start_doy, end_doy). 129 and 273 are MODIS composite starts in every product.
PRESETS: dict[str, tuple[int, int, int]] = {
    "16day": (16, 129, 273),  # MOD13Q1 / MYD13Q1 NDVI and EVI
    "8day": (8, 129, 273),  # MOD09Q1 / MOD09A1 surface reflectance
    "weekly": (7, 129, 273),
}
_KEY = ["region_id", "year"]


@dataclass(frozen=True)
class SeasonCalendar:
    """Fixed-length steps through the season, by day of year.

    Step ``k`` starts on day ``start_doy + k * step_days`` and covers ``step_days`` days;
    steps are made while their start is ``<= end_doy`` (the last step may end after it).
    Use :meth:`preset` for ``"16day"`` (MOD13Q1), ``"8day"`` or ``"weekly"``.
    """

    step_days: int = 16
    start_doy: int = 129
    end_doy: int = 273

    def __post_init__(self) -> None:
        for name in ("step_days", "start_doy", "end_doy"):
            value = getattr(self, name)
            if not is_integer(value) or not 1 <= value <= 366:
                raise CropcastError(
                    f"SeasonCalendar {name} must be an integer in 1..366; got {value!r}. "
                    "The 16-day MODIS season is step_days=16, start_doy=129, end_doy=273 "
                    f"(or use a preset: {list(PRESETS)})")
        if self.end_doy < self.start_doy:
            raise CropcastError(
                f"SeasonCalendar end_doy ({self.end_doy}) is before start_doy "
                f"({self.start_doy}); it must be >= start_doy: the season runs within one "
                "calendar year (end_doy is the start of the last step)")

    @classmethod
    def preset(cls, name: str) -> SeasonCalendar:
        """The calendar named ``name``, one of :data:`PRESETS`."""
        if name not in PRESETS:
            raise CropcastError(f"season calendar preset must be one of {list(PRESETS)}; "
                                f"got {name!r}. Or build SeasonCalendar(step_days, start_doy, "
                                "end_doy)")
        return cls(*PRESETS[name])

    def steps(self) -> np.ndarray:
        """Start day of year of each step (int64)."""
        return np.arange(self.start_doy, self.end_doy + 1, self.step_days, dtype=np.int64)

    def step_of(self, doy):
        """Step index holding day of year ``doy`` (int, or ndarray for arrays); -1 outside."""
        doy = np.asarray(doy, dtype=np.int64)
        k = np.floor_divide(doy - self.start_doy, self.step_days)
        out = np.where((doy >= self.start_doy) & (k < len(self.steps())), k, -1)
        return int(out) if out.ndim == 0 else out.astype(np.int64)


def _choice(name: str, value, allowed: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise CropcastError(f"{name} must be one of {list(allowed)}; got {value!r}")


def _smooth_args(smooth) -> tuple[int, int] | None:
    if smooth is None:
        return None
    ok = isinstance(smooth, tuple | list) and len(smooth) == 2 and all(map(is_integer, smooth))
    if not ok or smooth[0] < 1 or smooth[0] % 2 == 0 or not 0 <= smooth[1] < smooth[0]:
        raise CropcastError(
            f"smooth must be None or (window_length, polyorder) with an odd window_length "
            f">= 1 and 0 <= polyorder < window_length; got {smooth!r}. E.g. smooth=(5, 2)")
    return int(smooth[0]), int(smooth[1])


def _check_frame(frame, required: Sequence[str], what: str) -> None:
    """Raise for a non-DataFrame, missing columns, or bad region_id / year / date / value."""
    require_columns(frame, required, what, "the table",
                    hint="rename yours, e.g. frame.rename(columns={'GEOID': 'region_id'})")
    ids = frame["region_id"]
    if ids.isna().any():
        raise CropcastError(f"{what}: {int(ids.isna().sum())} rows have no region_id; drop "
                            "them or fill them in")
    if not (isinstance(ids.dtype, pd.StringDtype) or (
            ids.dtype == object and pd.api.types.infer_dtype(ids) in ("string", "empty"))):
        raise CropcastError(
            f"{what}: column 'region_id' must hold text (str dtype); got dtype {ids.dtype}. "
            "Numbers lose leading zeros ('01001' becomes 1001): convert with "
            "frame['region_id'] = frame['region_id'].astype(str).str.zfill(5)")
    year = frame["year"].dtype
    if not pd.api.types.is_integer_dtype(year) or frame["year"].isna().any():
        raise CropcastError(f"{what}: column 'year' must hold integers without gaps; got dtype "
                            f"{year}. Convert with frame['year'] = frame['year'].astype(int)")
    if "date" in required and (not pd.api.types.is_datetime64_any_dtype(frame["date"])
                               or frame["date"].isna().any()):
        raise CropcastError(f"{what}: column 'date' must hold datetimes without NaT; got dtype "
                            f"{frame['date'].dtype}. Convert with pd.to_datetime(frame['date'])")
    _numeric(frame, [c for c in required if c in ("value", "doy")], what)


def _numeric(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for column in columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise CropcastError(f"{what}: column {column!r} must be numeric; got dtype {dtype}."
                                f" Convert with pd.to_numeric(frame[{column!r}])")


def _runs(gid: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each run of equal (gid, mask) pairs."""
    change = np.ones(len(gid), dtype=bool)
    change[1:] = (gid[1:] != gid[:-1]) | (mask[1:] != mask[:-1])
    starts = np.flatnonzero(change)
    return starts, np.diff(np.append(starts, len(gid)))


def season_curves(observations: pd.DataFrame, calendar: SeasonCalendar | str,
                  composite: str = "max", fill: str = "linear",
                  smooth: tuple[int, int] | None = None) -> pd.DataFrame:
    """One value per calendar step of each region-year, from its observations.

    Parameters
    ----------
    observations : DataFrame
        ``region_id`` (str), ``year`` (int), ``date`` (datetime64), ``value`` (float).
        Placed by the day of year of ``date``; dates outside the calendar are ignored.
    calendar : SeasonCalendar or str
        The steps, or a preset name (``"16day"``, ``"8day"``, ``"weekly"``).
    composite : {"max", "median", "mean"}
        Statistic of the non-NaN observations of a step.
    fill : {"linear", "none"}
        ``linear`` interpolates in time across interior gaps (steps between two observed
        steps); steps before the first observed one stay NaN.
    smooth : (window_length, polyorder), optional
        Savitzky-Golay filter (``mode="interp"``) on each run of consecutive non-NaN steps
        of at least ``window_length`` steps; shorter runs are left as they are. It uses
        later steps too: cut the observations at the as-of date before, not after.

    Returns
    -------
    DataFrame
        ``region_id, year, step, doy, value, n_obs, filled``: one row per step from 0 to
        the last step holding any observation of the region-year (a NaN one included), none
        after it. ``doy`` is the step's start, ``n_obs`` the number of non-NaN observations
        composited, ``filled`` True where the value was interpolated.

    Raises
    ------
    CropcastError
        For missing or mistyped columns, a date outside its row's year, or a bad option.
    """
    calendar = SeasonCalendar.preset(calendar) if isinstance(calendar, str) else calendar
    if not isinstance(calendar, SeasonCalendar):
        raise CropcastError(f"calendar must be a SeasonCalendar or one of {list(PRESETS)}; "
                            f"got {type(calendar).__name__}")
    _choice("composite", composite, COMPOSITES)
    _choice("fill", fill, FILLS)
    smooth = _smooth_args(smooth)
    _check_frame(observations, ("region_id", "year", "date", "value"), "observations")
    obs = observations[_KEY].reset_index(drop=True)
    obs["year"] = obs["year"].astype(np.int64)
    dates = observations["date"].reset_index(drop=True)
    obs["step"] = calendar.step_of(dates.dt.day_of_year.to_numpy())
    obs["value"] = observations["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    inside = obs["step"].to_numpy() >= 0
    wrong = inside & (dates.dt.year.to_numpy() != obs["year"].to_numpy())
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise CropcastError(f"observations: {int(wrong.sum())} rows have a date outside their "
                            f"year (first: year {obs['year'].iat[i]}, date "
                            f"{dates.iat[i].date()}); the season runs within its calendar year")
    obs = obs[inside]
    keys = [*_KEY, "step"]
    grouped = obs.dropna(subset=["value"]).groupby(keys)["value"]
    stats = pd.DataFrame({"value": grouped.agg(composite), "n_obs": grouped.size()})
    last = obs.groupby(_KEY)["step"].max()
    counts = last.to_numpy(dtype=np.int64) + 1
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    curves = pd.DataFrame({
        "region_id": last.index.get_level_values("region_id").repeat(counts),
        "year": last.index.get_level_values("year").repeat(counts).astype(np.int64),
        "step": np.arange(counts.sum(), dtype=np.int64) - offsets,
    })
    curves = curves.merge(stats.reset_index(), on=keys, how="left")
    curves.insert(3, "doy", calendar.steps()[curves["step"].to_numpy()])
    curves["n_obs"] = curves["n_obs"].fillna(0).astype(np.int64)
    values = curves["value"].to_numpy(dtype=np.float64, copy=True)
    gid = np.repeat(np.arange(len(counts)), counts)
    filled = np.zeros(len(values), dtype=bool)
    if fill == "linear" and len(values):
        position = pd.Series(np.where(np.isnan(values), np.nan, np.arange(len(values))))
        before = position.groupby(gid).ffill().to_numpy()
        after = position.groupby(gid).bfill().to_numpy()
        filled = np.isnan(values) & ~np.isnan(before) & ~np.isnan(after)
        b, a = before[filled].astype(np.int64), after[filled].astype(np.int64)
        share = (np.flatnonzero(filled) - b) / (a - b)
        values[filled] = values[b] + (values[a] - values[b]) * share
    if smooth is not None:
        from scipy.signal import savgol_filter

        starts, lengths = _runs(gid, np.isnan(values))
        usable = (lengths >= smooth[0]) & ~np.isnan(values[starts])
        for length in np.unique(lengths[usable]):  # all runs of one length at once
            at = starts[usable & (lengths == length)][:, None] + np.arange(length)
            values[at] = savgol_filter(values[at], *smooth, mode="interp", axis=1)
    curves["value"] = values
    curves["filled"] = filled
    return curves


def curve_features(curves: pd.DataFrame, prefix: str, through_doy: int | None = None,
                   calendar: SeasonCalendar | None = None) -> pd.DataFrame:
    """Season features of each region-year's curve (from :func:`season_curves`).

    Parameters
    ----------
    curves : DataFrame
        ``region_id``, ``year``, ``doy``, ``value``; ``filled`` (bool) if present.
    prefix : str
        Start of every feature column, e.g. ``"ndvi"``.
    through_doy : int, optional
        Drop steps whose start ``doy`` is after it first; their ``_d`` columns are absent,
        so every as-of day has a fixed set of columns. Interpolated values after the last
        observed step that remains are dropped too (they leaned on a later observation), so
        features through D from a full curve equal those from observations up to D when the
        observations are dated on step starts (composite window starts) or D ends a step,
        and the curves are not smoothed.
    calendar : SeasonCalendar, optional
        Gives a ``_d`` column for every step (up to ``through_doy``); without it, one for
        every ``doy`` in ``curves``.

    Returns
    -------
    DataFrame
        One row per (region_id, year) of ``curves``: ``{prefix}_d{doy:03d}`` per step, then
        ``_integral`` (trapezoids over days between the first and last non-NaN steps; NaN
        below 2 points), ``_peak``, ``_peak_doy`` (earliest step of the maximum),
        ``_greenup_slope`` (largest rise per day between consecutive non-NaN steps up to
        the peak) and ``_last`` (value at the last non-NaN step).
    """
    _check_frame(curves, ("region_id", "year", "doy", "value"), "curves")
    if not isinstance(prefix, str) or not prefix:
        raise CropcastError(f"prefix must be a non-empty string such as 'ndvi'; got {prefix!r}")
    if through_doy is not None and (not is_integer(through_doy) or not 0 <= through_doy <= 366):
        raise CropcastError(f"through_doy must be None or an integer day of year in 0..366 "
                            f"(0: before the season, no steps); got {through_doy!r}")
    frame = curves[[*_KEY, "doy", "value"]].reset_index(drop=True)
    frame["doy"] = frame["doy"].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    frame["filled"] = curves["filled"].to_numpy(dtype=bool) if "filled" in curves else False
    if calendar is not None:
        doys = calendar.steps()
        unknown = sorted(set(frame["doy"].tolist()) - set(doys.tolist()))
        if unknown:
            raise CropcastError(f"curves: doy {unknown[:5]} are not steps of {calendar}; use "
                                "the calendar the curves were made with")
    else:
        doys = np.unique(frame["doy"].to_numpy())
    if frame.duplicated([*_KEY, "doy"]).any():
        raise CropcastError("curves: repeated (region_id, year, doy) rows; a curve has one "
                            "value per step: composite them first (season_curves)")
    index = pd.MultiIndex.from_frame(frame[_KEY].drop_duplicates().sort_values(_KEY))
    if through_doy is not None:
        doys = doys[doys <= through_doy]
        frame = frame[frame["doy"] <= through_doy]
    frame = frame.sort_values([*_KEY, "doy"], kind="stable")
    gid = index.get_indexer(pd.MultiIndex.from_frame(frame[_KEY]))  # sorted: runs of groups
    doy = frame["doy"].to_numpy(dtype=np.float64)
    value, filled = frame["value"].to_numpy(), frame["filled"].to_numpy()
    last_observed = np.full(len(index), -np.inf)
    observed = ~np.isnan(value) & ~filled
    np.maximum.at(last_observed, gid[observed], doy[observed])
    keep = ~np.isnan(value) & (doy <= last_observed[gid])  # drops filled values after it
    gid, doy, value = gid[keep], doy[keep], value[keep]
    wide = np.full((len(index), len(doys)), np.nan)
    wide[gid, np.searchsorted(doys, doy)] = value
    out = pd.DataFrame(wide, index=index, columns=[f"{prefix}_d{d:03d}" for d in doys])
    first, last = np.ones(len(gid), dtype=bool), np.ones(len(gid), dtype=bool)
    first[1:] = last[:-1] = gid[1:] != gid[:-1]
    pair = ~first  # a step and the available step before it, in the same curve
    previous = np.concatenate([[np.nan], value[:-1]])
    rise, days = value - previous, np.diff(doy, prepend=np.nan)
    area = np.bincount(gid[pair], (0.5 * (value + previous) * days)[pair], len(index))
    features = {name: np.full(len(index), np.nan) for name in
                ("integral", "peak", "peak_doy", "greenup_slope", "last")}
    features["integral"] = np.where(np.bincount(gid[pair], minlength=len(index)) > 0, area,
                                    np.nan)
    np.fmax.at(features["peak"], gid, value)
    at_peak = np.flatnonzero(value == features["peak"][gid])
    groups, earliest = np.unique(gid[at_peak], return_index=True)
    features["peak_doy"][groups] = doy[at_peak[earliest]]
    up = pair & (doy <= features["peak_doy"][gid])
    np.fmax.at(features["greenup_slope"], gid[up], rise[up] / days[up])
    features["last"][gid[last]] = value[last]
    for name, column in features.items():
        out[f"{prefix}_{name}"] = column
    return out.reset_index()


def climatology_anomalies(features: pd.DataFrame, columns: Sequence[str] | str,
                          min_years: int = 3) -> pd.DataFrame:
    """Add ``{col}_anom``: the value minus the mean of the region's strictly earlier years.

    Parameters
    ----------
    features : DataFrame
        ``region_id``, ``year`` (unique together) and the ``columns``.
    columns : str or sequence of str
        Numeric columns to take anomalies of.
    min_years : int
        Fewest earlier years with a value for a mean; the anomaly is NaN below it.

    Returns
    -------
    DataFrame
        A copy of ``features`` (same rows, order and index) with the ``_anom`` columns.
        Only earlier years enter a mean: a later year's value never changes an anomaly.
    """
    _check_frame(features, _KEY, "features")
    columns = [columns] if isinstance(columns, str) else list(columns)
    absent = [c for c in columns if c not in features.columns]
    if absent or not columns:
        raise CropcastError(f"columns {absent or columns} are not in features; choose among "
                            f"{list(features.columns)[:20]}")
    check_int(min_years, "min_years", 1)
    if features.duplicated(_KEY).any():
        raise CropcastError("features: repeated (region_id, year) rows; a climatology needs "
                            "one row per region and year: aggregate them first")
    _numeric(features, columns, "features")
    table = features[[*_KEY, *columns]].reset_index(drop=True).sort_values(_KEY, kind="stable")
    region = table["region_id"]
    out = features.copy()
    for column in columns:
        value = table[column].astype(np.float64)
        total = value.fillna(0.0).groupby(region).cumsum()
        count = value.notna().astype(np.int64).groupby(region).cumsum()
        earlier_total = total.groupby(region).shift(1, fill_value=0.0)
        earlier_count = count.groupby(region).shift(1, fill_value=0)
        mean = (earlier_total / earlier_count.where(earlier_count >= min_years)).to_numpy()
        anomaly = np.empty(len(table))
        anomaly[table.index.to_numpy()] = value.to_numpy() - mean
        out[f"{column}_anom"] = anomaly
    return out
