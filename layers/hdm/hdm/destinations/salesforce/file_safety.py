"""What a file may be called and contain once it is a Salesforce file that customers and agents download.

* :func:`safe_file_name` makes a source file name safe for the destination and for the machines that download
  it: no path separators, no control or bidirectional-override characters, none of the characters Windows
  refuses, no trailing dots or spaces (Windows drops them, so ``evil.exe.`` would save as ``evil.exe``), no
  reserved device names, never empty, at most 255 characters with the extension kept.
* :func:`blocked_extension` checks the *sanitised* name against the blocked list.
* :func:`sniff_executable` recognises programs by their first bytes (a PE/ELF/Mach-O binary, a ``#!`` script,
  a Windows shortcut), whatever the name says: an executable named ``.txt`` is still an executable.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import Optional

MAX_NAME = 255
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}

# (magic bytes at offset 0, what it is). Only formats that are programs in themselves: documents that may hold
# macros (OLE, OOXML) are left to the extension list and the org's own file policies.
_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable (PE/MZ)"),  # only with binary header bytes (see sniff_executable)
    (b"\x7fELF", "an ELF executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    (b"#!/", "a script (#! interpreter line)"),
    (b"#! /", "a script (#! interpreter line)"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "a Windows shortcut (.lnk)"),
)
SNIFF_BYTES = 64  # the DOS header's length


def _drop_char(ch: str) -> bool:
    # Cc: control characters; Cf: format characters such as U+202E RIGHT-TO-LEFT OVERRIDE ("gpj.exe" shown as
    # "exe.jpg"); Zl/Zp: line and paragraph separators
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def safe_file_name(name: Optional[str], fallback: str) -> str:
    """``name`` made safe as a Salesforce file name (``Title``/``PathOnClient``); ``fallback`` when nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    out = []
    for ch in text:
        if _drop_char(ch):
            continue
        out.append("_" if ch in _WINDOWS_FORBIDDEN else ch)
    cleaned = " ".join("".join(out).split())  # tabs/newlines are already gone; collapse runs of spaces
    cleaned = cleaned.strip(" .")  # leading dots hide a file; trailing dots and spaces are dropped by Windows
    if not cleaned:
        cleaned = fallback
    stem, ext = posixpath.splitext(cleaned)
    if stem.split(".", 1)[0].strip().lower() in _RESERVED:
        cleaned = f"_{cleaned}"
        stem, ext = posixpath.splitext(cleaned)
    if len(cleaned) > MAX_NAME:
        ext = ext if len(ext) <= 16 else ""
        cleaned = stem[: MAX_NAME - len(ext)].rstrip(" .") + ext
    return cleaned


def blocked_extension(name: str, blocked: tuple[str, ...]) -> Optional[str]:
    """The blocked extension of a (sanitised) name, or None."""
    ext = posixpath.splitext(name)[1].lower().lstrip(".")
    return ext if ext and ext in blocked else None


def sniff_executable(head: bytes) -> Optional[str]:
    """What program the first bytes of a file are, or None when they are not a known executable format."""
    for magic, what in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            if magic == b"MZ" and not any(b < 0x09 for b in head[2:SNIFF_BYTES]):
                continue  # a text that happens to start with "MZ": a DOS header has binary fields
            return what
    return None
