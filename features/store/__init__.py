"""The feature store: per-date region statistics as Parquet, its one build path, and the
as-of feature matrices cut from it.

- :mod:`~cropcast.features.store.store`: the ``FeatureStore``, the folder of long Parquet
  parts and the manifest vouching for them;
- :mod:`~cropcast.features.store.build`: ``build_store``, which computes the units the
  store lacks (every command that needs features goes through it);
- :mod:`~cropcast.features.store.matrix`: ``MatrixSpec`` and ``as_of_matrix``.
"""

__all__: list[str] = []  # a folder of modules: import them by name
