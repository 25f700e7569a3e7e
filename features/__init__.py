"""Feature builders: sources, zonal statistics, season curves, weather indices."""
