"""The zonal engine: statistics of rasters over regions at the speed of reading them.

See :mod:`cropcast.features.zonal.engine` for the statistics and
:mod:`cropcast.features.zonal.labels` for the pixel rules (pixel centre, exact coverage
fractions) and their on-disk cache.
"""

from cropcast.features.zonal.engine import NO_PIXEL, NO_VALID, STATS, Accumulator, zonal_stats
from cropcast.features.zonal.labels import Labels, region_labels

__all__ = ["NO_PIXEL", "NO_VALID", "STATS", "Accumulator", "Labels", "region_labels",
           "zonal_stats"]
