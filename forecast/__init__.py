"""Pipelines, the command line, the simulated world, backtests and the weekly job."""
