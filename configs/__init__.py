"""The Hydra configs of the ``cropcast`` commands (``pkg://cropcast.configs``): one root
config per command and one folder per config group; YAML only."""

__all__: list[str] = []
