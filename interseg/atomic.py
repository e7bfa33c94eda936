"""Writing a file atomically: to a temporary name beside it, then renamed over it.

Readers (another process, a restart after a crash) see the old file or the whole new one, never a
half-written one; a failed write leaves the old file as it was and no temporary behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` to a temporary file beside ``path`` (same suffix, so that writers choosing a format
    by the name still do), then rename it over ``path``; returns ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
