"""Attachment metadata of one ticket-id range, with the bytes streamed to a BlobSink when one is given.

Bytes come from ``file_chunk`` rows (backend 'D', read in chunk_id order, one chunk in memory at a time),
or from the filesystem backend ('F': ``<attachments_dir>/<key[0]>/<key>``; '6': the path in ``file.attrs``).
Missing or short data is a Flag with severity error, never an exception.

The database never chooses a local path: a filesystem file is read only when its path resolves (symlinks
followed) inside the configured folders — ``attachments_dir`` for 'F', ``attachments_dir`` and
``attachment_roots`` for '6' (hdm.sources.file_roots). Anything else (an absolute path elsewhere, ``../``, a
symlink leading out, no folder configured) is refused, flagged ``attachment_path_refused`` with the path the row
named, and never opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO, Any, Optional

from hdm.model import Attachment, key
from hdm.sources.base import BlobSink
from hdm.sources.file_roots import FileRoots, PathRefused
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import EntryFlag
from hdm.sources.osticket.threads import (
    BODY_FILE_TYPES,
    _thread_args,
    _thread_scope,
    entry_visibility,
    legacy_scope,
    owner_key,
)
from hdm.sources.osticket.versions import Layout

FS_BLOCK = 512 * 1024


def attachments(ctx: Context, lo: int, hi: int, blobs: Optional[BlobSink]) -> Iterator[Attachment]:
    p = ctx.t
    if ctx.layout is Layout.MODERN:
        sql = (
            f"SELECT a.id, a.object_id AS entry_id, a.name AS link_name, a.inline, f.id AS file_id, f.bk, f.type, "
            f"f.size, f.`key`, f.name AS file_name, f.attrs, f.created, te.type AS entry_type, "
            f"te.flags AS entry_flags, "
            f"(te.body IS NULL OR te.body = '') AS body_empty, h.object_type, h.object_id "
            f"FROM {p('thread')} h JOIN {p('thread_entry')} te ON te.thread_id = h.id "
            f"JOIN {p('attachment')} a ON a.type = 'H' AND a.object_id = te.id "
            f"LEFT JOIN {p('file')} f ON f.id = a.file_id "
            f"WHERE {_thread_scope(ctx)} ORDER BY h.object_id, te.id, a.id")
        args: tuple = _thread_args(ctx, lo, hi)
        table = "attachment"
    else:
        sql = (
            f"SELECT a.attach_id AS id, a.ref_id AS entry_id, NULL AS link_name, a.inline, f.id AS file_id, f.bk, "
            f"f.type, f.size, f.`key`, f.name AS file_name, f.attrs, f.created, te.thread_type AS entry_type, "
            f"0 AS entry_flags, (te.body IS NULL OR te.body = '') AS body_empty, 'T' AS object_type, "
            f"a.ticket_id AS object_id "
            f"FROM {p('ticket_attachment')} a LEFT JOIN {p('file')} f ON f.id = a.file_id "
            f"LEFT JOIN {p('ticket_thread')} te ON te.id = a.ref_id "
            f"WHERE {legacy_scope(ctx, 'a.ticket_id')} ORDER BY a.ticket_id, a.attach_id")
        args = (lo, hi, lo, hi)
        table = "ticket_attachment"
    for r in ctx.conn.stream(sql, args):
        ctx.stats.read(table)
        entry_flags = int(r["entry_flags"] or 0)
        mime = (r["type"] or "").lower() or None
        inline = bool(r["inline"])
        if entry_flags & EntryFlag.HIDDEN:
            ctx.stats.skip("attachment_of_hidden_entry")
            continue
        if inline and r["body_empty"] and mime in BODY_FILE_TYPES:
            ctx.stats.skip("body_storage_file")  # its content is the message body (restored there)
            continue
        owner = owner_key(r["object_type"], int(r["object_id"]))
        att = Attachment(provenance=ctx.prov(table, r["id"]), ticket=owner,
                         message=key("message", int(r["entry_id"])), inline=inline, content_type=mime)
        att.file_name = r["link_name"] or r["file_name"] or ""
        # internal unless its entry is a customer message or agent response on a ticket: notes, system
        # notes, task entries, unknown types and attachments whose entry is gone never become public
        att.visibility = entry_visibility(r["entry_type"], entry_flags, r["object_type"])
        if r["entry_type"] is None:
            att.flag("dangling_fk", "attachment names no thread entry", field="message")
            att.message = None
        if r["file_id"] is None:
            att.flag("missing_file", "the file row is gone; no bytes to migrate", field="blob", severity="error")
            yield ctx.emit(att)
            continue
        att.size = int(r["size"]) if r["size"] is not None else None
        att.content_id = r["key"] or None
        att.created_at = ctx.date(att, r, "created", "created_at")
        bk = (r["bk"] or "D").upper()
        att.storage = _storage(ctx, bk, r)
        if not att.file_name:
            att.flag("missing_name", "file has no name", field="file_name")
        ctx.text_flags(att, r)
        if blobs is not None:
            _stage(ctx, att, bk, r, blobs)
        yield ctx.emit(att)


def _storage(ctx: Context, bk: str, r: Any) -> str:
    if bk == "D":
        return "db"
    if bk == "F":
        return f"fs:{_fs_claim(r['key'] or '') or '?'}"
    if bk == "6":
        return f"fs:{r['attrs'] or '?'}"
    return f"backend:{bk}"


def _fs_claim(file_key: str) -> Optional[str]:
    """The path of a filesystem-plugin file relative to the upload folder: ``<key[0]>/<key>``."""
    return os.path.join(file_key[0], file_key) if file_key else None


def _roots(ctx: Context, bk: str) -> FileRoots:
    """The folders a backend's files may be read from: 'F' only the upload folder, '6' every configured root."""
    cache_key = f"file_roots:{bk}"
    roots = ctx.cache.get(cache_key)
    if roots is None:
        folders = [ctx.attachments_dir] if bk == "F" else [ctx.attachments_dir, *ctx.attachment_roots]
        roots = ctx.cache[cache_key] = FileRoots(folders)
    return roots


def _stage(ctx: Context, att: Attachment, bk: str, r: Any, blobs: BlobSink) -> None:
    problems: list[str] = []
    if bk == "D":
        source = _db_chunks(ctx, int(r["file_id"]), problems)
    elif bk in ("F", "6"):
        claim = _fs_claim(r["key"] or "") if bk == "F" else (r["attrs"] or "")
        roots = _roots(ctx, bk)
        if bk == "F" and not roots:
            att.flag("attachment_unreachable", "file is on the filesystem backend; no attachments_dir was given",
                     field="blob", severity="error")
            return
        try:
            fh = roots.open(claim or "")
        except PathRefused as exc:
            att.flag("attachment_path_refused", f"storage backend {bk!r}: {exc}; not read", field="blob",
                     severity="error")
            return
        except OSError:
            att.flag("missing_file", "file is on the filesystem backend but not found there", field="blob",
                     severity="error")
            return
        source = _fs_chunks(fh)
    else:
        att.flag("attachment_unreachable", f"storage backend {bk!r} (e.g. S3) is not read by this extractor",
                 field="blob", severity="error")
        return
    try:
        first = next(source, None)
        if first is None:
            att.flag("missing_file", "no stored bytes for this file (no chunks)", field="blob", severity="error")
            return
        stage_key, sha, size = blobs.put_blob(_chain(first, source))
    finally:
        source.close()  # releases the server-side cursor (or the file) even if the sink stopped early
    att.blob, att.sha256 = stage_key, sha
    ctx.stats.bytes_staged += size
    for problem in problems:
        att.flag("broken_chunks", problem, field="blob", severity="error")
    if att.size is not None and size != att.size:
        att.flag("size_mismatch", f"read {size} bytes, file.size says {att.size}", field="blob", severity="error")
        att.size = size


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterable[bytes]:
    yield first
    yield from rest


def _db_chunks(ctx: Context, file_id: int, problems: list[str]) -> Iterator[bytes]:
    expected = 0
    for chunk_id, data in ctx.aux.stream_raw(
            f"SELECT chunk_id, filedata FROM {ctx.t('file_chunk')} WHERE file_id = %s ORDER BY chunk_id", (file_id,)):
        if int(chunk_id) != expected:
            problems.append(f"chunk {expected} missing (next is {int(chunk_id)})")
        expected = int(chunk_id) + 1
        yield bytes(data)


def _fs_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    with fh:
        while True:
            block = fh.read(FS_BLOCK)
            if not block:
                return
            yield block
