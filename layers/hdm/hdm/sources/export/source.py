"""``ExportSource``: reads a staged export bundle (docs/export-bundle.md) behind hdm's Source interface.

discover: the staged bundle is checked in full (manifest schema, every file's bytes, digest and line count, every
line a record of its type) and its counts reported; plan: each JSONL file cut at line ends into :class:`FileSlice`
chunks of ``chunk_rows`` records; extract: the lines of one slice as canonical records, attachment bytes copied from
the bundle's ``files/`` into the stage's blobs. Only the stage is read once the bundle is staged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from hdm.model import Attachment, Record
from hdm.sources.base import BlobSink, ChunkSpec, Discovery, FileSlice, SourceBase, plan_line_slices, read_lines
from hdm.sources.export.bundle import (
    BLOCK,
    EXPORT,
    MANIFEST,
    BundleProfile,
    FolderBundle,
    Manifest,
    StagedBundle,
    ZipBundle,
    blob_name,
    copy_to_stage,
    open_local,
    read_manifest,
    staged_prefix,
    validate,
)
from hdm.sources.export.errors import ExportBundleError
from hdm.sources.export.records import LineRefused, parse_line

log = logging.getLogger(__name__)
SYSTEM = "export"


class ExportSource(SourceBase):
    """A subclass reads another bundle format on the same machinery: its own ``system`` and ``profile``
    (:class:`BundleProfile`), and :meth:`records` (one line to its canonical records)."""

    system = SYSTEM
    profile: BundleProfile = EXPORT

    def __init__(self, path: Optional[str] = None, staged: Optional[str] = None):
        self.path = path
        self.staged = staged.rstrip("/") + "/" if staged else None
        self.last_stats: Optional[dict[str, Any]] = None
        self._checked: dict[str, tuple[Manifest, dict[str, Any]]] = {}  # staged prefix → what its check found
        self._path_prefix: Optional[str] = None  # where the bundle at ``path`` is (or would be) staged

    # -- staging an uploaded bundle ----------------------------------------------------------------

    def stage_input(self, stage: Any, path: str | Path) -> list[str]:
        """Check the bundle at ``path`` in full, then copy it under ``inputs/bundle-<id>/``; the stage keys (the
        manifest's first). A bundle with any problem is refused before anything is copied."""
        with opened_bundle(path) as local:
            manifest, found = self._validate(local)  # refused before anything is copied
            keys = copy_to_stage(local, stage, staged_prefix(manifest), self.profile)
        self._checked[staged_prefix(manifest)] = (manifest, found)
        return keys

    def _bundle(self) -> StagedBundle:
        stage = self.require_stage()
        if self.staged is None:
            if not self.path:
                raise ExportBundleError("the config names no bundle (path or staged)")
            self.staged = self.stage_input(stage, self.path)[0].removesuffix(MANIFEST)
        if not stage.exists(self.staged + MANIFEST):
            raise ExportBundleError(f"no bundle staged under {self.staged} (stage it with `hdm stage-input`)")
        return StagedBundle(stage, self.staged)

    # -- Source interface ---------------------------------------------------------------------------

    def discover(self) -> Discovery:
        if self.stage is None and self.path:  # `hdm discover`: check the bundle where it is, stage nothing
            return self._discovery(self._check_local(), "(not staged)")
        bundle = self._bundle()
        if bundle.prefix not in self._checked:  # staged earlier (or elsewhere): check the staged copy as a whole
            self._checked[bundle.prefix] = self._validate(bundle)
        return self._discovery(self._checked[bundle.prefix], bundle.prefix)

    def _check_local(self) -> tuple[Manifest, dict[str, Any]]:
        with opened_bundle(self.path or "") as local:
            return self._validate(local)

    def _validate(self, files: Any) -> tuple[Manifest, dict[str, Any]]:
        """The whole check of a bundle (a subclass adds its cross-file checks here)."""
        return validate(files, full=True, profile=self.profile)

    def _discovery(self, checked: tuple[Manifest, dict[str, Any]], where: str) -> Discovery:
        manifest, found = checked
        counts = manifest.counts
        return Discovery(self.system, f"{self.profile.format}/{manifest.data['format_version']}", counts, {
            "bundle_id": manifest.bundle_id, "staged": where, "producer": manifest.data["producer"],
            "created_at": manifest.data["created_at"], "model_schema_version": manifest.data["model_schema_version"],
            "files": {e.path: {"object_type": e.object_type, "lines": e.lines, "bytes": e.bytes}
                      for e in manifest.files},
            "attachment_files": len(manifest.attachments),
            "records_flagged_on_read": sum(f["flagged"] for f in found.values()),
        })

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        """One chunk per ``chunk_rows`` record lines of each file, cut at line ends (every line in one chunk)."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        bundle = self._bundle()
        checked = self._checked.get(bundle.prefix)
        manifest = checked[0] if checked else read_manifest(bundle, self.profile)
        specs: list[ChunkSpec] = []
        for entry in manifest.files:
            if entry.lines == 0:
                continue
            key = bundle.key(entry.path)
            cuts = plan_line_slices(bundle.stage, key, chunk_rows)
            starts = _line_numbers(bundle, entry.path, [c.offset for c, _ in cuts])
            for (cut, n), first in zip(cuts, starts, strict=True):
                specs.append(ChunkSpec(entry.object_type, {**cut.to_dict(), "first_line": first}, n))
        return specs

    def _configured_prefix(self) -> Optional[str]:
        """The stage folder of the bundle the config names now (a path's bundle: by its manifest's digest)."""
        if self.staged is None and self.path:
            if self._path_prefix is None:
                with opened_bundle(self.path) as local:
                    self._path_prefix = staged_prefix(read_manifest(local, self.profile))
            return self._path_prefix
        return self.staged

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        cut = chunk.cursor_as(FileSlice)
        stage = self.require_stage()
        prefix, _, name = cut.stage_key.rpartition("/")
        configured = self._configured_prefix()
        if configured is not None and configured != prefix + "/":  # a resumed run never mixes two bundles
            self._changed_bundle(stage, prefix + "/", configured)
            raise ExportBundleError(f"this migration was planned on the bundle staged under {prefix}/, but the config "
                                    f"now names {'the bundle at its path' if self.path else configured}, another one: "
                                    "restore that bundle, or migrate the new one under a new migration id")
        bundle = StagedBundle(stage, prefix)
        line_no = int(chunk.cursor.get("first_line") or 1)
        stats = self.last_stats = {"chunk_id": chunk.chunk_id, "file": name, "records": 0, "flagged": 0,
                                   "attachments_staged": 0, "bytes_staged": 0}
        for _offset, raw in read_lines(stage, cut):
            here, line_no = line_no, line_no + 1
            if not raw.strip():
                continue
            try:
                recs = self.records(raw, chunk, bundle)
            except LineRefused as exc:  # validated at discover: the staged file changed since
                raise ExportBundleError(str(exc), file=name, line=here) from None
            for rec in recs:
                if isinstance(rec, Attachment):
                    self._stage_bytes(bundle, rec, blobs, stats)
                stats["records"] += 1
                stats["flagged"] += bool(rec.flags)
                yield rec

    def records(self, raw: bytes, chunk: ChunkSpec, bundle: StagedBundle) -> list[Record]:
        """The canonical records of one line of the chunk's file (:class:`LineRefused` if none)."""
        return [parse_line(raw, chunk.object_type)]

    def _changed_bundle(self, stage: Any, planned: str, configured: str) -> None:
        """Called when the config names another bundle than the one the chunks were cut from, before the refusal
        (a subclass explains a declared delta bundle here)."""

    def _stage_bytes(self, bundle: StagedBundle, att: Attachment, blobs: BlobSink | None,
                     stats: dict[str, Any]) -> None:
        if att.blob is None:
            return  # the producer had no bytes (it says why in its own flags)
        path = blob_name(att.blob)
        att.blob = None
        if path is None:
            att.flag("attachment_path_refused", "blob must name files/<sha256> of the bundle; not read", field="blob",
                     severity="error")
            return
        if blobs is None:
            return
        if not bundle.exists(path):
            att.flag("missing_file", f"{path} is not in the bundle", field="blob", severity="error")
            return
        with bundle.open(path) as f:
            key, sha, size = blobs.put_blob(iter(lambda: f.read(BLOCK), b""))
        if att.sha256 and att.sha256 != sha:
            att.flag("checksum_mismatch", "the bytes' sha256 differs from the record's", field="sha256",
                     severity="error")
        if att.size is not None and att.size != size:
            att.flag("size_mismatch", f"read {size} bytes, the record says {att.size}", field="size", severity="error")
        att.blob, att.sha256, att.size = key, sha, size
        stats["attachments_staged"] += 1
        stats["bytes_staged"] += size

    def close(self) -> None:
        pass


@contextmanager
def opened_bundle(path: str | Path) -> Iterator[FolderBundle | ZipBundle]:
    local = open_local(path)
    try:
        yield local
    finally:
        if isinstance(local, ZipBundle):
            local.close()


def _line_numbers(bundle: StagedBundle, name: str, offsets: list[int]) -> list[int]:
    """The 1-based line number at each byte offset (ascending) of a staged file, counted in one pass."""
    out: list[int] = []
    pending = iter(offsets)
    target = next(pending, None)
    pos = newlines = 0
    with bundle.open(name) as f:
        while target is not None:
            block = f.read(BLOCK)
            at = 0
            while target is not None and target - pos <= len(block):
                upto = target - pos
                newlines += block.count(b"\n", at, upto)
                at = upto
                out.append(newlines + 1)
                target = next(pending, None)
            if not block:
                break
            newlines += block.count(b"\n", at)
            pos += len(block)
    while target is not None:
        out.append(newlines + 1)
        target = next(pending, None)
    return out
