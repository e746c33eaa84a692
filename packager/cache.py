"""Build caches under .build/: a tree is made in a temporary sibling and renamed into place whole.

Several builds (test workers, a `pulumi up` beside a test run) may make the same tree at once; the
rename is atomic, so a reader sees either no tree or a complete one, and the loser of a race keeps
the winner's. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged_tree(target: Path) -> Iterator[Path]:
    """A fresh staging folder beside `target`; renamed to `target` when the block succeeds, removed
    when it fails (or when another build put a complete `target` in place first)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it 0700
        try:
            os.rename(staging, target)
        except OSError:
            # Another build finished the same tree first; theirs is complete, so use it.
            if not target.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
