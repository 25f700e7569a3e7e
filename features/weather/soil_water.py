"""Root-zone soil water and crop water stress: a daily bucket, FAO-56 style.

Heat shows in degree days; drought needs memory: a dry week hurts a crop on a dry soil,
not on a wet one. FAO Irrigation and Drainage Paper 56 (Allen et al. 1998, ch. 8) keeps
that memory with a root-zone depletion ``Dr`` (mm) between 0 (field capacity) and the
total available water ``TAW``. Each season the bucket starts full on ``start``; each day,
after the day's rain,

- ``Ks = 1`` while ``Dr <= p * TAW`` (readily available water), else
  ``Ks = (TAW - Dr) / ((1 - p) * TAW)`` (FAO-56 eq. 84);
- the crop draws ``ETc = Ks * Kc * PET`` and ``Dr`` grows by it;
- the day's stress is ``1 - Ks``: 0 without stress, 1 with the root zone dry.

``Kc`` follows the crop's development in thermal time (degree days since ``start``, or
since each season's planting day when the caller gives them), from FAO-56's maize values
(Table 12: 0.3 initial, 1.2 mid-season, 0.6 at the end). Every day uses only that day
and earlier ones, so stress computed on a long record and then cut at an as-of date
equals stress computed on the cut record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cropcast.days import reference_date
from cropcast.errors import CropcastError

__all__ = ["MAIZE_KC", "water_stress"]

# (degree days since start, Kc): linear between the points, constant beyond the ends.
MAIZE_KC = ((0.0, 0.3), (250.0, 0.3), (700.0, 1.2), (1300.0, 1.2), (1700.0, 0.6))


def water_stress(table: pd.DataFrame, capacity_mm: float = 200.0, depletion: float = 0.55,
                 start: str = "05-01",
                 kc: tuple[tuple[float, float], ...] = MAIZE_KC,
                 crop_degree_days: np.ndarray | None = None) -> np.ndarray:
    """Daily crop water stress ``1 - Ks`` for every row of a daily table.

    Parameters
    ----------
    table : DataFrame
        ``region_id``, ``date`` (datetime64, one row per region and day), ``pr`` (mm),
        ``pet`` (mm) and ``gdd`` (degree days), as
        :func:`~cropcast.features.weather.indices.daily_indices` makes them.
    capacity_mm : float
        Total available water of the root zone (mm): about 150-250 for Corn Belt silt
        loams over a metre of roots.
    depletion : float
        FAO-56 ``p``: the share of it the crop takes without stress (0.55 for maize).
    start : str
        ``MM-DD`` on which the bucket starts full and degree days start to count.
    kc : tuple of (float, float)
        Crop coefficient by degree days of crop development.
    crop_degree_days : ndarray, optional
        Degree days of crop development on each row (e.g. accumulated since the
        region-year's planting day, 0 before it), aligned with ``table``'s rows. None:
        the table's ``gdd`` accumulated from ``start``.

    Returns
    -------
    numpy.ndarray
        Stress in [0, 1] aligned with ``table``'s rows; NaN before ``start`` and on days
        without rain or PET (such a day draws nothing and the bucket carries on).
    """
    if not capacity_mm > 0 or not 0 < depletion < 1:
        raise CropcastError(f"soil water: capacity_mm must be > 0 and depletion in (0, 1); "
                            f"got {capacity_mm!r} and {depletion!r}")
    try:
        first = reference_date(start)
    except ValueError:
        raise CropcastError(f"soil water: start must be a day 'MM-DD', e.g. '05-01'; got "
                            f"{start!r}") from None
    out = np.full(len(table), np.nan)
    if table.empty:
        return out
    points = np.array(kc, dtype=float)
    dates = table["date"]
    season_start = pd.to_datetime({"year": dates.dt.year, "month": first.month,
                                   "day": first.day})
    inside = (dates >= season_start).to_numpy()
    rows = table.loc[inside, ["region_id", "date", "pr", "pet", "gdd"]].assign(
        year=dates[inside].dt.year, position=np.flatnonzero(inside))
    if crop_degree_days is not None:
        development = np.asarray(crop_degree_days, dtype=float)
        if development.shape != (len(table),):
            raise CropcastError(f"soil water: crop_degree_days must hold one value per row "
                                f"of the table ({len(table)}); got shape {development.shape}")
        rows["development"] = development[inside]
    taw, readily = float(capacity_mm), float(depletion) * float(capacity_mm)
    for _, season in rows.groupby("year", sort=False):
        grid = season.pivot(index="region_id", columns="date")
        rain = grid["pr"].to_numpy()
        pet = grid["pet"].to_numpy()
        development = (np.nancumsum(grid["gdd"].to_numpy(), axis=1)
                       if crop_degree_days is None else grid["development"].to_numpy())
        coefficient = np.interp(development, points[:, 0], points[:, 1])
        deficit = np.zeros(rain.shape[0])
        stress = np.full(rain.shape, np.nan)
        for d in range(rain.shape[1]):
            known = ~np.isnan(rain[:, d]) & ~np.isnan(pet[:, d])
            deficit = np.maximum(deficit - np.nan_to_num(rain[:, d]), 0.0)
            ks = np.clip((taw - deficit) / (taw - readily), 0.0, 1.0)
            deficit = np.minimum(deficit + ks * coefficient[:, d] * np.nan_to_num(pet[:, d]),
                                 taw)
            stress[:, d] = np.where(known, 1.0 - ks, np.nan)
        where = grid["position"].to_numpy()
        filled = ~np.isnan(where)
        out[where[filled].astype(np.int64)] = stress[filled]
    return out
