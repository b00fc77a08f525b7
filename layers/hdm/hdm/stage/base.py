"""The stage port. Adapters implement five byte-level methods; everything else is shared here.

Layout of a migration's stage (keys are relative to the migration's root):
- ``plan.json`` — the chunk plan; ``manifests/<step>.json`` — Distributed Map item lists;
- ``extract/<object_type>/<chunk_id>.jsonl.gz`` — canonical records; ``extract-stats/...json``;
- ``transform/<phase>/<chunk_id>.jsonl.gz`` — destination-ready rows per load phase;
- ``results/<phase>/<chunk_id>.json`` — what loading one chunk did;
- ``blobs/<sha256[:2]>/<sha256>`` — attachment bytes, content-addressed (so shared files are staged once);
- ``reports/…`` — reconciliation JSON/HTML, scoping report, inventory, review pages.
"""

from __future__ import annotations

import abc
import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import msgspec

from hdm.model import encode_record

try:  # a faster JSON encoder for staged records; the standard library is the fallback
    import orjson as _orjson

    # datetimes and dataclasses go through default=str as they do with the standard library
    _ORJSON_OPTIONS = (_orjson.OPT_APPEND_NEWLINE | _orjson.OPT_NON_STR_KEYS | _orjson.OPT_PASSTHROUGH_DATETIME
                       | _orjson.OPT_PASSTHROUGH_DATACLASS)
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _orjson = None  # type: ignore[assignment]
    _ORJSON_OPTIONS = 0

BLOB_PREFIX = "blobs/"
RECORDS_GZIP_LEVEL = 3
_WRITE_BLOCK = 256 * 1024


def _stdlib_line(row: Any) -> bytes:
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")


def encode_record_line(row: Any) -> bytes:
    """One staged JSONL line (UTF-8, compact, newline-terminated); values JSON does not know become ``str``.

    A canonical record (a msgspec struct) is encoded straight from the struct, other rows (dicts) with orjson."""
    if isinstance(row, msgspec.Struct):
        try:
            return encode_record(row)
        except (TypeError, ValueError, msgspec.EncodeError):  # e.g. a lone surrogate: through its dict, the slow way
            row = row.to_dict()
    if _orjson is None:
        return _stdlib_line(row)
    try:
        return _orjson.dumps(row, default=str, option=_ORJSON_OPTIONS)
    except (TypeError, _orjson.JSONEncodeError):  # e.g. an int beyond 64 bits, a lone surrogate: the slow way
        return _stdlib_line(row)


class LimitedReader(io.RawIOBase):
    """At most ``limit`` bytes of ``stream`` (read-only, forward)."""

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream, self._left = stream, max(0, limit)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(want)
        self._left -= len(data)
        return data


class StageKeyMissing(KeyError):
    """A key that should be in the stage is not."""


class Stage(abc.ABC):
    """A key/value store of bytes with streaming reads and writes."""

    # -- what an adapter implements -----------------------------------------------------------
    @abc.abstractmethod
    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to write ``key``; the object appears whole only when the block exits cleanly."""

    @abc.abstractmethod
    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to read ``key``; raises StageKeyMissing when absent."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def uri(self, key: str) -> str:
        """Where a person (or Step Functions) finds ``key``: a path or an s3:// URI."""

    @contextmanager
    def open_range(self, key: str, offset: int, length: int) -> Iterator[IO[bytes]]:
        """A binary stream of at most ``length`` bytes of ``key`` from ``offset`` (fewer where the object ends).
        This default reads past the bytes before; a stage that can read a range directly overrides it."""
        with self.open_read(key) as f:
            skip = offset
            while skip > 0:
                got = f.read(min(skip, 1 << 20))
                if not got:
                    break
                skip -= len(got)
            yield LimitedReader(f, length if skip == 0 else 0)

    # -- shared on top of those ----------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as f:
            f.write(data)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()

    def put_json(self, key: str, obj: Any) -> None:
        self.put_bytes(key, json.dumps(obj, sort_keys=True, indent=1, default=str).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def write_records(self, key: str, rows: Iterable[dict[str, Any]]) -> int:
        """Write rows as gzip JSONL, streaming; returns the row count.

        One JSON encoding per row (orjson when installed, else the standard library), lines handed to gzip in
        blocks of about 256 KiB, compression level 3 (on canonical records about as small as level 5 and
        roughly twice as fast to write).
        """
        n = 0
        pending: list[bytes] = []
        size = 0
        with self.open_write(key) as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=RECORDS_GZIP_LEVEL, mtime=0) as gz:
                for row in rows:
                    line = encode_record_line(row)
                    pending.append(line)
                    size += len(line)
                    n += 1
                    if size >= _WRITE_BLOCK:
                        gz.write(b"".join(pending))
                        pending.clear()
                        size = 0
                if pending:
                    gz.write(b"".join(pending))
        return n

    def read_lines(self, key: str) -> Iterator[bytes]:
        """The raw JSON lines of a gzip JSONL object, one at a time (blank lines skipped)."""
        with self.open_read(key) as raw:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                for line in gz:
                    if line.strip():
                        yield line

    def read_records(self, key: str) -> Iterator[dict[str, Any]]:
        """Rows of a gzip JSONL object, one at a time."""
        with self.open_read(key) as raw:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                for line in io.TextIOWrapper(gz, encoding="utf-8"):
                    if line.strip():
                        yield json.loads(line)

    def put_blob(self, chunks: Iterable[bytes]) -> tuple[str, str, int]:
        """Stage attachment bytes content-addressed; returns (key, sha256 hex, size).

        Bytes are hashed while they stream into a temporary object, then kept under their hash, so the
        same file attached to many entries is stored once.
        """
        digest = hashlib.sha256()
        size = 0
        tmp_key = f"{BLOB_PREFIX}tmp/{id(digest):x}-{hashlib.sha1(repr(chunks).encode()).hexdigest()[:12]}"
        with self.open_write(tmp_key) as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
        sha = digest.hexdigest()
        final = blob_key(sha)
        if self.exists(final):
            self.delete(tmp_key)
        else:
            self._rename(tmp_key, final)
        return final, sha, size

    def _rename(self, src: str, dst: str) -> None:
        """Move an object; adapters with a cheaper native move override this."""
        with self.open_read(src) as fin, self.open_write(dst) as fout:
            while block := fin.read(1 << 20):
                fout.write(block)
        self.delete(src)

    @contextmanager
    def open_blob(self, key: str) -> Iterator[IO[bytes]]:
        with self.open_read(key) as f:
            yield f


def blob_key(sha256_hex: str) -> str:
    return f"{BLOB_PREFIX}{sha256_hex[:2]}/{sha256_hex}"
