"""Estimators following the scikit-learn contract (baselines, trend, residual models).

Names are imported on first use (``models.RegionTrend``, ``from models import ...``), so
``import models`` itself loads nothing heavy. The interval bounds function is
``models.intervals.intervals`` (the package attribute ``intervals`` is that module).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "RecentMean",
    "RegionMean",
    "RegionTrend",
    "TrendResidualRegressor",
    "conformal_halfwidth",
    "default_regressor",
]

_HOMES = {
    "RecentMean": "models.baselines",
    "RegionMean": "models.baselines",
    "RegionTrend": "models.baselines",
    "TrendResidualRegressor": "models.residual",
    "default_regressor": "models.residual",
    "conformal_halfwidth": "models.intervals",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
