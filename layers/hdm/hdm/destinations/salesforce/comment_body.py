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


def _cut_points(raw: bytes, room: int) -> list[int]:
    """Byte offsets where parts of at most ``room`` bytes end (the last one is ``len(raw)``).

    One pass over ``raw``: each part looks only at its own window, so the cost is linear in the body's size
    (re-encoding the remaining text for every part made a 16 MiB body take seconds per message). A cut never
    splits a UTF-8 character and prefers a line break or a space in the last fifth of the window.
    """
    cuts: list[int] = []
    pos, end = 0, len(raw)
    while pos < end:
        stop = pos + room
        if stop >= end:
            cuts.append(end)
            break
        while stop > pos and (raw[stop] & 0xC0) == 0x80:  # raw[stop] continues a character: cut before it
            stop -= 1
        space = max(raw.rfind(b"\n", pos, stop), raw.rfind(b" ", pos, stop))
        if space >= 0 and space + 1 - pos >= (stop - pos) * 4 // 5:
            stop = space + 1
        cuts.append(stop)
        pos = stop
    return cuts


def split_comment(header: str, text: str, max_bytes: int = 4000) -> list[CommentPart]:
    """Split ``text`` into bodies of at most ``max_bytes`` bytes, each starting with the header.

    A single part has the header alone; several carry ``(part i/n)``. Splits prefer a line break or a
    space in the last fifth of a part so words stay whole. Linear in the size of ``text``.
    """
    # one line ending throughout: a Bulk job declares LF, and a CRLF inside a value fails the whole job
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    single = f"{header}\n\n{text}" if text else header
    raw = single.encode("utf-8")
    if len(raw) <= max_bytes:
        return [CommentPart(0, 1, single)]
    raw = text.encode("utf-8")
    header_bytes = len(header.encode("utf-8"))
    total_guess = 2
    while True:  # the part label's width depends on the number of parts: at most a few rounds (one per digit)
        label_room = len(f" (part {total_guess}/{total_guess})".encode())
        room = max_bytes - header_bytes - label_room - 2
        if room < 200:
            raise ValueError("comment header leaves too little room for text")
        cuts = _cut_points(raw, room)
        if len(str(len(cuts))) <= len(str(total_guess)):
            break
        total_guess = len(cuts)
    n = len(cuts)
    parts = []
    start = 0
    for i, stop in enumerate(cuts):
        parts.append(CommentPart(i, n, f"{header} (part {i + 1}/{n})\n\n{raw[start:stop].decode('utf-8')}"))
        start = stop
    return parts


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
