"""Where a download is assembled before it becomes the model's directory.

A model is fetched into a hidden sibling of its destination (``.{name}.partial``, on the
same filesystem, so a rename moves it) and takes the destination's name only once it is
complete and verified. A crash at any point therefore leaves either no model directory
or a complete one, never a partial one that looks complete; the next attempt resumes in
the staging directory.

Replacing an existing model takes two renames (old aside to ``.{name}.old``, new into
place); a crash between them leaves no model directory, and the complete staging copy
is promoted by the next attempt.

All functions block (file system calls); async callers run them in a thread.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def staging_dir(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


def retired_dir(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.old")


def prepare(dest: Path) -> Path:
    """The staging directory for ``dest``, created if missing; kept if it exists."""
    staging = staging_dir(dest)
    staging.mkdir(parents=True, exist_ok=True)
    return staging


def promote(dest: Path) -> None:
    """Make the staging directory ``dest``, replacing what was there."""
    retired = retired_dir(dest)
    shutil.rmtree(retired, ignore_errors=True)
    if dest.exists():
        dest.rename(retired)
    staging_dir(dest).rename(dest)
    _sync_directory(dest.parent)
    shutil.rmtree(retired, ignore_errors=True)


def discard(dest: Path) -> None:
    """Remove ``dest`` and whatever a download of it left beside it."""
    for path in (dest, staging_dir(dest), retired_dir(dest)):
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)


def _sync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable before the old copy is deleted."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
