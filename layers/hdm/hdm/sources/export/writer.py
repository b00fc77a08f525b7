"""Writing a bundle (docs/export-bundle.md): records line by line per object type, attachment bytes by sha256, and
the manifest last with every file's line count, size and digest. Used by ``python -m hdm_infra.export_bundle`` and
by tests; a producer in another tool writes the same layout."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Optional

from hdm.model import Record
from hdm.sources.export.bundle import FORMAT, MANIFEST
from hdm.sources.export.records import model_schema_version
from hdm.stage.base import encode_record_line


class BundleWriter:
    """Writes a bundle folder; also a BlobSink (``put_blob``), so a source's attachments stream into ``files/``."""

    def __init__(self, folder: str | Path, producer: dict[str, Any], description: Optional[str] = None,
                 format: str = FORMAT, manifest_extra: Optional[dict[str, Any]] = None):
        """``format``/``manifest_extra``: another bundle format on this layout (the Thread bundle) and the
        manifest fields of its own (``kind``, ``base``)."""
        self.folder = Path(folder)
        self.format = format
        self.manifest_extra = dict(manifest_extra or {})
        (self.folder / "files").mkdir(parents=True, exist_ok=True)
        self.producer = dict(producer)
        self.description = description
        self._out: dict[str, IO[bytes]] = {}
        self._stats: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, int] = {}

    def _file(self, object_type: str) -> IO[bytes]:
        f = self._out.get(object_type)
        if f is None:
            f = self._out[object_type] = open(self.folder / f"{object_type}.jsonl", "wb")
            self._stats[object_type] = {"lines": 0, "bytes": 0, "sha": hashlib.sha256()}
        return f

    def write_line(self, object_type: str, line: bytes, counts: bool = True) -> None:
        """One raw line (tests write broken ones with it); ``counts``: a record line the manifest counts."""
        f = self._file(object_type)
        st = self._stats[object_type]
        f.write(line)
        st["bytes"] += len(line)
        st["sha"].update(line)
        st["lines"] += 1 if counts and line.strip() else 0

    def add(self, record: Record) -> None:
        self.write_line(record.OBJECT.value, encode_record_line(record.to_dict()))

    def add_object(self, object_type: str, obj: dict[str, Any]) -> None:
        """One JSON object as a line (a format whose lines are not canonical records)."""
        self.write_line(object_type, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def add_all(self, records: Iterable[Record]) -> int:
        n = 0
        for r in records:
            self.add(r)
            n += 1
        return n

    def put_blob(self, chunks: Iterable[bytes]) -> tuple[str, str, int]:
        """Stage bytes under ``files/<sha256>``; returns (bundle path, sha256, size)."""
        digest = hashlib.sha256()
        size = 0
        tmp = self.folder / "files" / f".tmp-{os.getpid()}-{len(self._blobs)}"
        with open(tmp, "wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        sha = digest.hexdigest()
        os.replace(tmp, self.folder / "files" / sha)
        self._blobs[sha] = size
        return f"files/{sha}", sha, size

    def close(self) -> dict[str, Any]:
        """Close the files and write ``manifest.json``; returns the manifest."""
        for f in self._out.values():
            f.close()
        manifest: dict[str, Any] = {
            "format": self.format, "format_version": 1, **self.manifest_extra,
            "model_schema_version": model_schema_version(), "producer": self.producer,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": [{"path": f"{t}.jsonl", "object_type": t, "lines": s["lines"], "bytes": s["bytes"],
                       "sha256": s["sha"].hexdigest()} for t, s in sorted(self._stats.items())],
            "attachments": [{"path": f"files/{sha}", "bytes": n, "sha256": sha}
                            for sha, n in sorted(self._blobs.items())],
        }
        if self.description:
            manifest["description"] = self.description
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return manifest


def zip_bundle(folder: str | Path, zip_path: str | Path) -> Path:
    """The bundle folder as a zip (files at the top; JSONL deflated, attachments stored as they are)."""
    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                rel = p.relative_to(folder).as_posix()
                z.write(p, rel, compress_type=zipfile.ZIP_STORED if rel.startswith("files/") else zipfile.ZIP_DEFLATED)
    return zip_path
