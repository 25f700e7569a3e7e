"""The simulated corn-belt world: real counties, synthetic seasons, real file formats."""

from cropcast.features.world.generate import World, build_world
from cropcast.features.world.spec import WorldSpec

__all__ = ["World", "WorldSpec", "build_world"]
