"""CaseComment bodies: a header that keeps the author and the original time, and splitting at 4,000 bytes.

CommentBody holds at most 4,000 *bytes*; a longer message continues in ordered follow-up comments
"(part 2/3)". Nothing is cut: the parts joined (without their headers) give the text back exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from hdm.threads.body import display_title

# the end of a header line: "· ref message:42" and, on a split message, " (part 2/3)"
_REF = re.compile(r"· ref (?P<ref>\S+?)(?: \(part (?P<part>\d+)/\d+\))?[ \t\r]*$")


@dataclass(frozen=True)
class CommentPart:
    index: int  # 0-based
    total: int
    body: str


def comment_header(author_name: Optional[str], author_email: Optional[str], created_at: Optional[str],
                   kind: str, internal: bool, ref: str, title: Optional[str] = None) -> str:
    """One line naming who wrote the entry, when, and its title, e.g.
    ``[Agent note] Jane Doe <jane@x> · 2024-01-31 12:00 UTC · Title: Ticket transferred · ref message:42``."""
    label = {"customer": "Customer", "agent": "Agent", "system": "System"}.get(kind, kind.title())
    label += " note" if internal else " message"
    who = author_name or "(unknown author)"
    if author_email:
        who += f" <{author_email}>"
    when = _display_time(created_at)
    shown = display_title(title)
    about = f" · Title: {shown}" if shown else ""
    return f"[{label}] {who} · {when}{about} · ref {ref}"


def _display_time(iso: Optional[str]) -> str:
    if not iso:
        return "(time unknown)"
    text = iso.replace("T", " ").rstrip("Z")
    if "." in text:
        text = text.split(".", 1)[0]
    return f"{text} UTC"


def _utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``max_bytes`` (never splits a character)."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def split_comment(header: str, text: str, max_bytes: int = 4000) -> list[CommentPart]:
    """Split ``text`` into bodies of at most ``max_bytes`` bytes, each starting with the header.

    A single part has the header alone; several carry ``(part i/n)``. Splits prefer a line break or a
    space in the last fifth of a part so words stay whole.
    """
    # one line ending throughout: a Bulk job declares LF, and a CRLF inside a value fails the whole job
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    single = f"{header}\n\n{text}" if text else header
    if len(single.encode("utf-8")) <= max_bytes:
        return [CommentPart(0, 1, single)]
    # reserve room for the longest possible part label
    pieces: list[str] = []
    rest = text
    total_guess = 2
    while True:
        pieces = []
        rest = text
        label_room = len(f" (part {total_guess}/{total_guess})".encode())
        room = max_bytes - len(header.encode("utf-8")) - label_room - 2
        if room < 200:
            raise ValueError("comment header leaves too little room for text")
        while rest:
            piece = _utf8_prefix(rest, room)
            if len(piece) < len(rest):
                cut = max(piece.rfind("\n"), piece.rfind(" "))
                if cut >= len(piece) * 4 // 5:
                    piece = piece[: cut + 1]
            pieces.append(piece)
            rest = rest[len(piece):]
        if len(str(len(pieces))) <= len(str(total_guess)):
            break
        total_guess = len(pieces)
    n = len(pieces)
    return [CommentPart(i, n, f"{header} (part {i + 1}/{n})\n\n{p}") for i, p in enumerate(pieces)]


def body_text_of(part_body: str) -> str:
    """The message text of one part (its header line and the blank line after it removed)."""
    _, sep, rest = part_body.partition("\n\n")
    return rest if sep else ""


def comment_ref(body: Optional[str]) -> Optional[str]:
    """The crosswalk key of a comment, ``message:42#1`` (source reference and 0-based part), read from its header
    line — not from the whole body, which the org may store with other line endings or trailing whitespace.
    ``None`` for a comment without an hdm header."""
    first = (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    m = _REF.search(first)
    if m is None:
        return None
    return f"{m.group('ref')}#{int(m.group('part') or 1) - 1}"
