"""Making a file read-only the way an operator's mistake or a failing disk would, even for
root (who ignores permission bits): the immutable attribute."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["read_only_file"]


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """`path` cannot be opened for writing until the block ends."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        path.chmod(mode)
