"""The feature store's long schema: one row per region, season, variable, statistic, date.

Every unit of feature work (a composite, a weather year, a region time series) produces
rows of these columns, and the store keeps them as Parquet of :data:`LONG_SCHEMA`:

``region_id`` (str), ``year`` (int), ``product`` (str), ``variable`` (e.g. ``NDVI``,
``tmax``), ``stat`` (``mean``, ``weighted_mean``, ``std``, ``p10``, ``p50``, ``p90``,
``valid_fraction``; ``value`` for daily weather and region time series), ``date`` (the
composite's window start, or the day), ``obs_date`` (when the value was known: window end
plus the product's lag), ``value`` (float, NaN when missing), ``n_valid`` (valid pixels or
weather cells behind the value) and ``reason`` (why a value is missing; empty otherwise).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["LONG_COLUMNS", "LONG_SCHEMA"]

LONG_COLUMNS = ("region_id", "year", "product", "variable", "stat", "date", "obs_date",
                "value", "n_valid", "reason")
LONG_SCHEMA = pa.schema([
    ("region_id", pa.string()), ("year", pa.int64()), ("product", pa.string()),
    ("variable", pa.string()), ("stat", pa.string()), ("date", pa.date32()),
    ("obs_date", pa.date32()), ("value", pa.float64()), ("n_valid", pa.float64()),
    ("reason", pa.string()),
])
