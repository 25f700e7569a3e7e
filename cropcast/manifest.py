"""The simulated world's manifest: its file name and the roles of the files it lists.

The world (:mod:`cropcast.features.world`) writes ``manifest.json``; the data catalog
(:func:`cropcast.features.sources.catalog.catalog_from_manifest`) reads it. Both name the
roles from here, so neither depends on the other.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MANIFEST", "Role"]

MANIFEST = "manifest.json"


class Role(StrEnum):
    """What a file of the world is for (the ``role`` of each manifest entry)."""

    BOUNDARIES = "boundaries"
    CROPMASK = "cropmask"
    WEATHER = "weather"
    IMAGERY = "imagery"
    IMAGERY_CATALOG = "imagery_catalog"
    YIELDS = "yields"
    TRUTH = "truth"
