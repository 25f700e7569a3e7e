"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["current_umask", "write_atomic", "write_parquet_atomic", "write_text_atomic"]


def current_umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[str], object], fsync: bool = False) -> Path:
    """Write ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    path : Path
        The file to (re)place; its folder is created if needed.
    write : callable
        ``write(temporary_path)`` writes the content; whatever it raises propagates, and
        the temporary file is removed.
    fsync : bool
        Flush the file to disk before the rename.

    Returns
    -------
    Path
        ``path``. The temporary file is named ``.<name>.<random>`` in the same folder, so
        a killed run can leave only such hidden files behind, never a half-written
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        if fsync:
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600; honour the umask
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, flushed to disk (:func:`write_atomic`)."""
    return write_atomic(path, lambda temporary: Path(temporary).write_text(text, "utf-8"),
                        fsync=True)


def write_parquet_atomic(frame, path: Path) -> Path:
    """Write a DataFrame as Parquet (no index) to ``path`` atomically (:func:`write_atomic`)."""
    return write_atomic(path, lambda temporary: frame.to_parquet(temporary, index=False))
