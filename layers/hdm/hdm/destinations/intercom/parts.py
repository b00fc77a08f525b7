"""Finding a part that was sent before its id reached the crosswalk (a run killed between the reply and the
crosswalk write), by reading the ticket's parts back: Intercom has no external id on parts."""

from __future__ import annotations

import html
import re
from typing import Any, Optional

_TAG = re.compile(r"<[^>]+>")


def body_text(body: Optional[str]) -> str:
    """A body's words, whatever markup Intercom keeps around them."""
    return " ".join(html.unescape(_TAG.sub(" ", body or "")).split())


def ticket_parts(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    parts = (ticket or {}).get("ticket_parts") or {}
    if isinstance(parts, dict):
        parts = parts.get("ticket_parts") or []
    return [p for p in parts if isinstance(p, dict)]


def expected_author(payload: dict[str, Any]) -> tuple[str, Optional[str]]:
    if payload.get("type") == "user":
        return "user", payload.get("intercom_user_id")
    return "admin", str(payload.get("admin_id")) if payload.get("admin_id") is not None else None


def same_part(part: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether ``part`` is what ``payload`` (a reply request) made: type, author, time and words."""
    if (part.get("part_type") or "comment") != payload.get("message_type", "comment"):
        return False
    kind, author_id = expected_author(payload)
    author = part.get("author") or {}
    if author.get("type") not in (None, kind) and not (kind == "user" and author.get("type") in ("user", "lead",
                                                                                                  "contact")):
        return False
    if author_id is not None and author.get("id") is not None and str(author.get("id")) != str(author_id):
        return False
    if payload.get("created_at") is not None and part.get("created_at") is not None and \
            int(part["created_at"]) != int(payload["created_at"]):
        return False
    return body_text(part.get("body")) == body_text(payload.get("body"))


def find_sent(parts: list[dict[str, Any]], payload: dict[str, Any], claimed: set[str]) -> Optional[str]:
    """The id of the first part not already claimed by another source record that matches ``payload``."""
    for part in parts:
        pid = str(part.get("id"))
        if pid not in claimed and same_part(part, payload):
            return pid
    return None
