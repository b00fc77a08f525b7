"""The source interface: discover what is there, plan chunks, extract one chunk.

A chunk is one object type plus an opaque, JSON-serialisable ``cursor`` that only the source that planned
it interprets (a key range, a page cursor, a time window, a slice of a staged export file...). The plan is
staged as JSON for the Distributed Map, so a cursor holds plain JSON values only. The typed cursors below
are helpers for the common kinds; a source may use its own ``kind``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, TypeVar

from hdm.model import Record

# -- cursors ----------------------------------------------------------------------------------------

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class CursorError(ValueError):
    """A chunk's cursor is missing, malformed, or of a kind the reader does not expect."""


@dataclass(frozen=True)
class KeyRange:
    """Inclusive ``[lo, hi]`` range of integer source ids."""

    lo: int
    hi: int
    KIND: ClassVar[str] = "key_range"

    def __post_init__(self) -> None:
        if self.lo > self.hi:
            raise CursorError(f"key range lo {self.lo} is above hi {self.hi}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KeyRange:
        return cls(int(d["lo"]), int(d["hi"]))

    def label(self) -> str:
        return f"{self.lo:010d}-{self.hi:010d}"  # the chunk ids of every run before cursors existed


@dataclass(frozen=True)
class PageCursor:
    """A REST listing: where the page walk starts (``None``: the first page) and how far it goes."""

    start: str | None = None
    page_size: int | None = None
    max_pages: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    KIND: ClassVar[str] = "page"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, "start": self.start, "page_size": self.page_size, "max_pages": self.max_pages,
                "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PageCursor:
        return cls(d.get("start"), _opt_int(d.get("page_size")), _opt_int(d.get("max_pages")),
                   dict(d.get("params") or {}))


@dataclass(frozen=True)
class TimeWindow:
    """Records changed in ``[start, end)``, ISO-8601 strings (timezone included)."""

    start: str
    end: str
    KIND: ClassVar[str] = "time_window"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimeWindow:
        return cls(str(d["start"]), str(d["end"]))


@dataclass(frozen=True)
class FileSlice:
    """Bytes ``[offset, offset + length)`` of a staged file (see :func:`plan_line_slices`, :func:`read_lines`)."""

    stage_key: str
    offset: int
    length: int
    KIND: ClassVar[str] = "file_slice"

    def __post_init__(self) -> None:
        if self.offset < 0 or self.length < 0:
            raise CursorError(f"file slice of {self.stage_key!r}: negative offset or length")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.KIND, "stage_key": self.stage_key, "offset": self.offset, "length": self.length}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileSlice:
        return cls(str(d["stage_key"]), int(d["offset"]), int(d["length"]))


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


Cursor = KeyRange | PageCursor | TimeWindow | FileSlice
CURSOR_KINDS: dict[str, type] = {c.KIND: c for c in (KeyRange, PageCursor, TimeWindow, FileSlice)}
C = TypeVar("C", KeyRange, PageCursor, TimeWindow, FileSlice)


def _canonical(cursor: dict[str, Any]) -> str:
    try:
        return json.dumps(cursor, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CursorError(f"a chunk cursor must be plain JSON: {exc}") from None


# -- chunks -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChunkSpec:
    """One object type and an opaque cursor, small enough for one Lambda invocation.

    ``chunk_id`` names the chunk's stage keys: stable for the same cursor, safe in a key (letters, digits,
    ``.``, ``_``, ``-``). A key range keeps the ids of earlier runs (``ticket-0000000001-0000000500``), so a
    resumed migration finds its finished chunks; other kinds get a digest of the cursor unless the source names
    the chunk itself.
    """

    object_type: str
    cursor: dict[str, Any]
    estimated_rows: int = 0
    chunk_id: str = ""

    def __post_init__(self) -> None:
        cursor = self.cursor.to_dict() if hasattr(self.cursor, "to_dict") else self.cursor
        if not isinstance(cursor, dict) or not isinstance(cursor.get("kind"), str):
            raise CursorError(f"chunk of {self.object_type!r}: the cursor must be a dict with a 'kind'")
        canonical = _canonical(cursor)
        object.__setattr__(self, "cursor", json.loads(canonical))  # a private, plain-JSON copy
        if not self.chunk_id:
            if cursor["kind"] == KeyRange.KIND:
                try:
                    suffix = KeyRange.from_dict(cursor).label()
                except (KeyError, TypeError, ValueError) as exc:
                    raise CursorError(f"chunk of {self.object_type!r}: malformed key_range cursor ({exc})") from None
            else:
                suffix = f"{cursor['kind']}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"
            object.__setattr__(self, "chunk_id", f"{self.object_type}-{suffix}")
        if not _SAFE_ID.match(self.chunk_id):
            raise CursorError(f"chunk id {self.chunk_id!r} is not safe in a stage key")

    def __hash__(self) -> int:  # the cursor is a dict; the chunk id stands for it
        return hash((self.object_type, self.chunk_id))

    @classmethod
    def key_range(cls, object_type: str, lo: int, hi: int, estimated_rows: int = 0) -> ChunkSpec:
        return cls(object_type, KeyRange(int(lo), int(hi)).to_dict(), int(estimated_rows))

    @property
    def kind(self) -> str:
        return self.cursor["kind"]

    def cursor_as(self, cls: type[C]) -> C:
        """The cursor as the typed helper ``cls``; :class:`CursorError` when it is another kind."""
        if self.kind != cls.KIND:
            raise CursorError(f"chunk {self.chunk_id}: expected a {cls.KIND} cursor, got {self.kind!r}")
        try:
            return cls.from_dict(self.cursor)
        except (KeyError, TypeError, ValueError) as exc:
            raise CursorError(f"chunk {self.chunk_id}: malformed {self.kind} cursor ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        return {"object_type": self.object_type, "chunk_id": self.chunk_id, "cursor": dict(self.cursor),
                "estimated_rows": self.estimated_rows}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChunkSpec:
        """From a staged plan item; an item of an earlier release (``lo``/``hi``) becomes a key range."""
        try:
            if "cursor" in d:
                return cls(d["object_type"], d["cursor"], int(d.get("estimated_rows", 0)), d.get("chunk_id") or "")
            if "lo" in d and "hi" in d:
                return cls.key_range(d["object_type"], d["lo"], d["hi"], d.get("estimated_rows", 0))
        except KeyError as exc:
            raise CursorError(f"chunk item without {exc}: {sorted(d)}") from None
        raise CursorError(f"chunk item has neither a cursor nor lo/hi: {sorted(d)}")


# -- what a source is given and gives ---------------------------------------------------------------

@dataclass
class Discovery:
    """What discovery found: counts per object type and the facts a scoping report needs."""

    system: str
    version: str | None
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class BlobSink(Protocol):
    """Where a source streams attachment bytes; returns (stage key, sha256 hex, size)."""

    def put_blob(self, chunks: Iterable[bytes]) -> tuple[str, str, int]: ...


class StagedFiles(Protocol):
    """The part of the stage a source reads and writes staged input files through (a stage may also offer
    ``open_range(key, offset, length)``, which :func:`read_lines` uses to read a slice's bytes only)."""

    def open_read(self, key: str) -> AbstractContextManager[IO[bytes]]: ...

    def open_write(self, key: str) -> AbstractContextManager[IO[bytes]]: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...


class Source(Protocol):
    system: str

    def discover(self) -> Discovery: ...

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        """Chunks for every object type this source extracts."""
        ...

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        """The canonical records of one chunk. Attachment bytes go to ``blobs`` when given."""
        ...

    def close(self) -> None: ...


class SourceBase:
    """Optional behaviour every source gets by inheriting; :class:`Source` is the required part.

    A source that reads an uploaded export overrides :meth:`stage_input` (copy the export into the stage,
    return its keys) and plans :class:`FileSlice` chunks over those keys; the pipeline hands it the stage
    through :meth:`attach_stage` before it plans or extracts.
    """

    system: str = "source"
    stage: StagedFiles | None = None

    def attach_stage(self, stage: StagedFiles) -> None:
        self.stage = stage

    def stage_input(self, stage: StagedFiles, path: str | Path) -> list[str]:
        """Copy an uploaded export at ``path`` into the stage; the stage keys it now lives under."""
        raise NotImplementedError(f"the {self.system} source reads its system directly; it takes no uploaded export")

    def require_stage(self) -> StagedFiles:
        if self.stage is None:
            raise RuntimeError(f"the {self.system} source reads staged files, but no stage was attached")
        return self.stage


def attach_stage(source: Any, stage: StagedFiles) -> None:
    """Give ``source`` the stage when it wants it (sources not built on :class:`SourceBase` are left alone)."""
    attach = getattr(source, "attach_stage", None)
    if callable(attach):
        attach(stage)


# -- staged export files ----------------------------------------------------------------------------

INPUT_PREFIX = "inputs/"
_COPY_BLOCK = 1024 * 1024


def input_key(name: str, sha256: str) -> str:
    """The stage key of an uploaded file: its content digest, then its name (unsafe characters replaced).

    The digest makes the key, and so the chunk ids of slices over it, change when the export changes: a
    resumed run never mistakes a slice of an earlier upload for one of the new file.
    """
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".") or "input"
    return f"{INPUT_PREFIX}{sha256[:16]}-{base}"


def put_input_file(stage: StagedFiles, path: str | Path) -> str:
    """Stream a local export file into the stage (once per content); returns its key (see :func:`input_key`)."""
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"no export file at {src}")
    digest = hashlib.sha256()
    with open(src, "rb") as f:
        while block := f.read(_COPY_BLOCK):
            digest.update(block)
    key = input_key(src.name, digest.hexdigest())
    if stage.exists(key):
        return key
    with open(src, "rb") as f, stage.open_write(key) as out:
        while block := f.read(_COPY_BLOCK):
            out.write(block)
    return key


def iter_lines(f: IO[bytes], skip: int = 0) -> Iterator[bytes]:
    """Lines (ending with their newline, the last one maybe without) of a forward-only stream, in blocks, after
    skipping ``skip`` bytes (read past: S3 bodies do not seek). Shared by every line-oriented reader."""
    while skip > 0:  # S3 bodies do not seek: read past the bytes before, a block at a time
        got = f.read(min(skip, _COPY_BLOCK))
        if not got:
            raise CursorError(f"the staged file is shorter than the offset ({skip} bytes missing)")
        skip -= len(got)
    rest = b""
    while block := f.read(_COPY_BLOCK):
        parts = (rest + block).split(b"\n")
        rest = parts.pop()
        for part in parts:
            yield part + b"\n"
    if rest:
        yield rest


def plan_line_slices(stage: StagedFiles, key: str, lines_per_slice: int) -> list[tuple[FileSlice, int]]:
    """Cut a staged line-oriented file (JSONL) at line ends into slices of ``lines_per_slice`` lines.

    Returns (slice, line count) pairs that together cover every byte of the file exactly once, so every
    line lands in exactly one chunk; blank lines count towards no slice but stay inside one.
    """
    if lines_per_slice < 1:
        raise ValueError("lines_per_slice must be at least 1")
    out: list[tuple[FileSlice, int]] = []
    start = pos = n = 0
    with stage.open_read(key) as f:
        for line in iter_lines(f):
            pos += len(line)
            if line.strip():
                n += 1
            if n == lines_per_slice:
                out.append((FileSlice(key, start, pos - start), n))
                start, n = pos, 0
    if pos > start:
        if n == 0 and out:  # trailing blank lines join the last slice
            last, count = out.pop()
            out.append((FileSlice(key, last.offset, pos - last.offset), count))
        else:
            out.append((FileSlice(key, start, pos - start), n))
    return out


def read_lines(stage: StagedFiles, cut: FileSlice) -> Iterator[tuple[int, bytes]]:
    """The lines of a slice with their byte offsets in the file.

    A stage that reads ranges (``open_range``: S3 asks for those bytes only) is read from the slice's offset to
    one byte past its end (that byte shows whether the slice ends at a line end); another is read from the
    start, past the bytes before."""
    end = cut.offset + cut.length
    pos = cut.offset
    if cut.length == 0:
        return
    open_range = getattr(stage, "open_range", None)
    if callable(open_range):
        opened, skip = open_range(cut.stage_key, cut.offset, cut.length + 1), 0
    else:
        opened, skip = stage.open_read(cut.stage_key), cut.offset
    with opened as f:
        lines = iter_lines(f, skip)
        while pos < end:
            line = next(lines, b"")
            if not line and pos == cut.offset:
                raise CursorError(f"{cut.stage_key}: the staged file is shorter than the offset {cut.offset}")
            if not line:
                raise CursorError(f"{cut.stage_key} ends at {pos}, inside the slice ending at {end}")
            if pos + len(line) > end:
                raise CursorError(f"{cut.stage_key}: the slice ending at {end} does not end at a line end")
            yield pos, line
            pos += len(line)
