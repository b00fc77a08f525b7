"""Local outputs are private: files mode 0600, folders 0700.

What hdm writes on a machine (the crosswalk, state.json, the stage with extracted tickets, reports, the
thread review page with ticket bodies) is readable by its owner only. Modes are set explicitly, so they do not
depend on the caller's umask; the CLI also sets umask 077 for anything a library writes on its behalf.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


def private_dir(path: str | os.PathLike[str], *, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) with mode 0700. An existing ``path`` is tightened to 0700 when
    ``tighten`` (hdm's own folders); existing parents are left as they are."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:  # mkdir's mode is filtered by the umask
        os.chmod(created, DIR_MODE)
    if tighten and not missing:
        os.chmod(path, DIR_MODE)
    return path


def create_private_file(path: str | os.PathLike[str]) -> Path:
    """Make sure ``path`` exists with mode 0600 (also when it existed with a wider mode); contents untouched."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return Path(path)


def write_private(path: str | os.PathLike[str], data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` with mode 0600 (an existing file is truncated and tightened)."""
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(raw)
    finally:
        if fd >= 0:
            os.close(fd)
    return Path(path)


def private_umask() -> int:
    """Set umask 077 for this process (files 0600, folders 0700 by default); returns the previous one."""
    return os.umask(UMASK)
