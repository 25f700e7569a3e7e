"""Days of the year written ``MM-DD``, as every config of seasons, periods and rules has them."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["month_day"]


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
