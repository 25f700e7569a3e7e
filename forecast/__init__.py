"""Forecasting pipelines: evaluation (backtests), reporting and the command line."""

__all__: list[str] = []  # a folder of modules: import them by name
