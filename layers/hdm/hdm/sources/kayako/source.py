"""``KayakoSource``: new Kayako behind hdm's Source interface (discover, plan, extract), read-only.

Chunks: cases, users and organizations are cut into id ranges (:class:`KeyRange`) from an id walk
(``fields=id``, the largest page); a range is read from ``after_id = lo - 1`` by following ``next_url`` and
stops past ``hi`` (see :meth:`KayakoClient.id_range`), so a killed extraction redoes only its unfinished
chunks and every record lands in exactly one. Ticket-scoped types (ticket, message, attachment) and user
notes follow the case / user ranges; the small lists (statuses, fields, teams, help center, SLAs,
automations …) are one chunk each.

Calls: ``include=`` expands what a record needs in the same answer (users with their role on cases and posts,
the channel records of posts, tags, e-mail identities, field options), so no record costs a call of its own
except where Kayako has no listing across records: a case's posts (one listing per case), a user's or
organization's notes (one per owner) and each attachment's bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.model import Record, key
from hdm.sources.base import BlobSink, ChunkSpec, Discovery, KeyRange, PageCursor, SourceBase
from hdm.sources.kayako import records as R
from hdm.sources.kayako.client import KayakoClient
from hdm.sources.kayako.errors import KayakoAuthError, KayakoError, KayakoNotFound
from hdm.sources.kayako.values import field_def

log = logging.getLogger(__name__)

SYSTEM = R.SYSTEM
ID_WALK_LIMIT = 1000
POST_INCLUDE = ("user,role,channel,identity_email,attachment,case_message,note,chat_message,twitter_tweet,"
                "facebook_message")
CASE_INCLUDE = "user,role,tag,channel,sla_version"
USER_INCLUDE = "identity_email,identity_phone,tag,role"
ORG_INCLUDE = "identity_domain,tag"
# one chunk each (small lists)
SINGLE = ("status", "priority", "ticket_type", "brand", "team", "custom_field", "tag", "sla_policy",
          "automation_rule", "kb_category", "kb_article")
CASE_SCOPED = ("ticket", "message", "attachment", "event", "satisfaction_rating")


@dataclass
class ChunkStats:
    chunk_id: str
    object_type: str
    yielded: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    calls: int = 0
    bytes_staged: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "object_type": self.object_type, "yielded": dict(self.yielded),
                "skipped": dict(self.skipped), "calls": self.calls, "bytes_staged": self.bytes_staged,
                "seconds": round(self.seconds, 3)}


class KayakoSource(SourceBase):
    system = SYSTEM

    def __init__(self, client: KayakoClient, *, page_size: int = 100, updated_since: Optional[str] = None) -> None:
        self.client = client
        self.page_size = page_size
        self.since = _instant(updated_since) if updated_since else None
        self._run_since = self.since
        self.session: dict[str, Any] = {}
        self.last_stats: Optional[ChunkStats] = None
        self._catalogs: Optional[R.Catalogs] = None
        self._identities: Optional[dict[int, int]] = None
        self._ids: dict[str, list[int]] = {}

    # -- setup -----------------------------------------------------------------------------------------------
    def probe(self) -> dict[str, Any]:
        """Checks the instance (new Kayako, credentials) once; raises the source's clear errors."""
        if not self.session:
            self.session = self.client.probe().get("data") or {}
        return self.session

    def catalogs(self) -> R.Catalogs:
        if self._catalogs is None:
            c = R.Catalogs()
            c.roles = {int(r["id"]): str(r.get("type")) for r in self.client.items("/roles")}
            c.statuses = {int(s["id"]): s for s in self.client.items("/cases/statuses")}
            c.priorities = {int(p["id"]): p for p in self.client.items("/cases/priorities")}
            c.types = {int(t["id"]): t for t in self.client.items("/cases/types")}
            c.channels = {int(ch["id"]): str(ch.get("type")) for ch in self.client.items("/channels")}
            for family in ("cases", "users", "organizations"):
                c.fields[family] = self._field_defs(family)
            self._catalogs = c
        return self._catalogs

    def _field_defs(self, family: str) -> dict[int, Any]:
        out = {}
        for raw in self.client.items(f"/{family}/fields", {"include": "field_option,locale_field"}):
            fd = field_def(raw)
            if fd is not None:
                out[fd.id] = fd
        return out

    def identities(self) -> dict[int, int]:
        """E-mail identity id → the user holding it now (a merged user's identities move to the survivor):
        read only when a post's author cannot be expanded."""
        if self._identities is None:
            self._identities = {}
            for user in self.client.items("/users", {"fields": "id,emails", "limit": ID_WALK_LIMIT}):
                for e in user.get("emails") or []:
                    if R.ref_id(e) is not None:
                        self._identities[int(e["id"])] = int(user["id"])
        return self._identities

    def ids(self, collection: str) -> list[int]:
        """Every id of a cursor collection (cases, users, organizations), ascending (cached per source)."""
        if collection not in self._ids:
            found = [int(i["id"]) for i in self.client.items(f"/{collection}", {"fields": "id",
                                                                                 "limit": ID_WALK_LIMIT})]
            if found != sorted(set(found)):
                raise KayakoError(f"/{collection} does not list ids once each in ascending order")
            self._ids[collection] = found
        return self._ids[collection]

    def changed(self, item: dict) -> bool:
        """In a delta run (``updated_since``), whether the record changed since; always true otherwise. A
        record without a readable ``updated_at`` counts as changed (it is never silently left out)."""
        since = self._run_since
        if since is None:
            return True
        when = _instant(item.get("updated_at"))
        return when is None or when >= since

    # -- Source interface ------------------------------------------------------------------------------------
    def discover(self) -> Discovery:
        from hdm.sources.kayako.discovery import discover

        return discover(self)

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.probe()
        specs = [ChunkSpec(t, PageCursor(page_size=self.page_size).to_dict(), 0, chunk_id=f"{t}-all")
                 for t in SINGLE]
        specs.append(ChunkSpec("attachment", PageCursor(page_size=self.page_size,
                                                        params={"scope": "articles"}).to_dict(), 0,
                               chunk_id="attachment-articles"))
        for lo, hi, n in ranges(self.ids("organizations"), chunk_rows):
            specs.append(ChunkSpec.key_range("organization", lo, hi, n))
            specs.append(ChunkSpec("note", {**KeyRange(lo, hi).to_dict(), "scope": "organizations"}, n,
                                   chunk_id=f"note-organizations-{KeyRange(lo, hi).label()}"))
        users = self.ids("users")
        for lo, hi, n in ranges(users, chunk_rows):
            specs.append(ChunkSpec.key_range("contact", lo, hi, n))
            specs.append(ChunkSpec("note", {**KeyRange(lo, hi).to_dict(), "scope": "users"}, n,
                                   chunk_id=f"note-users-{KeyRange(lo, hi).label()}"))
        if users:
            specs.append(ChunkSpec.key_range("agent", users[0], users[-1], len(users)))
        for lo, hi, n in ranges(self.ids("cases"), chunk_rows):
            for object_type in CASE_SCOPED:
                specs.append(ChunkSpec.key_range(object_type, lo, hi, n))
        return specs

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        stats = ChunkStats(chunk.chunk_id, chunk.object_type)
        self.last_stats = stats
        calls_before = self.client.counters.total
        started = time.monotonic()
        records = self._records(chunk, blobs, stats)
        try:
            for rec in records:
                stats.yielded[rec.OBJECT.value] += 1
                yield rec
        finally:
            records.close()
            stats.calls = self.client.counters.total - calls_before
            stats.seconds = time.monotonic() - started
            log.info("extracted %s: %s", chunk.chunk_id, stats.to_dict())

    def _records(self, chunk: ChunkSpec, blobs: BlobSink | None, stats: ChunkStats) -> Iterator[Record]:
        t = chunk.object_type
        chunk_since = chunk.cursor.get("updated_since") if isinstance(chunk.cursor, dict) else None
        self._run_since = _instant(chunk_since) or self.since  # a delta chunk (plan_delta) names its instant
        if t in SINGLE:
            yield from self.single(t)
            return
        if t == "attachment" and chunk.kind == PageCursor.KIND:
            yield from self.article_attachments(blobs, stats)
            return
        keys = chunk.cursor_as(KeyRange)
        scope = chunk.cursor.get("scope")
        handlers: dict[str, Callable[[int, int], Iterator[Record]]] = {
            "organization": self.organizations, "contact": self.contacts, "agent": self.agents,
            "ticket": self.tickets, "message": self.messages, "satisfaction_rating": self.ratings,
            "event": self.events,
        }
        if t == "attachment":
            yield from self.attachments(keys.lo, keys.hi, blobs, stats)
        elif t == "note":
            yield from self.notes(str(scope or "users"), keys.lo, keys.hi)
        elif t in handlers:
            yield from handlers[t](keys.lo, keys.hi)
        else:
            raise KayakoError(f"the Kayako source does not extract {t!r}")

    # -- small lists ------------------------------------------------------------------------------------------
    def single(self, object_type: str) -> Iterator[Record]:  # noqa: C901 - one branch per list
        c = self.catalogs()
        items = self.client.items
        if object_type == "status":
            yield from (R.status(s) for s in c.statuses.values())
        elif object_type == "priority":
            yield from (R.priority(p, c) for p in c.priorities.values())
        elif object_type == "ticket_type":
            yield from (R.ticket_type(t) for t in c.types.values())
        elif object_type == "brand":
            yield from (R.brand(b) for b in items("/brands"))
        elif object_type == "team":
            members: dict[int, list[str]] = {}
            for user in items("/users", {"fields": "id,role,teams", "limit": ID_WALK_LIMIT}):
                if c.role_of(user) in R.AGENT_ROLES:
                    for tid in (R.ref_id(x) for x in user.get("teams") or []):
                        if tid is not None:
                            members.setdefault(tid, []).append(key("agent", user["id"]))
            yield from (R.team(t, members.get(int(t["id"]), [])) for t in items("/teams"))
        elif object_type == "custom_field":
            for family in ("cases", "users", "organizations"):
                for raw in items(f"/{family}/fields", {"include": "field_option,locale_field"}):
                    rec = R.custom_field(raw, family)
                    if rec is not None:
                        yield rec
        elif object_type == "tag":
            yield from (R.tag(t) for t in items("/tags"))
        elif object_type == "sla_policy":
            yield from (R.sla_policy(s, c) for s in items("/slas"))
        elif object_type == "automation_rule":
            for kind, path in (("trigger", "/triggers"), ("monitor", "/monitors"), ("sla", "/slas")):
                yield from (R.automation_rule(r, kind) for r in items(path))
        elif object_type == "kb_category":
            yield from (R.kb_category(r, "category", ) for r in items("/categories", {"include": "locale_field"}))
            yield from (R.kb_category(r, "section") for r in items("/sections", {"include": "locale_field"}))
        elif object_type == "kb_article":
            for raw in items("/articles", {"include": "locale_field,tag,attachment"}):
                yield from R.kb_articles(raw)

    # -- people -----------------------------------------------------------------------------------------------
    def _users(self, lo: int, hi: int) -> Iterator[dict]:
        return self.client.id_range("/users", lo, hi, {"include": USER_INCLUDE})

    def contacts(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        for user in self._users(lo, hi):
            if c.role_of(user) not in R.AGENT_ROLES and self.changed(user):
                yield R.contact(user, c)

    def agents(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        for user in self._users(lo, hi):
            if c.role_of(user) in R.AGENT_ROLES and self.changed(user):
                yield R.agent(user, c)

    def organizations(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        for org in self.client.id_range("/organizations", lo, hi, {"include": ORG_INCLUDE}):
            if self.changed(org):
                yield R.organization(org, c)

    def notes(self, scope: str, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        if scope == "organizations":
            for org in self.client.id_range("/organizations", lo, hi, {"fields": "id", "limit": ID_WALK_LIMIT}):
                subject = key("organization", org["id"])
                for raw in self._owned("/organizations/{id}/notes", {}, org["id"]):
                    yield R.note(raw, "organization", subject, c)
            return
        for user in self.client.id_range("/users", lo, hi, {"fields": "id,role", "limit": ID_WALK_LIMIT}):
            kind = "agent" if c.role_of(user) in R.AGENT_ROLES else "contact"
            subject = key(kind, user["id"])
            for raw in self._owned("/users/{id}/notes", {}, user["id"]):
                rec = R.note(raw, "user", subject, c)
                if kind == "agent":
                    rec.flag("note_on_agent", "a note on an agent's user record", field="subject", severity="info")
                yield rec

    # -- cases ------------------------------------------------------------------------------------------------
    def tickets(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        for case in self.client.id_range("/cases", lo, hi, {"include": CASE_INCLUDE, "fields": "+tags"}):
            if self.changed(case):
                yield R.ticket(case, c)

    def events(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        params = {"fields": "id,creator,created_at,updated_at,source_channel,state", "include": "user,role",
                  "limit": ID_WALK_LIMIT}
        for case in self.client.id_range("/cases", lo, hi, params):
            if self.changed(case):
                yield R.created_event(case, c)

    def _owned(self, path: str, params: dict, owner: int) -> Iterator[dict]:
        """The records listed under one owner; an owner deleted since it was listed (404) has none (counted in
        the chunk's ``skipped``: its own chunk no longer lists it either)."""
        try:
            yield from self.client.items(path, params, id=owner)
        except KayakoNotFound:
            if self.last_stats is not None:
                self.last_stats.skipped["owner_deleted_during_extraction"] += 1
            log.warning("%s: owner %s deleted during extraction", path, owner)

    def ratings(self, lo: int, hi: int) -> Iterator[Record]:
        fields = "id,rating,rating_status,requester,updated_at"
        for case in self.client.id_range("/cases", lo, hi, {"fields": fields, "limit": ID_WALK_LIMIT}):
            rec = R.satisfaction_rating(case) if self.changed(case) else None
            if rec is not None:
                yield rec

    def _posts(self, lo: int, hi: int, files_only: bool = False) -> Iterator[tuple[int, list[dict]]]:
        """Each case's posts in order; with ``files_only``, only of cases that say they have attachments (a
        case that does not say so is read anyway: nothing is skipped on a missing flag)."""
        fields = "id,updated_at,has_attachments"
        for case in self.client.id_range("/cases", lo, hi, {"fields": fields, "limit": ID_WALK_LIMIT}):
            if not self.changed(case) or (files_only and case.get("has_attachments") is False):
                continue
            posts = list(self._owned("/cases/{id}/posts", {"include": POST_INCLUDE}, case["id"]))
            yield int(case["id"]), R.post_order(posts)

    def messages(self, lo: int, hi: int) -> Iterator[Record]:
        c = self.catalogs()
        for case_id, posts in self._posts(lo, hi):
            seen: set[int] = set()
            for position, post in enumerate(posts):
                if int(post["id"]) in seen:
                    continue
                seen.add(int(post["id"]))
                identities = self.identities() if R.person_key(post.get("creator"), c) is None else {}
                yield R.message(post, case_id, position, c, identities)

    def attachments(self, lo: int, hi: int, blobs: BlobSink | None, stats: ChunkStats) -> Iterator[Record]:
        c = self.catalogs()
        for case_id, posts in self._posts(lo, hi, files_only=True):
            for post in posts:
                for att in post.get("attachments") or []:
                    if not isinstance(att, dict) or att.get("id") is None:
                        continue
                    rec = R.attachment(att, case_id, post, c)
                    self._stage(rec, att, blobs, stats)
                    yield rec
                yield from self._media(post, case_id, blobs, stats)

    def _media(self, post: dict, case_id: int, blobs: BlobSink | None, stats: Optional[ChunkStats]
               ) -> Iterator[Record]:
        """The inline images of a post's body, as inline attachments (their URLs die with the Kayako instance)."""
        original = post.get("original") if isinstance(post.get("original"), dict) else {}
        html = original.get("body_html") if isinstance(original.get("body_html"), str) else None
        internal = self.catalogs().channel_type(post.get("source_channel")) == "NOTE"
        for url, ident in R.media_images(html, f"post-{post['id']}"):
            rec = R.media_attachment(url, ident, ticket=key("ticket", case_id), message=key("message", post["id"]),
                                     visibility=R.Visibility.INTERNAL if internal else R.Visibility.PUBLIC,
                                     created_at=R.iso(post.get("created_at")))
            self._stage(rec, {"url_download": url}, blobs, stats)
            yield rec

    def article_attachments(self, blobs: BlobSink | None, stats: Optional[ChunkStats]) -> Iterator[Record]:
        for raw in self.client.items("/articles", {"fields": "id,attachments,contents",
                                                   "include": "attachment,locale_field"}):
            for att in raw.get("attachments") or []:
                if isinstance(att, dict) and att.get("id") is not None:
                    rec = R.article_attachment(att, int(raw["id"]))
                    self._stage(rec, att, blobs, stats)
                    yield rec
            seen: set[str] = set()
            for content in raw.get("contents") or []:
                html = content.get("translation") if isinstance(content, dict) else None
                for url, ident in R.media_images(html, f"article-{raw['id']}"):
                    if ident in seen:
                        continue
                    seen.add(ident)
                    rec = R.media_attachment(url, ident, ticket=None, message=None, visibility=R.Visibility.PUBLIC,
                                             created_at=None, article=key("kb_article", raw["id"]))
                    self._stage(rec, {"url_download": url}, blobs, stats)
                    yield rec

    def _stage(self, rec: Any, att: dict, blobs: BlobSink | None, stats: Optional[ChunkStats]) -> None:
        url = att.get("url_download") or att.get("url")
        if blobs is None:
            return
        if not isinstance(url, str) or not url:
            rec.flag("missing_file", "the attachment has no download URL", field="blob", severity="error")
            return
        try:
            (stage_key, sha, size), content_type = self.client.download_to(url, blobs.put_blob)
        except KayakoAuthError:
            raise
        except Exception as exc:  # noqa: BLE001 - one unreadable file costs only its bytes, never the chunk
            from hdm import connector_errors

            if isinstance(exc, (connector_errors.Transient, connector_errors.QuotaExhausted)):
                raise
            rec.flag("attachment_unreachable", f"download failed: {type(exc).__name__}: {exc}", field="blob",
                     severity="error")
            return
        rec.blob, rec.sha256 = stage_key, sha
        if stats is not None:
            stats.bytes_staged += size
        if rec.content_type is None and content_type:
            rec.content_type = content_type
            if rec.storage == "kayako:media":
                rec.file_name = rec.file_name.rsplit(".", 1)[0] + (mimetypes.guess_extension(content_type) or "")
        if rec.size is None:
            rec.size = size
        if rec.size is not None and size != rec.size:
            rec.flag("size_mismatch", f"read {size} bytes, the API says {rec.size}", field="blob", severity="error")
            rec.size = size

    # -- delta runs (hdm/delta.py) ---------------------------------------------------------------------------
    def delta_mark(self) -> dict[str, Any]:
        from hdm.sources.kayako.incremental import delta_mark

        return delta_mark(self)

    def plan_delta(self, chunk_rows: int, since: dict[str, Any], lag_seconds: int, label: str) -> list[ChunkSpec]:
        from hdm.sources.kayako.incremental import plan_delta

        return plan_delta(self, chunk_rows, since, lag_seconds, label)

    def live_keys(self) -> dict[str, set[str]]:
        from hdm.sources.kayako.incremental import live_keys

        return live_keys(self)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> KayakoSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _instant(value: Any) -> Optional[dt.datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def ranges(ids: list[int], chunk_rows: int) -> list[tuple[int, int, int]]:
    """Contiguous ``[lo, hi]`` ranges of about ``chunk_rows`` ids each (the first starts at 1, so an id
    created below the first one still belongs to a range; the last ends at the highest id seen)."""
    out: list[tuple[int, int, int]] = []
    for start in range(0, len(ids), chunk_rows):
        part = ids[start:start + chunk_rows]
        lo = 1 if not out else out[-1][1] + 1
        out.append((lo, part[-1], len(part)))
    return out
