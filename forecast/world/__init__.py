"""The simulated corn-belt world: real counties, synthetic seasons, real file formats."""

from forecast.world.generate import MANIFEST, World, build_world
from forecast.world.spec import WorldSpec

__all__ = ["MANIFEST", "World", "WorldSpec", "build_world"]
