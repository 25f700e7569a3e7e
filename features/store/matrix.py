"""As-of feature matrices: one row per region-year, from what was known on a day of season.

A matrix built as of ``D`` (a date) has a row per region for ``D``'s season and every
earlier one; for each, the same month and day as ``D`` applies. It uses only
store rows whose ``obs_date`` (a composite's window end plus lag; a weather day plus lag)
is on or before that year's ``D``: a composite whose window straddles ``D`` is left out,
and nothing later can change the matrix. ``as_of=None`` is the end of the season (every
row of the year), the only use allowed for precomputed feature tables.

Columns (besides ``region_id`` and ``year``):

- ``{product}_{variable}_{stat}_d{DOY}``: the season curve at each calendar step (window
  start day of year) whose window had ended by ``D``; and ``_integral``, ``_peak``,
  ``_peak_doy``, ``_greenup_slope``, ``_last`` (see
  :func:`cropcast.features.imagery.curves.curve_features`), all lower case, e.g.
  ``mod13q1_ndvi_weighted_mean_d193``.
- ``wx_{gdd,edd,pr,wb,ws,tmax,days}_{period}``: weather over each period up to ``D``
  (:func:`cropcast.features.weather.indices.weather_features`); a period not begun is absent.
- ``wx_{edd,pr,wb,ws,days}_tt_{phase}``: weather over crop phases in thermal time up to ``D``
  (:func:`cropcast.features.weather.indices.thermal_features`: corn degree days since the
  planting day estimated from the weather, :mod:`cropcast.features.weather.phenology`); NaN
  for a region-year whose phase had not begun (or that had not been planted).
- ``final_{column}`` (``final_columns``): the weather feature's end-of-season value for
  seasons complete by ``D`` (every season before ``D``'s), NaN for ``D``'s own season. A
  model's trend may use them to tell a past drought from a slower technology gain
  (``TrendResidualRegressor(backfit_columns=...)``); they are not in-season features.
- ``{column}_anom``: the value minus the region's mean over earlier years (never later
  ones) for the curves' peak, integral and last value and the season weather sums.
- the precomputed feature tables' columns (end of season only).

Columns that hold no value at all (e.g. steps the imagery never covers) are dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from cropcast.days import REFERENCE_YEAR, month_day
from cropcast.errors import CropcastError
from cropcast.features.imagery.curves import (
    SeasonCalendar,
    climatology_anomalies,
    curve_features,
    season_curves,
)
from cropcast.features.sources.tables import FeatureTable, RegionTimeSeries
from cropcast.features.weather.columns import (
    FINAL_PREFIX,
    daily_weather,
    final_weather,
    weather_block,
)
from cropcast.features.weather.indices import (
    DEFAULT_PERIODS,
    DEFAULT_THERMAL_PERIODS,
    THERMAL_START,
    check_thermal_periods,
)
from cropcast.features.weather.phenology import PlantingRule

__all__ = ["CurveSpec", "MatrixSpec", "as_of_matrix", "cutoff", "parse_as_of", "series_rows"]

_KEY = ["region_id", "year"]
_CALENDARS = {16: "16day", 8: "8day", 7: "weekly"}


def cutoff(as_of: dt.date | None, year: int) -> pd.Timestamp:
    """``as_of``'s month and day in ``year`` (Feb 29 -> Feb 28); Dec 31 when None."""
    if as_of is None:
        return pd.Timestamp(year, 12, 31)
    day = 28 if (as_of.month, as_of.day) == (2, 29) else as_of.day
    return pd.Timestamp(year, as_of.month, day)


@dataclass(frozen=True)
class CurveSpec:
    """Which store series becomes a season curve, and how.

    Parameters
    ----------
    product, variable, stat : str
        The store rows (e.g. ``MOD13Q1``, ``NDVI``, ``weighted_mean``).
    window_days : int
        The composites' window (picks the calendar: 16 -> 16-day, 8 -> 8-day, else weekly).
    lag_days : int
        Publication lag after the window's end (already in ``obs_date``; used here only to
        decide which calendar steps can exist by ``D``).
    composite : {"max", "median", "mean"}
        Statistic of several observations in one step.
    smooth : (window_length, polyorder), optional
        Savitzky-Golay smoothing of each curve (after the as-of cut).
    """

    product: str
    variable: str
    stat: str = "weighted_mean"
    window_days: int = 16
    lag_days: int = 0
    composite: str = "max"
    smooth: tuple[int, int] | None = None

    @property
    def prefix(self) -> str:
        """Start of the curve's column names."""
        return f"{self.product}_{self.variable}_{self.stat}".lower()

    def calendar(self) -> SeasonCalendar:
        """The season calendar of the composites."""
        return SeasonCalendar.preset(_CALENDARS.get(self.window_days, "weekly"))

    def through_doy(self, as_of: dt.date | None) -> int | None:
        """The last step start whose window had ended by ``as_of`` (a non-leap year)."""
        if as_of is None:
            return None
        end = cutoff(as_of, REFERENCE_YEAR) - pd.Timedelta(days=self.window_days - 1
                                                            + self.lag_days)
        return int(end.day_of_year) if end.year == REFERENCE_YEAR else 0


def series_rows(series: RegionTimeSeries) -> pd.DataFrame:
    """A region time series as store rows (``product`` = its name, ``stat="value"``)."""
    table = series.load()
    rows = table.melt(id_vars=["region_id", "date", "year"], value_vars=series.value_columns,
                      var_name="variable", value_name="value")
    rows["region_id"] = rows["region_id"].astype(object).astype(str)  # one str dtype
    rows["product"] = series.name
    rows["stat"] = "value"
    rows["date"] = pd.to_datetime(rows["date"])
    rows["obs_date"] = rows["date"]
    return rows


def _curve_block(rows: pd.DataFrame, spec: CurveSpec, as_of: dt.date | None) -> pd.DataFrame:
    chosen = rows[(rows["product"] == spec.product) & (rows["variable"] == spec.variable)
                  & (rows["stat"] == spec.stat)]
    if chosen.empty:
        return pd.DataFrame({"region_id": pd.Series(dtype=str), "year": pd.Series(dtype=int)})
    calendar = spec.calendar()
    curves = season_curves(chosen[["region_id", "year", "date", "value"]], calendar,
                           composite=spec.composite, smooth=spec.smooth)
    through = spec.through_doy(as_of)
    return curve_features(curves, spec.prefix, through_doy=through, calendar=calendar)


def as_of_matrix(rows: pd.DataFrame, as_of: dt.date | None, spec: MatrixSpec,
                 tables: list[FeatureTable] | None = None, weather: pd.DataFrame | None = None,
                 final: pd.DataFrame | None = None) -> pd.DataFrame:
    """The feature matrix as of ``as_of``: one row per region-year.

    Parameters
    ----------
    rows : DataFrame
        Store rows (:data:`cropcast.features.store.store.LONG_COLUMNS`), imagery, weather
        and region time series (:func:`series_rows`) alike.
    as_of : date or None
        The day of season: rows for its year and earlier ones, each cut at the same month
        and day. None: the end of season of every year.
    spec : MatrixSpec
        What the matrix holds: the season curves, the weather periods and crop phases, the
        planting rule, the ``final_`` columns and the years an anomaly needs.
    tables : list of FeatureTable, optional
        Precomputed features: end of season only.
    weather : DataFrame, optional
        :meth:`MatrixSpec.daily_weather` of ``rows``, when the caller cuts one record at
        many dates (computed here otherwise; see :meth:`MatrixSpec.matrices`).
    final : DataFrame, optional
        :meth:`MatrixSpec.final_weather` of the whole record, when the caller cuts one
        record at many dates (computed here otherwise).

    Returns
    -------
    DataFrame
        ``region_id``, ``year`` and the feature columns named in the module docstring,
        sorted by region and year; ``attrs["as_of"]`` records the day.
    """
    periods, thermal_periods, thermal_start, planting = spec.weather_settings()
    final_columns = spec.final_columns
    for table in tables or []:
        table.require_end_of_season(as_of)
    missing = [c for c in ("region_id", "year", "product", "variable", "stat", "date",
                           "obs_date", "value") if c not in rows]
    if missing:
        raise CropcastError(f"store rows lack columns {missing}; build them with "
                            "`cropcast features` or cropcast.features.store.matrix.series_rows")
    if as_of is not None:  # seasons after D's own have not begun
        rows = rows[rows["year"] <= as_of.year]
    limits = rows["year"].map({y: cutoff(as_of, int(y)) for y in rows["year"].unique()})
    known = rows[rows["obs_date"] <= limits]
    imagery = known[known["product"] != "weather"]
    blocks = [_curve_block(imagery, curve, as_of) for curve in spec.curve_specs()]
    if weather is None:  # every row observed by D (earlier seasons whole), cut below
        rule = planting if thermal_start == "planting" else None
        observed = rows[rows["product"] == "weather"]
        if as_of is not None:
            observed = observed[observed["obs_date"] <= pd.Timestamp(as_of)]
        weather = daily_weather(observed, rule)
    if final_columns and final is None:
        full = weather
        if as_of is not None and not full.empty:
            full = full[full["obs_date"] <= pd.Timestamp(as_of)]
        final = final_weather(full, final_columns, periods, thermal_periods, thermal_start,
                              planting)
    if not weather.empty:  # the same cut as the rows: by season, on obs_date
        seasons = weather["date"].dt.year
        if as_of is not None:
            weather = weather[seasons <= as_of.year]
            seasons = weather["date"].dt.year
        limit = seasons.map({y: cutoff(as_of, int(y)) for y in seasons.unique()})
        weather = weather[weather["obs_date"] <= limit]
    through = None if as_of is None else cutoff(as_of, REFERENCE_YEAR).strftime("%m-%d")
    blocks.append(weather_block(
        weather, dict(DEFAULT_PERIODS if periods is None else periods),
        dict(DEFAULT_THERMAL_PERIODS if thermal_periods is None else thermal_periods), through,
        thermal_start, planting))
    keys = rows[_KEY].drop_duplicates()
    keys = keys.assign(region_id=keys["region_id"].astype(object).astype(str),
                       year=keys["year"].astype(int))
    matrix = keys
    for block in blocks:
        matrix = matrix.merge(block, on=_KEY, how="left")
    for table in tables or []:
        extra = table.load()
        matrix = matrix.merge(extra, on=_KEY, how="left")
    if final_columns:
        if as_of is not None:
            final = final[(final["year"] < as_of.year)
                          & (final["complete_on"] <= pd.Timestamp(as_of))]
        wanted = [*_KEY, *(FINAL_PREFIX + c for c in final_columns)]
        matrix = matrix.merge(final[wanted], on=_KEY, how="left")
    anomalies = [c for c in matrix.columns
                 if c.endswith(("_peak", "_integral", "_last"))
                 or c in ("wx_gdd_season", "wx_edd_season", "wx_pr_season", "wx_wb_season")]
    if anomalies:
        matrix = climatology_anomalies(matrix, anomalies, min_years=spec.min_years)
    empty = [c for c in matrix.columns if c not in _KEY and matrix[c].isna().all()]
    matrix = matrix.drop(columns=empty).sort_values(_KEY, ignore_index=True)
    matrix.attrs["as_of"] = None if as_of is None else as_of.isoformat()
    return matrix


@dataclass
class MatrixSpec:
    """The ``features`` config group: what an as-of matrix holds (built with Hydra).

    Parameters
    ----------
    curves : list of dict or CurveSpec
        Each season curve: :class:`CurveSpec` fields (as a config gives them) or the spec.
    periods : dict, optional
        Weather periods, ``name: [MM-DD, MM-DD]``.
    min_years : int
        Earlier years needed for an anomaly.
    thermal_periods : dict, optional
        Crop phases in thermal time, ``name: [a, b]`` corn degree days since the start
        (default: :data:`~cropcast.features.weather.indices.DEFAULT_THERMAL_PERIODS`;
        ``{}`` for none).
    thermal_start : str
        ``planting`` (estimated from the weather each season) or a fixed day ``MM-DD``.
    planting : dict, optional
        :class:`~cropcast.features.weather.phenology.PlantingRule` fields (default: the
        rule's defaults).
    final_columns : list of str, optional
        Weather features whose end-of-season values of earlier seasons join the matrix as
        ``final_<column>`` (for a model's trend; see :func:`as_of_matrix`).
    """

    curves: list[dict | CurveSpec] = field(default_factory=list)
    periods: dict | None = None
    min_years: int = 3
    thermal_periods: dict | None = None
    thermal_start: str = THERMAL_START
    planting: dict | None = None
    final_columns: list[str] | None = None

    def __post_init__(self) -> None:
        # Checked when the config is built, not after the world and the store.
        if self.thermal_periods is not None:
            try:
                check_thermal_periods(dict(self.thermal_periods))
            except CropcastError as error:
                raise CropcastError(f"features.thermal_periods: {error}") from None
        if self.thermal_start != "planting" and not _is_month_day(self.thermal_start):
            raise CropcastError(f"features.thermal_start must be 'planting' or a day "
                                f"'MM-DD', e.g. '05-01'; got {self.thermal_start!r}")
        self.planting_rule()  # a bad field is an error now
        columns = self.final_columns
        if columns is not None and (isinstance(columns, str) or not all(
                isinstance(c, str) and c.startswith("wx_") for c in columns)):
            raise CropcastError(f"features.final_columns must be a list of weather feature "
                                f"names (wx_...), e.g. [wx_edd_tt_flowering]; got {columns!r}")

    def planting_rule(self) -> PlantingRule:
        """The :class:`PlantingRule` of ``planting`` (a bad field is a clear error)."""
        try:
            return PlantingRule(**dict(self.planting or {}))
        except TypeError as error:
            raise CropcastError(f"features.planting: {error}; fields are threshold_c, "
                                "window_days, earliest, latest, delay_days") from None
        except CropcastError as error:
            raise CropcastError(f"features.{error}") from None

    def final_weather(self, weather: pd.DataFrame) -> pd.DataFrame | None:
        """:func:`final_weather` of a whole record (:meth:`daily_weather`) with these
        settings, for :meth:`matrix`'s ``final``; None without ``final_columns``."""
        if not self.final_columns:
            return None
        return final_weather(weather, list(self.final_columns), *self.weather_settings())

    def weather_settings(self) -> tuple[dict | None, dict | None, str, PlantingRule]:
        """``(periods, thermal_periods, thermal_start, planting rule)`` as the weather
        functions take them (periods as tuples; None: the defaults)."""
        periods = None if self.periods is None else {k: tuple(v) for k, v in
                                                      self.periods.items()}
        thermal = None if self.thermal_periods is None else {
            k: tuple(v) for k, v in self.thermal_periods.items()}
        return periods, thermal, self.thermal_start, self.planting_rule()

    def daily_weather(self, rows: pd.DataFrame) -> pd.DataFrame:
        """:func:`daily_weather` with this spec's planting rule (when phases count from
        planting), for :meth:`matrix`'s ``weather``."""
        planting = self.planting_rule() if self.thermal_start == "planting" else None
        return daily_weather(rows, planting)

    def curve_specs(self) -> list[CurveSpec]:
        """The curves as :class:`CurveSpec` objects (a bad field is a clear error)."""
        specs = []
        for i, entry in enumerate(self.curves):
            if isinstance(entry, CurveSpec):
                specs.append(entry)
                continue
            entry = dict(entry)
            if "smooth" in entry and entry["smooth"] is not None:
                entry["smooth"] = tuple(entry["smooth"])
            try:
                specs.append(CurveSpec(**entry))
            except TypeError as error:
                raise CropcastError(f"features.curves[{i}]: {error}; fields are product, "
                                    "variable, stat, window_days, lag_days, composite, "
                                    "smooth") from None
        return specs

    def matrix(self, rows: pd.DataFrame, as_of: dt.date | None,
               tables: list[FeatureTable] | None = None,
               weather: pd.DataFrame | None = None,
               final: pd.DataFrame | None = None) -> pd.DataFrame:
        """:func:`as_of_matrix` with these settings (``weather`` and ``final`` from
        :meth:`daily_weather` and :meth:`final_weather` of the whole record, or None)."""
        return as_of_matrix(rows, as_of, self, tables, weather, final)

    def matrices(self, rows: pd.DataFrame, tables: list[FeatureTable] | None = None
                 ) -> Callable[[dt.date | None], pd.DataFrame]:
        """The matrix of one record as a function of the as-of day, for a caller that cuts
        it at many days (a backtest): the daily weather and the end-of-season values are
        computed once, here, and every call gives :meth:`matrix`'s result.

        Parameters
        ----------
        rows : DataFrame
            Store rows and region time series (the whole record).
        tables : list of FeatureTable, optional
            Precomputed features (end of season only).

        Returns
        -------
        callable
            ``matrix(as_of)``; with neither rows nor tables, an empty frame of the keys.
        """
        weather = self.daily_weather(rows)
        final = self.final_weather(weather)

        def matrix(as_of: dt.date | None) -> pd.DataFrame:
            if rows.empty and not tables:
                return pd.DataFrame(columns=_KEY)
            return self.matrix(rows, as_of, tables, weather, final)

        return matrix


def parse_as_of(value: object) -> dt.date | None:
    """A config's ``as_of`` (``YYYY-MM-DD``, a date, or null) as a date."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CropcastError(f"as_of must be a date YYYY-MM-DD (e.g. as_of=2024-08-01), or end "
                            f"for the end-of-season matrix; got {value!r}") from None


def _is_month_day(text: object) -> bool:
    try:
        month_day(text)
    except ValueError:
        return False
    return True
