"""The stage in a local directory (the embedded engine's default)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from hdm.localfiles import FILE_MODE, private_dir
from hdm.stage.base import LimitedReader, Stage, StageKeyMissing


class LocalStage(Stage):
    """Files mode 0600, folders 0700: the stage holds extracted tickets (hdm.localfiles)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = private_dir(root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad stage key: {key!r}")
        return self.root / key

    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        path = self._path(key)
        private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as f:
                yield f
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        try:
            f = open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise StageKeyMissing(key) from exc
        with f:
            yield f

    @contextmanager
    def open_range(self, key: str, offset: int, length: int) -> Iterator[IO[bytes]]:
        with self.open_read(key) as f:
            f.seek(offset)
            yield LimitedReader(f, length)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root
        out = []
        start = self._path(prefix.rstrip("/")) if prefix else base
        # "extract/" lists one folder; "extract" must also find "extract-stats/…" (as S3 prefixes do)
        search = start if (not prefix or prefix.endswith("/")) and start.is_dir() else start.parent
        if not search.exists():
            return []
        for dirpath, _dirs, files in os.walk(search):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), base).replace(os.sep, "/")
                if rel.startswith(prefix):
                    out.append(rel)
        return sorted(out)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def _rename(self, src: str, dst: str) -> None:
        dst_path = self._path(dst)
        private_dir(dst_path.parent)
        os.replace(self._path(src), dst_path)
