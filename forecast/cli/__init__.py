"""The ``cropcast`` command line: the entry point (:mod:`~cropcast.forecast.cli.main`),
one module per command (``world``, ``data``, ``features``, ``backtest``, ``demo``), each
with a plain ``run(cfg)`` that tests call, and :mod:`~cropcast.forecast.cli.compose`,
which builds the objects the configs describe."""

__all__: list[str] = []  # a folder of modules: import them by name
