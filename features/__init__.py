"""Features: from the data users have to region-season feature matrices.

``sources`` reads and validates what users have; ``world`` generates a simulated world in
the same formats; ``zonal`` aggregates rasters over regions; ``cropmask`` weights pixels by
the in-season crop fraction; ``imagery`` and ``weather`` compute features; ``store`` keeps
them incrementally and cuts as-of matrices that cannot see the future.
"""

__all__: list[str] = []  # a folder of modules: import them by name
