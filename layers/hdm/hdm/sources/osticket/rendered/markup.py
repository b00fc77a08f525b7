"""What osTicket's thread markup looks like per version and page kind (reference/notes/osticket.md §3).

The splitter reads the markup tolerantly (HTML5 parsing ignores the stray ``</span>``); these facts are
used to notice pages that do not look like the version they claim to be, which lowers confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

PAGE_KINDS = ("staff", "portal", "print")

# entry classes osTicket prints, and what each means
KIND_CLASSES = ("message", "response", "note", "system")
# harmless extra classes seen on entries
KNOWN_EXTRA_CLASSES = {"thread-entry", "avatar"}

# the icon of each event (ThreadEvent icons), reversed to read event names back
EVENT_ICONS = {
    "magic": "created", "thumbs-up-alt": "closed", "rotate-right": "reopened", "hand-right": "assigned",
    "unlock": "released", "share-alt": "transferred", "exchange": "referred", "time": "overdue",
    "pencil": "edited", "group": "collab", "reply-all": "resent", "code-fork": "merged", "link": "linked",
    "unlink": "unlinked",
}

# osTicket's default Format::datetime shape (m/d/Y g:i a), used by the print view (no offset there)
PRINT_DATETIME_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%y %I:%M %p", "%Y-%m-%d %H:%M")


def version_tuple(version: str) -> tuple[int, int, int]:
    """``"1.16.4"`` → ``(1, 16, 4)``; ``"v1.18"`` → ``(1, 18, 0)``."""
    parts: list[int] = []
    for piece in version.strip().lstrip("vV").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def _within(v: tuple[int, int, int], lo: str, hi: str) -> bool:
    return version_tuple(lo) <= v <= version_tuple(hi)


@dataclass(frozen=True)
class VersionMarkup:
    """The markup facts of one osTicket version's thread templates."""

    version: str
    table_layout: bool  # before 1.10: one table.thread-entry per entry
    stray_title_span: bool  # 1.10 – 1.15.6, 1.16.0 – 1.16.1
    entry_style: Optional[str]  # inline style on div.thread-entry (staff page)
    merge_badge: bool  # icon-code-fork "Ticket #N" (1.14+)

    @classmethod
    def of(cls, version: str) -> VersionMarkup:
        return _markup_of(cls, version)


@lru_cache(maxsize=64)
def _markup_of(cls: type[VersionMarkup], version: str) -> VersionMarkup:
    v = version_tuple(version)
    if v >= version_tuple("1.17.4"):
        style: Optional[str] = "position:relative;z-index:auto;"
    elif _within(v, "1.16.4", "1.16.99") or _within(v, "1.17.1", "1.17.3"):
        style = "position:relative"
    else:
        style = None
    return cls(
        version=version,
        table_layout=v < version_tuple("1.10"),
        stray_title_span=_within(v, "1.10", "1.15.6") or _within(v, "1.16.0", "1.16.1"),
        entry_style=style,
        merge_badge=v >= version_tuple("1.14"),
    )
