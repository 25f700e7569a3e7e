"""Reporting: plots of backtests, a backtest's results folder, and experiment tracking
(:mod:`~cropcast.forecast.reporting.tracking`, the one module that imports mlflow)."""

__all__: list[str] = []  # a folder of modules: import them by name
