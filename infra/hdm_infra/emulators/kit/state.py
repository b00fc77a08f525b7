"""An emulator's state folder: mode 0700, every file in it 0600, and the admin token it keeps."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ADMIN_TOKEN_FILE = "admin-token"


def private_state_dir(state_dir: Path) -> Path:
    """The state folder, created if needed and tightened to mode 0700 (its data and secrets are the user's only)."""
    state_dir = Path(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    return state_dir


def write_private(path: Path, text: str) -> None:
    """Write ``text`` with mode 0600 (an existing file is truncated and tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def touch_private(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing (e.g. before SQLite opens it) and tighten it."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return path


def load_admin_token(state_dir: Path, name: str = ADMIN_TOKEN_FILE) -> str:
    """The admin API's token: random on first start, kept in <state_dir>/<name> (mode 0600), stable afterwards."""
    path = Path(state_dir) / name
    if path.exists():
        os.chmod(path, 0o600)
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    write_private(path, token)
    return token
