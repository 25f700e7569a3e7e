"""Peak resident memory of the current process, for the benchmark scripts."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    ``ru_maxrss`` survives ``exec`` (a child process would report its parent's peak), so
    the kernel's per-address-space high-water mark ``VmHWM`` is read where it exists.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
