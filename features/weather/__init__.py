"""Weather features: daily region weather, degree days, phenology, soil water, season sums.

- :mod:`~cropcast.features.weather.daily`: a season of gridded daily weather averaged over
  each region's cropland, in the feature store's long schema;
- :mod:`~cropcast.features.weather.phenology`: corn degree days and the planting day;
- :mod:`~cropcast.features.weather.soil_water`: the FAO-56 root-zone bucket;
- :mod:`~cropcast.features.weather.indices`: daily indices and their sums over calendar
  periods and crop phases in thermal time;
- :mod:`~cropcast.features.weather.columns`: the as-of matrix's weather columns.
"""

__all__: list[str] = []  # a folder of modules: import them by name
