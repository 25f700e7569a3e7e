"""Evaluation: year-grouped splitters, metrics, the backtest engine, acre-weighted
aggregation to states and the nation, and the comparison with USDA's forecasts."""

__all__: list[str] = []  # a folder of modules: import them by name
