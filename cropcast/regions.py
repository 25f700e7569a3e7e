"""Regions: the keys every table shares, US county FIPS codes, and region fingerprints.

Every table keys regions by a string ``region_id`` (a US county is its 5-character FIPS
GEOID, ``"19153"``) and seasons by an integer ``year``.
"""

from __future__ import annotations

import hashlib

import pandas as pd

__all__ = ["KEY", "county_state_fips", "is_county_fips", "regions_digest", "with_state_fips"]

#: The key of every region-season table.
KEY = ("region_id", "year")


def is_county_fips(region_ids: pd.Series) -> bool:
    """Whether every id is a US county FIPS code (five digits, e.g. ``"19153"``)."""
    return bool(region_ids.astype(str).str.fullmatch(r"\d{5}").all())


def county_state_fips(region_ids: pd.Series) -> pd.Series:
    """The state FIPS of US county FIPS ids: their first two digits (``"19153"`` -> ``"19"``)."""
    return region_ids.astype(str).str[:2]


def with_state_fips(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``state_fips`` column, derived from county FIPS ids when it has
    none; unchanged when it has one or when its ids are not all county FIPS codes."""
    if "state_fips" in frame or not is_county_fips(frame["region_id"]):
        return frame
    return frame.assign(state_fips=county_state_fips(frame["region_id"]))


def regions_digest(regions) -> str:
    """SHA-256 of a region set: its CRS and every region's id and geometry (WKB), in order.

    Parameters
    ----------
    regions : GeoDataFrame
        ``region_id`` and polygons.

    Returns
    -------
    str
        The hex digest: equal for the same regions in the same CRS and order.
    """
    digest = hashlib.sha256(str(regions.crs).encode())
    for region_id, wkb in zip(regions["region_id"].astype(str), regions.geometry.to_wkb(),
                              strict=True):
        digest.update(region_id.encode() + b"\0" + wkb)
    return digest.hexdigest()
