"""osTicket attachment files: key/signature derivation and storage (DB chunks or the filesystem plugin layout)."""

from __future__ import annotations

import base64
import hashlib
import random
import string
from pathlib import Path

CHUNK_SIZE = 500 * 1024  # AttachmentChunkedData chunk size (notes §5)
_KEY_ALPHABET = string.ascii_letters + string.digits


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def file_key(rng: random.Random, content: bytes) -> str:
    """32 chars: 5 random chars + base64url(SHA-1 of the content) (notes §5)."""
    return "".join(rng.choice(_KEY_ALPHABET) for _ in range(5)) + b64url(hashlib.sha1(content).digest())


def file_signature(content: bytes) -> str:
    """First 16 chars of the base64url SHA-1 plus the first 16 of the base64url MD5 (notes §5)."""
    return b64url(hashlib.sha1(content).digest())[:16] + b64url(hashlib.md5(content).digest())[:16]


def chunks(content: bytes) -> list[bytes]:
    return [content[i:i + CHUNK_SIZE] for i in range(0, len(content), CHUNK_SIZE)] or [b""]


def fs_path(root: Path, key: str) -> Path:
    """Where osTicket's storage-fs plugin keeps a file: <root>/<key[0]>/<key>."""
    return root / key[0] / key


def write_fs_file(root: Path, key: str, content: bytes) -> Path:
    path = fs_path(root, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def png_bytes(rng: random.Random, size: int) -> bytes:
    """Bytes that start like a PNG (enough for MIME sniffers), padded with seeded noise."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    return header + rng.randbytes(max(0, size - len(header)))


def pdf_bytes(rng: random.Random, size: int) -> bytes:
    header = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return header + rng.randbytes(max(0, size - len(header) - 6)) + b"\n%%EOF"
