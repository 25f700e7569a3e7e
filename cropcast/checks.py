"""Checks of what callers pass in: integers, DataFrames and their columns and keys.

Every failure is a :class:`~cropcast.errors.CropcastError` that names the setting or
table, what arrived, what is allowed and, where one helps, a hint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cropcast.errors import CropcastError

__all__ = ["check_int", "is_integer", "require_columns", "require_unique", "shown"]


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_int(value: object, name: str, minimum: int | None = None, *,
              allow_none: bool = False, hint: str | None = None) -> int | None:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``minimum``.

    Parameters
    ----------
    value : object
        What arrived.
    name : str
        How the message names it (a setting such as ``workers`` or ``forecast.every_days``).
    minimum : int, optional
        The smallest value allowed.
    allow_none : bool
        None is allowed too (and returned).
    hint : str, optional
        Appended to the message.

    Raises
    ------
    CropcastError
        ``"{name} must be an integer >= {minimum}; got {value!r}"``.
    """
    if allow_none and value is None:
        return None
    is_int = is_integer(value)
    if not is_int or (minimum is not None and value < minimum):
        allowed = "an integer" + ("" if minimum is None else f" >= {minimum}")
        allowed += " or None" if allow_none else ""
        shape = "" if is_int else f" ({type(value).__name__})"
        raise CropcastError(f"{name} must be {allowed}; got {value!r}{shape}"
                            + (f". Hint: {hint}" if hint else ""))
    return int(value)


def require_columns(frame: object, columns: Sequence[str], who: str, what: str,
                    hint: str = "rename the columns", numeric: Sequence[str] = ()
                    ) -> pd.DataFrame:
    """``frame`` if it is a DataFrame holding ``columns``, those of ``numeric`` (if it has
    them) of a numeric dtype.

    Parameters
    ----------
    frame : object
        What arrived.
    columns : sequence of str
        The columns it needs.
    who, what : str
        The function and the argument, for the message (``aggregate``, ``predictions``).
    hint : str
        How to fix a missing column.
    numeric : sequence of str
        Columns that must be numeric where present.

    Raises
    ------
    CropcastError
        Naming the missing columns, the ones it has and the ones it needs; or the column
        that is not numeric and its dtype.
    """
    if not isinstance(frame, pd.DataFrame):
        raise CropcastError(f"{who}: {what} must be a DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CropcastError(f"{who}: {what} is missing the column(s) {missing}; it has "
                            f"{list(frame.columns)}, needs {list(columns)}. Hint: {hint}")
    for name in (c for c in numeric if c in frame.columns):
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise CropcastError(f"{who}: column {name!r} of {what} must be numeric; got "
                                f"dtype {frame[name].dtype}")
    return frame


def require_unique(frame: pd.DataFrame, key: Sequence[str], who: str, what: str,
                   hint: str = "keep one row per key") -> None:
    """Raise unless every row of ``frame`` has its own ``key``, naming an example."""
    repeated = frame.duplicated(list(key), keep=False)
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise CropcastError(f"{who}: {what} has {int(repeated.sum())} rows sharing a "
                            f"({', '.join(key)}), e.g. {shown(row, key)}; {hint}")


def shown(row: pd.Series, keys: Sequence[str]) -> tuple:
    """A row's key as plain Python values, for messages (``('19001', 2012)``)."""
    return tuple(v.item() if isinstance(v, np.generic) else v for v in row[list(keys)])
