"""Estimators following the scikit-learn contract: baselines and trends, the trend-residual
meta-estimator, and conformal interval half-widths.

Names are imported on first use (``cropcast.models.RegionTrend``, ``from cropcast.models
import RegionTrend``), so ``import cropcast.models`` itself loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "RecentMean",
    "RegionMean",
    "RegionTrend",
    "TrendResidualRegressor",
    "averaged",
    "conformal_halfwidth",
    "default_regressor",
]

_HOMES = {
    "RecentMean": "cropcast.models.baselines",
    "RegionMean": "cropcast.models.baselines",
    "RegionTrend": "cropcast.models.baselines",
    "TrendResidualRegressor": "cropcast.models.residual",
    "averaged": "cropcast.models.residual",
    "default_regressor": "cropcast.models.residual",
    "conformal_halfwidth": "cropcast.models.intervals",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cropcast.models' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
