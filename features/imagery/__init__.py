"""Imagery features: composites aggregated over regions, season curves and their features.

:mod:`~cropcast.features.imagery.composites` turns one composite (every tile of a date)
into region statistics of the feature store's long schema;
:mod:`~cropcast.features.imagery.curves` turns those per-date values into season curves on
a composite calendar and their features (integral, peak, green-up, anomalies).
"""

__all__: list[str] = []  # a folder of modules: import them by name
