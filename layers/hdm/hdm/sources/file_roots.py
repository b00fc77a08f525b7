"""Local files a source may read: only inside the folders the operator configured, never where a row says.

A source database names where attachment bytes live (osTicket: ``file.key`` under the upload folder, or an
absolute path in ``file.attrs``). Those values come from the customer's data, so they are never trusted as
paths: :meth:`FileRoots.open` resolves the candidate (``realpath``: ``..`` and every symlink followed), accepts
it only when it stays inside one configured root, opens it without following a last-moment symlink, checks that
it is a regular file and, on Linux, that the file actually opened still lies inside that root. Anything else
raises :class:`PathRefused` with the reason; nothing is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from typing import IO, Optional


class PathRefused(Exception):
    """The path a source row names is outside the configured roots (or not a plain file there)."""


class FileRoots:
    """The configured folders (resolved once); ``open`` refuses anything that is not a regular file inside one."""

    def __init__(self, roots: Iterable[Optional[str]]):
        seen: dict[str, None] = {}
        for root in roots:
            if root:
                seen.setdefault(os.path.realpath(root), None)
        self.roots = tuple(seen)

    def __bool__(self) -> bool:
        return bool(self.roots)

    def _inside(self, path: str) -> Optional[str]:
        for root in self.roots:
            if path != root and os.path.commonpath([path, root]) == root:
                return root
        return None

    def candidates(self, claimed: str) -> Iterator[str]:
        """Where ``claimed`` (a path from a source row) may be: itself when absolute, else under each root."""
        if "\x00" in claimed:
            raise PathRefused("the path holds a NUL byte")
        if os.path.isabs(claimed):
            yield claimed
        else:
            for root in self.roots:
                yield os.path.join(root, claimed)

    def resolve(self, claimed: str) -> str:
        """The real path of ``claimed`` inside a root; :class:`PathRefused` when it resolves outside every root."""
        if not self.roots:
            raise PathRefused("no attachment folder is configured, so no file named by the source is read")
        if not claimed:
            raise PathRefused("the source names no path")
        inside = [real for real in map(os.path.realpath, self.candidates(claimed)) if self._inside(real) is not None]
        if inside:
            return next((real for real in inside if os.path.lexists(real)), inside[0])
        raise PathRefused(f"path {claimed!r} resolves outside the configured attachment folders")

    def open(self, claimed: str) -> IO[bytes]:
        """Open ``claimed`` for reading when it is a regular file inside a root (FileNotFoundError when absent)."""
        real = self.resolve(claimed)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(real, flags)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise PathRefused(f"path {claimed!r} cannot be opened safely: {exc.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PathRefused(f"path {claimed!r} is not a regular file")
            opened = _opened_path(fd)
            if opened is not None and self._inside(opened) is None:  # a folder was swapped for a link meanwhile
                raise PathRefused(f"path {claimed!r} changed while it was opened")
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise


def _opened_path(fd: int) -> Optional[str]:
    """The path the kernel has for an open file (Linux ``/proc/self/fd``); None where that is not available."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
