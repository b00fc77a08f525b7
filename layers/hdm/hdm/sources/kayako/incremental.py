"""Delta runs over Kayako (the capability described in ``hdm/delta.py``).

Kayako documents no server-side ``updated_at`` filter, so what changed is found client-side: the case, user and
organization listings are walked with ``fields=id,updated_at`` (the largest page, one call per 1000 records) and
the records updated at or after the earlier mark less the lag window become the delta chunks. Those chunks carry
the same instant in their cursor, so extraction yields only the changed records of their id ranges and reads
posts, files, events and ratings only for changed cases (a new post moves its case's ``updated_at``). Notes (no
``updated_at`` on their owner when one is added), article files and the small lists are re-read whole: the
destination skips rows whose content hash did not change.

The mark is the Kayako server's clock: the ``Date`` header of a call, or, when an answer carries none, the newest
``updated_at`` the listings show.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Optional

from hdm.delta import DeltaNotSupported, delta_chunks, relabel
from hdm.model import key
from hdm.sources.base import ChunkSpec

if TYPE_CHECKING:
    from hdm.sources.kayako.source import KayakoSource

MARK_VERSION = 1
COLLECTIONS = ("cases", "users", "organizations")


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def server_now(src: KayakoSource) -> Optional[dt.datetime]:
    """The instant the Kayako server answers with (its ``Date`` header), or ``None``."""
    response = src.client.http.request("GET", "/session", family="GET /session")
    stamp = response.headers.get("Date")
    try:
        when = parsedate_to_datetime(stamp) if stamp else None
    except (TypeError, ValueError):
        return None
    return when if when is None or when.tzinfo else when.replace(tzinfo=dt.UTC)


def stamps(src: KayakoSource, collection: str) -> list[tuple[int, Optional[dt.datetime], dict]]:
    from hdm.sources.kayako.source import ID_WALK_LIMIT, _instant

    fields = "id,updated_at,role" if collection == "users" else "id,updated_at"
    return [(int(i["id"]), _instant(i.get("updated_at")), i)
            for i in src.client.items(f"/{collection}", {"fields": fields, "limit": ID_WALK_LIMIT})]


def delta_mark(src: KayakoSource) -> dict[str, Any]:
    src.probe()
    now = server_now(src)
    origin = "date_header"
    if now is None:
        seen = [w for c in COLLECTIONS for _, w, _ in stamps(src, c) if w is not None]
        if not seen:
            raise DeltaNotSupported("Kayako answered no Date header and no record has an updated_at: no clock to "
                                    "take a delta from; run a full migration again instead")
        now, origin = max(seen), "newest_updated_at"
    return {"system": src.system, "version": MARK_VERSION, "now": _iso(now), "clock": origin}


def since_of(mark: Any, lag_seconds: int) -> str:
    from hdm.sources.kayako.source import _instant

    when = _instant(mark.get("now")) if isinstance(mark, dict) and mark.get("version") == MARK_VERSION else None
    if when is None:
        raise DeltaNotSupported("the earlier run's high-water mark is not one this Kayako source wrote: run a full "
                                "migration again")
    return _iso(when - dt.timedelta(seconds=max(0, int(lag_seconds))))


def plan_delta(src: KayakoSource, chunk_rows: int, since: dict[str, Any], lag_seconds: int,
               label: str) -> list[ChunkSpec]:
    from hdm.sources.kayako.source import CASE_SCOPED, _instant

    after = since_of(since, lag_seconds)
    threshold = _instant(after)
    specs: list[ChunkSpec] = []
    for chunk in src.plan(chunk_rows):
        if chunk.object_type in ("organization", "contact", "agent") or chunk.object_type in CASE_SCOPED and \
                chunk.chunk_id != "attachment-articles":
            continue
        specs.append(relabel(chunk, label))  # small lists, notes, article files: re-read whole

    def changed(collection: str) -> list[tuple[int, dict]]:
        return [(i, raw) for i, when, raw in stamps(src, collection) if when is None or when >= threshold]

    def scoped(object_type: str, ids: list[int]) -> list[ChunkSpec]:
        return [ChunkSpec(c.object_type, {**c.cursor, "updated_since": after}, c.estimated_rows, c.chunk_id)
                for c in delta_chunks(object_type, ids, chunk_rows, label)]

    specs += scoped("organization", [i for i, _ in changed("organizations")])
    users = changed("users")
    catalogs = src.catalogs()
    from hdm.sources.kayako.records import AGENT_ROLES

    specs += scoped("contact", [i for i, u in users if catalogs.role_of(u) not in AGENT_ROLES])
    specs += scoped("agent", [i for i, u in users if catalogs.role_of(u) in AGENT_ROLES])
    cases = [i for i, _ in changed("cases")]
    for object_type in CASE_SCOPED:
        specs += scoped(object_type, cases)
    return specs


def live_keys(src: KayakoSource) -> dict[str, set[str]]:
    """Cases, contacts, agents and organizations that exist now (for hard-delete detection)."""
    from hdm.sources.kayako.records import AGENT_ROLES

    catalogs = src.catalogs()
    users = stamps(src, "users")
    return {
        "ticket": {key("ticket", i) for i, _, _ in stamps(src, "cases")},
        "organization": {key("organization", i) for i, _, _ in stamps(src, "organizations")},
        "contact": {key("contact", i) for i, _, u in users if catalogs.role_of(u) not in AGENT_ROLES},
        "agent": {key("agent", i) for i, _, u in users if catalogs.role_of(u) in AGENT_ROLES},
    }
