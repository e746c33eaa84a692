"""A lock between test processes (pytest-xdist workers, or two checkouts' runs) on one file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; the guarded steps there run unguarded, as before.
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_file`` (created if missing) for the body.

    Use it around one-time set-up that writes outside tmp_path (npm ci into tests/system/compat/node,
    pip into .build/deps) and re-check inside it whether another process already did the work.
    The kernel drops the lock when the holder exits, so a killed worker never leaves it stuck.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
