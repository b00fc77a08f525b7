"""The stage in S3 (the AWS engine's): one bucket per customer stack, one prefix per migration.

Writes stream into a spooled temporary file (memory first, disk past ``spool_bytes``) and are uploaded
with ``upload_fileobj`` (multipart for large objects) only when the write block exits cleanly, so a
failed write never leaves half an object. Reads stream the ``get_object`` body; ``open_range`` asks S3 for the
bytes of a range only.

Chunk data (``extract/``, ``transform/``, ``results/`` …) is spread over 16 hash prefixes inside its
folder, e.g. ``<root>/extract/7/ticket/ticket-…jsonl.gz``, because S3 scales request rates per
partitioned prefix and a wide Distributed Map writes many chunks at once. The mapping is internal:
callers always use the logical keys of :mod:`hdm.stage.base`.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Optional

from hdm.stage.base import Stage, StageKeyMissing

SPREAD_FOLDERS = frozenset({"extract", "extract-stats", "transform", "transform-stats", "results"})
SHARDS = "0123456789abcdef"


def _shard(rest: str) -> str:
    return hashlib.md5(rest.encode(), usedforsecurity=False).hexdigest()[0]


class S3Stage(Stage):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: Any = None,
        kms_key_id: Optional[str] = None,
        spool_bytes: int = 8 << 20,
    ):
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.kms_key_id = kms_key_id
        self.spool_bytes = spool_bytes

    # -- key mapping ------------------------------------------------------------------------------
    def object_key(self, key: str) -> str:
        """The S3 object key that holds the logical stage key ``key``."""
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad stage key: {key!r}")
        folder, sep, rest = key.partition("/")
        if sep and folder in SPREAD_FOLDERS and rest:
            return f"{self.prefix}{folder}/{_shard(rest)}/{rest}"
        return f"{self.prefix}{key}"

    def _logical(self, object_key: str) -> str:
        rel = object_key[len(self.prefix):]
        parts = rel.split("/", 2)
        if len(parts) == 3 and parts[0] in SPREAD_FOLDERS and len(parts[1]) == 1 and parts[1] in SHARDS:
            return f"{parts[0]}/{parts[2]}"
        return rel

    def _extra_args(self) -> dict[str, str]:
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {}

    # -- the port ---------------------------------------------------------------------------------
    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        object_key = self.object_key(key)
        with tempfile.SpooledTemporaryFile(max_size=self.spool_bytes, mode="w+b") as spool:
            yield spool  # type: ignore[misc]
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, object_key, ExtraArgs=self._extra_args() or None)

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise StageKeyMissing(key) from exc
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    @contextmanager
    def open_range(self, key: str, offset: int, length: int) -> Iterator[IO[bytes]]:
        """Only the bytes ``[offset, offset + length)`` travel (an HTTP Range GET), not the whole object."""
        import io

        from botocore.exceptions import ClientError

        if length <= 0:
            yield io.BytesIO(b"")
            return
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key),
                                              Range=f"bytes={offset}-{offset + length - 1}")
        except self.client.exceptions.NoSuchKey as exc:
            raise StageKeyMissing(key) from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidRange":  # the object ends before offset
                raise
            yield io.BytesIO(b"")
            return
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        folder, sep, rest = prefix.partition("/")
        if sep and folder in SPREAD_FOLDERS:
            listings = [f"{self.prefix}{folder}/{s}/{rest}" for s in SHARDS]
        else:
            listings = [f"{self.prefix}{prefix}"]
        keys: set[str] = set()
        paginator = self.client.get_paginator("list_objects_v2")
        for physical_prefix in listings:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=physical_prefix):
                for obj in page.get("Contents", []):
                    logical = self._logical(obj["Key"])
                    if logical.startswith(prefix):
                        keys.add(logical)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def _rename(self, src: str, dst: str) -> None:
        """Server-side copy (managed multipart for large blobs), then delete the source."""
        self.client.copy(
            {"Bucket": self.bucket, "Key": self.object_key(src)},
            self.bucket,
            self.object_key(dst),
            ExtraArgs=self._extra_args() or None,
        )
        self.delete(src)
