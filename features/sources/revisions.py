"""Vintages: NASS revises county values, so two downloads of one series may differ."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compare_vintages"]


def compare_vintages(old: pd.DataFrame, new: pd.DataFrame, variables: list[str],
                     tolerance: float = 1e-9) -> pd.DataFrame:
    """Region-years whose values differ between two vintages: revisions, not errors.

    Parameters
    ----------
    old, new : DataFrame
        Tables keyed by ``region_id`` and ``year`` holding ``variables``.
    variables : list of str
        Columns to compare.
    tolerance : float
        Absolute difference below which values are equal.

    Returns
    -------
    DataFrame
        ``region_id, year, variable, old, new, kind`` where kind is ``revised`` (both have
        a value), ``added`` (only the new one) or ``removed`` (only the old one).
    """
    merged = old[["region_id", "year", *variables]].merge(
        new[["region_id", "year", *variables]], on=["region_id", "year"], how="outer",
        suffixes=("_old", "_new"))
    parts = []
    for variable in variables:
        a, b = merged[f"{variable}_old"], merged[f"{variable}_new"]
        revised = a.notna() & b.notna() & (np.abs(a - b) > tolerance)
        kind = np.select([revised, a.isna() & b.notna(), a.notna() & b.isna()],
                         ["revised", "added", "removed"], default="")
        part = merged.loc[kind != "", ["region_id", "year"]].assign(
            variable=variable, old=a[kind != ""], new=b[kind != ""], kind=kind[kind != ""])
        parts.append(part)
    columns = ["region_id", "year", "variable", "old", "new", "kind"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns].sort_values(
        ["variable", "year", "region_id"], ignore_index=True)
