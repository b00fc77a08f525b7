"""osTicket's storage rules for message bodies, applied once at extraction so that a staged Message holds the
body as a person wrote it (what :mod:`hdm.threads` expects of every source).

- osTicket stores a ``format='text'`` body entity-escaped (``htmlspecialchars`` with ``double_encode`` off) and
  the browser decodes each entity once: decoded here the same way (:func:`hdm.threads.body.decode_stored_text`).
- osTicket stores an empty message as a single ``-``: it becomes an empty body.
"""

from __future__ import annotations

from hdm.model import Message
from hdm.threads.body import decode_stored_text

EMPTY_MARKER = "-"  # osTicket stores an empty message as a single dash


def is_empty_marker(body: str | None) -> bool:
    return body is not None and body.strip() == EMPTY_MARKER


def as_written(message: Message) -> Message:
    """``message`` with its body moved from osTicket's stored form to the written form (in place; returned)."""
    if message.body_format == "text":
        raw = message.body_text if message.body_text is not None else (message.body_html or "")
        message.body_text = "" if is_empty_marker(raw) else decode_stored_text(raw)
    elif is_empty_marker(message.body_html):
        message.body_html = ""
    return message
