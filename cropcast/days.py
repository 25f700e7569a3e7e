"""Days of the year written ``MM-DD``, as every config of seasons, periods and rules has them.

A season's days are compared across years by month and day. Where a ``MM-DD`` needs a
date (a forecast date's day of the year, an MLflow step, a plot's axis), it is taken in
:data:`REFERENCE_YEAR`, a year that is not a leap year; ``02-29`` then counts as ``02-28``,
as the as-of matrices cut every season (:func:`cropcast.features.store.matrix.cutoff`).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = ["REFERENCE_YEAR", "day_of_year", "month_day", "reference_date"]

#: The year a ``MM-DD`` is placed in when a date is needed (not a leap year).
REFERENCE_YEAR = 2001


def month_day(text: object) -> int:
    """``month * 100 + day`` of a day written ``MM-DD`` (``"05-01"`` -> 501).

    ``02-29`` is allowed (it exists in leap years). Raises ``ValueError`` for anything
    else: another shape (``"5-1"``, ``"May 1"``), a day that does not exist (``"05-32"``)
    or a non-string; callers turn it into an error that names their setting.
    """
    if not isinstance(text, str) or not re.fullmatch(r"\d\d-\d\d", text):
        raise ValueError(text)
    pd.Timestamp(f"2000-{text}")  # a real day (leap year: 02-29 allowed); ValueError if not
    month, day = text.split("-")
    return int(month) * 100 + int(day)


def reference_date(text: object) -> dt.date:
    """The day ``MM-DD`` of :data:`REFERENCE_YEAR`.

    Raises ``ValueError`` as :func:`month_day` does, and for ``02-29``, which is not a day
    of every season (a rule or a forecast date must be).
    """
    value = month_day(text)
    return dt.date(REFERENCE_YEAR, value // 100, value % 100)


def day_of_year(text: object) -> int:
    """The day of the year of ``MM-DD`` in :data:`REFERENCE_YEAR` (``"08-01"`` -> 213);
    ``02-29`` counts as ``02-28`` (59). ``ValueError`` as :func:`month_day`."""
    month_day(text)
    return reference_date("02-28" if text == "02-29" else text).timetuple().tm_yday
