"""Readers of the data users have, validated at the door.

- :mod:`~cropcast.features.sources.quickstats`: USDA NASS Quick Stats (web export CSV,
  API CSV/JSON, bulk TSV.gz); :mod:`~cropcast.features.sources.nass_api` downloads an API
  query; :mod:`~cropcast.features.sources.revisions` compares two vintages;
- :mod:`~cropcast.features.sources.tables`: generic yields, region time series and
  precomputed feature tables (CSV or Parquet);
- :mod:`~cropcast.features.sources.boundaries`: region polygons (shapefile, GeoPackage,
  GeoJSON, GeoParquet);
- :mod:`~cropcast.features.sources.products` and :mod:`~cropcast.features.sources.imagery`:
  imagery products and their catalogs (folder, listing, STAC) and reads;
- :mod:`~cropcast.features.sources.weather`: gridded daily weather (gridMET and
  look-alikes);
- :mod:`~cropcast.features.sources.catalog`: a data config's sources together, checked by
  ``cropcast data``, and the simulated world read through its manifest.

Every reader takes explicit paths (nothing is read outside them) and raises
:class:`cropcast.errors.CropcastError` naming the file, the row or column, the bad value
and what was expected.
"""

__all__: list[str] = []  # a folder of modules: import them by name
