"""County forecasts to state and national yield and production, weighted by acres.

In season the county acres of the season are not published yet (NASS releases county
harvested acres after harvest), so :func:`inseason_acres` estimates them from what is
known: the state's planted acres of the June Acreage report, each county's share of the
state's harvested acres in recent seasons, and the state's recent harvested/planted
ratio. :func:`aggregate` turns county predictions into acre-weighted state or national
yields and productions and, given the final county figures, the true ones to score them
against (e.g. with :func:`cropcast.forecast.evaluation.metrics.reliability_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cropcast.checks import check_int, require_columns, require_unique
from cropcast.errors import CropcastError
from cropcast.regions import county_state_fips

__all__ = ["AGGREGATE_COLUMNS", "aggregate", "inseason_acres", "states_left_out"]

AGGREGATE_COLUMNS = ("model", "forecast_date", "level", "region_id", "year", "y_pred", "y_true",
                     "production_pred", "production_true", "acres_pred", "acres_true",
                     "n_counties", "n_counties_unpublished")
_LEVELS = ("state", "nation")


def _require(frame: object, columns: Sequence[str], who: str, what: str) -> pd.DataFrame:
    return require_columns(frame, columns, who, what,
                           hint="read it with cropcast.features.sources.quickstats."
                                "read_quickstats or rename the columns")


def _state_of(frame: pd.DataFrame) -> pd.Series:
    """A row's state FIPS: its ``state_fips`` column, else the first two FIPS digits."""
    from_id = county_state_fips(frame["region_id"])
    if "state_fips" not in frame.columns:
        return from_id
    return frame["state_fips"].astype("str").where(frame["state_fips"].notna(), from_id)


def _finite(series: pd.Series) -> np.ndarray:
    return np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))


def _others_totals(others: pd.DataFrame | None, who: str) -> pd.DataFrame:
    """Per state and year: the others' harvested acres and production (rows with both)."""
    columns = ["state_fips", "year", "others_acres", "others_production"]
    if others is None:
        return pd.DataFrame(columns=columns).astype({"year": "int64",
                                                     "others_acres": float,
                                                     "others_production": float})
    _require(others, ["state_fips", "year", "yield", "harvested_acres"], who, "others")
    rows = others[_finite(others["yield"]) & _finite(others["harvested_acres"])]
    rows = rows.assign(state_fips=rows["state_fips"].astype("str"),
                       others_acres=rows["harvested_acres"].astype(float),
                       others_production=rows["yield"] * rows["harvested_acres"])
    return rows.groupby(["state_fips", "year"], as_index=False)[columns[2:]].sum()


def inseason_acres(counties: pd.DataFrame, states: pd.DataFrame, year: int,
                   recent_years: int = 3, *, others: pd.DataFrame | None = None,
                   regions: Iterable[str] | None = None,
                   planted_report: str = "YEAR - JUN ACREAGE") -> pd.DataFrame:
    """In-season harvested-acre weights of the counties for ``year``.

    Never uses ``year``'s own county figures (published after the season). With ``S`` the
    ``recent_years`` seasons before ``year`` (calendar years ``year - recent_years`` to
    ``year - 1``):

    - ``acres = P x share x ratio`` (source ``planted_share``), where ``P`` is the state's
      planted acres of ``year`` in ``planted_report`` (the June Acreage report), ``share``
      the county's harvested acres over the state's harvested acres (counties plus
      ``others``) summed over the seasons of ``S`` the county was published, and
      ``ratio`` the state's harvested over planted acres summed over the seasons of ``S``
      with a planted figure (final ``YEAR`` value, else that season's ``planted_report``).
      Without any planted figure in ``S`` the ratio is 1 (source
      ``planted_share_ratio1``, i.e. planted acres stand in for harvested ones).
    - Without ``P``: the county's mean harvested acres over its published seasons of
      ``S`` (source ``recent_harvested``).
    - A county without harvested acres in ``S``: NaN acres (source ``no_history``),
      never 0.

    Parameters
    ----------
    counties : DataFrame
        County rows ``region_id, year, harvested_acres`` (``state_fips`` optional; else
        the first two FIPS digits), e.g. ``QuickStatsData.counties``.
    states : DataFrame
        ``state_fips, year, reference_period, variable, value`` (``QuickStatsData.states``).
    year : int
        The season to weight.
    recent_years : int, default 3
        Number of earlier seasons the shares and ratio come from.
    others : DataFrame, optional
        ``QuickStatsData.others`` (``state_fips, year, harvested_acres``): counted in the
        state's harvested acres so the counties do not absorb the others' share. Pass the
        same table to :func:`aggregate`.
    regions : list of str, optional
        Counties to weight; by default every county of ``counties``.
    planted_report : str, default "YEAR - JUN ACREAGE"
        ``reference_period`` of the in-season state planted acres (e.g.
        ``"YEAR - MAR ACREAGE"`` before the June report is out).

    Returns
    -------
    DataFrame
        ``region_id, state_fips, year, acres, source``, one row per county, sorted.
    """
    who = "inseason_acres"
    _require(counties, ["region_id", "year", "harvested_acres"], who, "counties")
    _require(states, ["state_fips", "year", "reference_period", "variable", "value"], who,
             "states")
    year = check_int(year, "year")
    recent_years = check_int(recent_years, "recent_years", 1)
    require_unique(counties, ["region_id", "year"], who, "counties")
    require_unique(states, ["state_fips", "year", "reference_period", "variable"], who, "states")
    window = list(range(year - recent_years, year))

    county_state = counties.assign(state_fips=_state_of(counties)).sort_values("year")
    county_state = county_state.drop_duplicates("region_id", keep="last").set_index(
        "region_id")["state_fips"]
    wanted = (pd.Index(county_state.index) if regions is None
              else pd.Index([str(r) for r in regions]).unique())
    out = pd.DataFrame({"region_id": wanted.astype("str")})
    out["state_fips"] = out["region_id"].map(county_state).fillna(
        county_state_fips(out["region_id"]))

    hist = counties[counties["year"].isin(window) & _finite(counties["harvested_acres"])]
    hist = hist.assign(state_fips=_state_of(hist), acres=hist["harvested_acres"].astype(float))
    state_h = hist.groupby(["state_fips", "year"])["acres"].sum()
    other = _others_totals(others, who)
    other = other[other["year"].isin(window)].set_index(["state_fips", "year"])["others_acres"]
    state_h = state_h.add(other, fill_value=0.0).rename("state_acres")
    hist = hist.join(state_h, on=["state_fips", "year"])
    per_county = hist.groupby("region_id").agg(own=("acres", "sum"), total=("state_acres", "sum"),
                                               mean=("acres", "mean"))
    per_county["share"] = per_county["own"] / per_county["total"]

    planted = states[(states["variable"] == "planted_acres") & _finite(states["value"])]
    planted = planted.assign(state_fips=planted["state_fips"].astype("str"))
    final_p = planted[planted["reference_period"] == "YEAR"]
    report_p = planted[planted["reference_period"] == planted_report]
    p_now = report_p[report_p["year"] == year].set_index("state_fips")["value"]
    p_hist = pd.concat([final_p, report_p])[lambda f: f["year"].isin(window)]
    p_hist = p_hist.drop_duplicates(["state_fips", "year"], keep="first")
    p_hist = p_hist.set_index(["state_fips", "year"])["value"].rename("planted")
    both = pd.concat([state_h, p_hist], axis=1, join="inner").groupby(level=0).sum()
    ratio = (both["state_acres"] / both["planted"])[both["planted"] > 0]

    out = out.join(per_county[["share", "mean"]], on="region_id")
    out["year"] = year
    planted_now = out["state_fips"].map(p_now)
    state_ratio = out["state_fips"].map(ratio)
    has_history = out["share"].notna()
    use_planted = has_history & planted_now.notna()
    out["acres"] = np.where(use_planted, planted_now * out["share"] * state_ratio.fillna(1.0),
                            np.where(has_history, out["mean"], np.nan))
    out["source"] = np.select(
        [~has_history, use_planted & state_ratio.notna(), use_planted],
        ["no_history", "planted_share", "planted_share_ratio1"], "recent_harvested")
    out = out.astype({"source": "str"})
    columns = ["region_id", "state_fips", "year", "acres", "source"]
    return out[columns].sort_values("region_id", ignore_index=True)


def _truth(final: pd.DataFrame, who: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published county-years and per state-year county acres and production."""
    _require(final, ["region_id", "year", "yield", "harvested_acres"], who, "final")
    require_unique(final, ["region_id", "year"], who, "final")
    ok = _finite(final["yield"]) & _finite(final["harvested_acres"])
    published = final[ok].assign(state_fips=lambda f: _state_of(f),
                                 acres=lambda f: f["harvested_acres"].astype(float),
                                 production=lambda f: f["yield"] * f["harvested_acres"])
    totals = published.groupby(["state_fips", "year"], as_index=False)[
        ["acres", "production"]].sum()
    return published[["region_id", "year"]].assign(published=True), totals


def states_left_out(aggregated: pd.DataFrame) -> dict[int, list[str]]:
    """The states left out of the national figure, by season (from state aggregates).

    Parameters
    ----------
    aggregated : DataFrame
        :func:`aggregate` output at ``level="state"`` (other levels are ignored).

    Returns
    -------
    dict of int to list of str
        ``{year: [state FIPS, ...]}`` for the seasons where some state had no predicted
        yield (no county with in-season acres) for some model and forecast date.
    """
    states = aggregated[(aggregated["level"] == "state") & aggregated["y_pred"].isna()]
    return {int(year): sorted(group["region_id"].astype(str).unique())
            for year, group in states.groupby("year")}


def aggregate(predictions: pd.DataFrame, acres: pd.DataFrame, level: str = "state",
              final: pd.DataFrame | None = None,
              others: pd.DataFrame | None = None) -> pd.DataFrame:
    """Acre-weighted state or national yield and production from county predictions.

    Predicted side: the state yield is the mean of the county predictions weighted by
    ``acres`` (counties without acres or prediction are left out; ``n_counties`` counts
    those that entered); the ``others`` rows' acres of the state and year are assumed to
    yield that predicted state yield, so they add to the predicted acres and production
    but do not move the predicted yield. True side (with ``final``): the published county
    yields x FINAL harvested acres of every published county of the state, plus the
    ``others`` rows' production, so state totals reconcile with NASS's; counties with a
    prediction but no published yield or acres are left out and counted in
    ``n_counties_unpublished``. The nation sums the states present in the predictions that
    have a predicted yield; a state none of whose counties has in-season acres is left out
    of both the predicted and the true national totals (see
    :func:`states_left_out`).

    Parameters
    ----------
    predictions : DataFrame
        ``model, forecast_date, region_id, year, y_pred`` (bu/acre), one row per key.
    acres : DataFrame
        ``region_id, state_fips, acres`` and optionally ``year`` (e.g. concatenated
        :func:`inseason_acres` tables); without ``year`` the same acres serve every year.
    level : {"state", "nation"}
        Aggregate per state (``region_id`` = state FIPS) or over all (``"US"``).
    final : DataFrame, optional
        County truth ``region_id, year, yield, harvested_acres`` (final published).
    others : DataFrame, optional
        The non-county rows ``state_fips, year, yield, harvested_acres`` (rows with both
        values count). Their published acres are used on both sides.

    Returns
    -------
    DataFrame
        Columns :data:`AGGREGATE_COLUMNS`: yields in bu/acre, productions in bushels,
        acres; true columns NaN and ``n_counties_unpublished`` <NA> without ``final``.
    """
    who = "aggregate"
    if level not in _LEVELS:
        raise CropcastError(f"aggregate: level must be one of {list(_LEVELS)}; got {level!r}")
    key = ["model", "forecast_date", "region_id", "year"]
    _require(predictions, [*key, "y_pred"], who, "predictions")
    require_unique(predictions, key, who, "predictions")
    _require(acres, ["region_id", "state_fips", "acres"], who, "acres")
    on = ["region_id", "year"] if "year" in acres.columns else ["region_id"]
    require_unique(acres, on, who, "acres")

    weights = acres[[*on, "state_fips", "acres"]].astype({"region_id": "str"})
    pred = predictions[[*key, "y_pred"]].astype({"region_id": "str"}).merge(
        weights, on=on, how="left")
    pred["state_fips"] = _state_of(pred)
    used = _finite(pred["y_pred"]) & _finite(pred["acres"])
    pred["w"] = np.where(used, pred["acres"], 0.0)
    pred["wy"] = np.where(used, pred["acres"] * pred["y_pred"], 0.0)
    pred["used"] = used.astype(int)
    pred["unpublished"] = 0
    if final is not None:
        published, truth = _truth(final, who)
        pred = pred.merge(published.astype({"region_id": "str"}), on=["region_id", "year"],
                          how="left")
        pred["unpublished"] = pred["published"].isna().astype(int)
    group = ["model", "forecast_date", "state_fips", "year"]
    states = pred.groupby(group, as_index=False, dropna=False).agg(
        acres_c=("w", "sum"), prod_c=("wy", "sum"), n_counties=("used", "sum"),
        n_counties_unpublished=("unpublished", "sum"))
    states = states.merge(_others_totals(others, who), on=["state_fips", "year"], how="left")
    states[["others_acres", "others_production"]] = states[
        ["others_acres", "others_production"]].fillna(0.0)

    any_county = states["n_counties"] > 0
    y_pred = (states["prod_c"] / states["acres_c"]).where(any_county & (states["acres_c"] > 0))
    states["acres_pred"] = (states["acres_c"] + states["others_acres"]).where(any_county)
    states["production_pred"] = y_pred * states["acres_pred"]
    states["acres_true"] = states["production_true"] = np.nan
    if final is not None:
        states = states.merge(truth, on=["state_fips", "year"], how="left")
        acres_true = states["acres"].fillna(0.0) + states["others_acres"]
        production_true = states["production"].fillna(0.0) + states["others_production"]
        states["acres_true"] = acres_true.where(acres_true > 0)
        states["production_true"] = production_true.where(acres_true > 0)

    sums = ["production_pred", "acres_pred", "production_true", "acres_true", "n_counties",
            "n_counties_unpublished"]
    if level == "nation":
        # A state without a predicted yield (no county with in-season acres) is left out
        # on both sides, so the nation compares like with like; NaN only when no state is.
        unweighted = ~(states["acres_pred"] > 0)
        states.loc[unweighted, ["production_pred", "acres_pred", "production_true",
                                "acres_true"]] = np.nan
        states = states.groupby(["model", "forecast_date", "year"], as_index=False,
                                dropna=False)[sums].agg(lambda s: s.sum(min_count=1))
        states["state_fips"] = "US"
    out = states.rename(columns={"state_fips": "region_id"}).assign(level=level)
    out["y_pred"] = out["production_pred"] / out["acres_pred"]
    out["y_true"] = out["production_true"] / out["acres_true"]
    out = out.astype({"n_counties": "int64", "n_counties_unpublished": "Int64"})
    if final is None:
        out["n_counties_unpublished"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out = out.sort_values(["model", "forecast_date", "region_id", "year"], ignore_index=True)
    return out[list(AGGREGATE_COLUMNS)]
