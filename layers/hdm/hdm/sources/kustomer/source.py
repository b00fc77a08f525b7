"""``KustomerSource``: Kustomer's REST API v1 behind hdm's Source interface (discover, plan, extract).

Chunks. Customers, companies, conversations (and the conversation-scoped messages/notes and attachments) and
KObjects (per klass) are read by search. Their chunks are **windows on createdAt** (immutable, so a record never
moves from one chunk to another while the run goes on), each read by a keyset walk on (updatedAt, id) re-queried
after every page (:meth:`KustomerApi.walk`): the 100-page cap never binds and records sharing one timestamp are
neither skipped nor repeated. A record updated during the walk moves behind the cursor and is met again; the
chunk keeps its latest state, so it is staged once, as it is now. Windows end at the plan's high-water mark
(the latest ``updatedAt`` seen + 1 ms): what is created or updated after that is the next delta run's
(``since`` = that mark: ``updatedAt >= since``). The cursor is this source's own kind (``kustomer_search``:
context, createdAt window, since), not a :class:`TimeWindow` on updatedAt — a window on updatedAt would lose a
record updated after its window was read into a window already read. Small lists (users, teams, tags,
shortcuts, SLAs, workflows, business rules, klasses, custom attribute metadata) are one :class:`PageCursor` chunk
each, read with GET paging.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from hdm.http.errors import AuthFailed, NotFound
from hdm.model import CustomObjectType, Record, key
from hdm.sources.base import BlobSink, ChunkSpec, CursorError, Discovery, PageCursor, SourceBase
from hdm.sources.kustomer import records
from hdm.sources.kustomer.client import KustomerApi
from hdm.sources.kustomer.values import instant, iso_utc, kustomer_time, rel_id

log = logging.getLogger(__name__)

SYSTEM = "kustomer"
SEARCH_KIND = "kustomer_search"
# object type -> (search context, field prefix); kobjects: one context per klass (kobject_<name>)
SEARCHED = {"organization": "company", "contact": "customer", "ticket": "conversation",
            "message": "conversation", "attachment": "conversation", "event": "conversation", "note": "note"}
# criteria a context always carries: notes outside any conversation (those in one are read with their thread)
CONTEXT_CRITERIA: dict[str, list[Any]] = {"note": [{"note_conversation": {"not_set": True}}]}
# object type -> the GET lists it reads
LISTED = {"agent": ["users"], "team": ["teams"], "tag": ["tags"], "response_template": ["shortcuts"],
          "sla_policy": ["slas"], "automation_rule": ["workflows", "business-rules", "slas"],
          "custom_field": ["metadata"], "custom_object_type": ["klasses"]}
LARGE_LISTS = {"users", "teams"}  # 500 a page
METADATA_RESOURCES = ("customer", "conversation", "company", "message")
MAX_WINDOWS = 100_000


@dataclass
class ChunkStats:
    chunk_id: str
    object_type: str
    records: int = 0
    reread: int = 0  # records met again during the walk (updated while it ran): staged once, latest state
    orphans: int = 0
    attachments_staged: int = 0
    bytes_staged: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class KustomerSource(SourceBase):
    system = SYSTEM

    def __init__(self, api: KustomerApi, *, since: Optional[str] = None, download_attachments: bool = True) -> None:
        self.api = api
        self.since = iso_utc(since) if since else None
        if since and self.since is None:
            raise ValueError("since must be an ISO-8601 timestamp")
        self.download_attachments = download_attachments
        self.high_water: Optional[str] = None  # set by plan(): the next delta run's `since`
        self.last_stats: Optional[ChunkStats] = None
        self._tags: Optional[dict[str, str]] = None
        self._klasses: Optional[dict[str, CustomObjectType]] = None

    # -- lookups ------------------------------------------------------------------------------------------------
    def tag_names(self) -> dict[str, str]:
        if self._tags is None:
            self._tags = {str(t["id"]): records.tag(t).name for t in self.api.list_all("/tags")}
        return self._tags

    def klasses(self) -> dict[str, CustomObjectType]:
        if self._klasses is None:
            self._klasses = {}
            for resource in self.api.list_all("/klasses"):
                t = records.klass_type(resource)
                self._klasses[t.name] = t
        return self._klasses

    def search_contexts(self, tolerant: bool = False) -> dict[str, tuple[str, str]]:
        """object type/context label -> (search context, field prefix), klasses included (``tolerant``: without
        them when the key may not read klasses; planning is never tolerant)."""
        out = {ctx: (ctx, ctx) for ctx in ("company", "customer", "conversation", "note")}
        try:
            klasses = self.klasses()
        except AuthFailed:
            if not tolerant:
                raise
            klasses = {}
        for name in klasses:
            out[f"kobject_{name}"] = (f"kobject_{name}", f"kobject_{name}")
        return out

    # -- high-water mark and windows ----------------------------------------------------------------------------
    def latest_update(self, context: str, prefix: str) -> Optional[str]:
        answer = self.api.search(context, [], sort=[{f"{prefix}_updated_at": "desc"}, {f"{prefix}_id": "desc"}],
                                 page_size=1)
        data = answer["data"]
        return iso_utc((data[0].get("attributes") or {}).get("updatedAt")) if data else None

    def compute_high_water(self) -> str:
        stamps = []
        for ctx, prefix in self.search_contexts(tolerant=True).values():
            try:
                stamp = self.latest_update(ctx, prefix)
            except AuthFailed:  # a context the key may not search: its chunks fail loudly when planned
                continue
            if stamp is not None:
                stamps.append(stamp)
        if self.since:
            stamps.append(self.since)
        if not stamps:
            return kustomer_time(dt.datetime.now(dt.UTC))
        latest = max(instant(s) for s in stamps)
        return kustomer_time(latest + dt.timedelta(milliseconds=1))

    def base_criteria(self, prefix: str, created_from: Optional[str], created_before: str,
                      updated_since: Optional[str]) -> list[Any]:
        crit: list[Any] = [*CONTEXT_CRITERIA.get(prefix, []), {f"{prefix}_created_at": {"lt": created_before}}]
        if created_from:
            crit.append({f"{prefix}_created_at": {"gte": created_from}})
        if updated_since:
            crit.append({f"{prefix}_updated_at": {"gte": updated_since}})
        return crit

    def windows(self, context: str, prefix: str, target: int, high_water: str) -> list[tuple[Optional[str], str, int]]:
        """(created_from, created_before, estimated rows) windows of about ``target`` records: the record at
        offset ``target`` of a search sorted on createdAt starts the next window (one search per window)."""
        base = self.base_criteria(prefix, None, high_water, self.since)
        total = self.api.count(context, base)
        if total == 0:
            return []
        if total <= target:
            return [(None, high_water, total)]
        size = min(500, target)
        page = min(max(target // size, 1), 99) + 1
        step = (page - 1) * size
        created, ident = f"{prefix}_created_at", f"{prefix}_id"
        sort = [{created: "asc"}, {ident: "asc"}]
        bounds: list[str] = []
        for _ in range(min(MAX_WINDOWS, total // step + 2)):
            crit = base + ([{created: {"gte": bounds[-1]}}] if bounds else [])
            data = self.api.search(context, crit, sort=sort, page=page, page_size=size)["data"]
            if not data:
                break
            bound = (data[0].get("attributes") or {}).get("createdAt")
            if not isinstance(bound, str):
                break
            if bounds and instant(bound) <= instant(bounds[-1]):  # more than a window share one createdAt
                data = self.api.search(context, base + [{created: {"gt": bounds[-1]}}], sort=sort, page_size=1)["data"]
                bound = (data[0].get("attributes") or {}).get("createdAt") if data else None
                if not isinstance(bound, str):
                    break
            bounds.append(bound)
        edges: list[Optional[str]] = [None, *bounds]
        out = []
        for i, start in enumerate(edges):
            end = edges[i + 1] if i + 1 < len(edges) else high_water
            assert end is not None
            out.append((start, end, step if i + 1 < len(edges) else max(0, total - step * len(bounds))))
        return out

    # -- Source interface ---------------------------------------------------------------------------------------
    def discover(self) -> Discovery:
        from hdm.sources.kustomer.discovery import discover

        return discover(self)

    def plan_lists(self) -> list[ChunkSpec]:
        """The chunks of the small GET lists (no search)."""
        return [ChunkSpec(t, PageCursor(params={"lists": lists}).to_dict()) for t, lists in LISTED.items()]

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        if self.high_water is None:  # discover() computed it already when it ran first (the pipeline's order)
            self.high_water = self.compute_high_water()
        hw = self.high_water
        specs = self.plan_lists()
        contexts = self.search_contexts()
        for context, (ctx, prefix) in contexts.items():
            types = [t for t, c in SEARCHED.items() if c == context] or ["custom_object_record"]
            for start, end, n in self.windows(ctx, prefix, chunk_rows, hw):
                for object_type in types:
                    cursor = {"kind": SEARCH_KIND, "context": ctx, "prefix": prefix, "created_from": start,
                              "created_before": end, "updated_since": self.since}
                    specs.append(ChunkSpec(object_type, cursor, n))
        return specs

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        stats = ChunkStats(chunk.chunk_id, chunk.object_type)
        self.last_stats = stats
        before = self.api.counters.snapshot()
        started = time.monotonic()
        try:
            for rec in self._extract(chunk, blobs, stats):
                stats.records += 1
                yield rec
        finally:
            stats.seconds = round(time.monotonic() - started, 3)
            after = self.api.counters.snapshot()
            stats.calls = {f: v["calls"] - before.get(f, {}).get("calls", 0) for f, v in after.items()
                           if v["calls"] != before.get(f, {}).get("calls", 0)}
            log.info("extracted %s: %s", chunk.chunk_id, stats.to_dict())

    def _extract(self, chunk: ChunkSpec, blobs: BlobSink | None, stats: ChunkStats) -> Iterator[Record]:
        if chunk.kind == PageCursor.KIND:
            yield from self._listed(chunk.object_type)
            return
        if chunk.kind != SEARCH_KIND:
            raise CursorError(f"chunk {chunk.chunk_id}: the Kustomer source does not read {chunk.kind!r} cursors")
        c = chunk.cursor
        try:
            ctx, prefix, before = str(c["context"]), str(c["prefix"]), str(c["created_before"])
        except KeyError as exc:
            raise CursorError(f"chunk {chunk.chunk_id}: cursor without {exc}") from None
        crit = self.base_criteria(prefix, c.get("created_from"), before, c.get("updated_since"))
        found = self.fresh(ctx, prefix, crit, chunk.estimated_rows, stats)
        t = chunk.object_type
        if t == "organization":
            yield from (records.company(r, self.tag_names()) for r in found)
        elif t == "contact":
            yield from (records.customer(r, self.tag_names()) for r in found)
        elif t == "ticket":
            yield from (records.conversation(r, self.tag_names()) for r in found)
        elif t == "message":
            yield from self._messages(found)
        elif t == "attachment":
            yield from self._attachments(found, blobs, stats)
        elif t == "event":
            yield from (e for r in found for e in records.lifecycle_events(r))
        elif t == "note":
            yield from (records.customer_note(r) for r in found)
        elif t == "custom_object_record":
            yield from self._kobjects(ctx.removeprefix("kobject_"), found, stats)
        else:
            raise CursorError(f"chunk {chunk.chunk_id}: the Kustomer source does not extract {t!r} by search")

    def fresh(self, context: str, prefix: str, criteria: list[Any], estimated: int,
              stats: Optional[ChunkStats] = None) -> list[dict[str, Any]]:
        """Every record of the walk, once, in the latest state met (a record met again replaces the first)."""
        size = self.api.search_page_size
        bound = (max(estimated, 1) // size + 1) * 3 + 100  # room for records updated while the walk runs
        latest: dict[str, dict[str, Any]] = {}
        for resource in self.api.walk(context, prefix, criteria, max_pages=bound):
            ident = str(resource.get("id"))
            if ident in latest and stats is not None:
                stats.reread += 1
            latest[ident] = resource
        return list(latest.values())

    # -- conversation-scoped ------------------------------------------------------------------------------------
    def _messages(self, conversations: list[dict[str, Any]]) -> Iterator[Record]:
        for conv in conversations:
            cid = str(conv["id"])
            messages = list(self.api.list_all("/conversations/{id}/messages", path_params={"id": cid}))
            note_count = (conv.get("attributes") or {}).get("noteCount")
            notes = [] if note_count == 0 else list(self.api.list_all("/conversations/{id}/notes",
                                                                      path_params={"id": cid}))
            yield from records.thread(cid, messages, notes)

    def _attachments(self, conversations: list[dict[str, Any]], blobs: BlobSink | None,
                     stats: ChunkStats) -> Iterator[Record]:
        for conv in conversations:
            cid = str(conv["id"])
            for resource in self.api.list_all("/conversations/{id}/attachments", path_params={"id": cid}):
                att = records.attachment(resource, cid, set())
                if blobs is not None and self.download_attachments:
                    self._stage(att, resource, blobs, stats)
                yield att

    def _stage(self, att: Any, resource: dict[str, Any], blobs: BlobSink, stats: ChunkStats) -> None:
        url = (resource.get("links") or {}).get("related")
        if not isinstance(url, str) or not url:
            att.flag("attachment_unreachable", "no download link (links.related)", field="blob", severity="error")
            return
        try:
            stage_key, sha, size = blobs.put_blob(self.api.download(url))
        except NotFound:
            att.flag("missing_file", "the attachment's bytes are gone (404)", field="blob", severity="error")
            return
        att.blob, att.sha256 = stage_key, sha
        stats.attachments_staged += 1
        stats.bytes_staged += size
        if att.size is not None and size != att.size:
            att.flag("size_mismatch", f"read {size} bytes, contentLength says {att.size}", field="blob",
                     severity="error")
            att.size = size

    # -- KObjects -----------------------------------------------------------------------------------------------
    def _kobjects(self, klass_name: str, found: list[dict[str, Any]], stats: ChunkStats) -> Iterator[Record]:
        klass = self.klasses().get(klass_name)
        if klass is None:
            raise CursorError(f"klass {klass_name!r} is gone since the plan")
        lookups = records.lookups_of(klass)
        made = [records.kobject(r, klass) for r in found]
        wanted: dict[str, set[str]] = {}
        for _, parents in made:
            for prop, parent in parents.items():
                wanted.setdefault(lookups[prop], set()).add(parent)
        existing = {target: self.existing_kobjects(target, ids) for target, ids in wanted.items()}
        for rec, parents in made:
            for prop, parent in parents.items():
                target = lookups[prop]
                if parent not in existing[target]:
                    ref = key("custom_object_record", parent)
                    rec.related = [r for r in rec.related if r != ref]
                    rec.extra = {**rec.extra, "missing_parents": {**rec.extra.get("missing_parents", {}),
                                                                  prop: parent}}
                    rec.flag("dangling_fk", f"{prop} refers to a {target} that does not exist (deleted upstream?); "
                             "loaded without that link", field=f"values.{prop}")
                    stats.orphans += 1
            yield rec

    def existing_kobjects(self, klass_name: str, ids: set[str]) -> set[str]:
        """Which of ``ids`` are KObjects of ``klass_name`` (one search per 100 ids)."""
        if klass_name not in self.klasses():
            return set()
        out: set[str] = set()
        todo = sorted(ids)
        for i in range(0, len(todo), 100):
            batch = todo[i:i + 100]
            ctx = f"kobject_{klass_name}"
            answer = self.api.search(ctx, [{f"{ctx}_id": {"in": batch}}], page_size=100)
            out.update(str(r.get("id")) for r in answer["data"] if isinstance(r, dict))
        return out

    # -- small lists --------------------------------------------------------------------------------------------
    def _listed(self, object_type: str) -> Iterator[Record]:
        if object_type == "agent":
            teams = list(self.api.list_all("/teams", page_size=500))
            groups: dict[str, list[str]] = {}
            for t in teams:
                for member in (t.get("attributes") or {}).get("members") or []:
                    groups.setdefault(str(member), []).append(key("team", t["id"]))
            for u in self.api.list_all("/users", page_size=500):
                yield records.user(u, groups.get(str(u["id"]), []))
        elif object_type == "team":
            yield from (records.team(t) for t in self.api.list_all("/teams", page_size=500))
        elif object_type == "tag":
            yield from (records.tag(t) for t in self.api.list_all("/tags"))
        elif object_type == "response_template":
            yield from (records.shortcut(s) for s in self.api.list_all("/shortcuts"))
        elif object_type == "sla_policy":
            for sla, version in self.slas():
                yield records.sla_policy(sla, version)
        elif object_type == "automation_rule":
            yield from (records.automation("workflow", w) for w in self.api.list_all("/workflows"))
            yield from (records.automation("business-rule", b) for b in self.api.list_all("/business-rules"))
            yield from (records.automation("sla", s) for s, _ in self.slas())
        elif object_type == "custom_field":
            for resource in METADATA_RESOURCES:
                try:
                    meta = self.api.get("/metadata/{r}", path_params={"r": resource})
                except NotFound:
                    continue
                yield from records.custom_fields(resource, (meta or {}).get("data") or {})
        elif object_type == "custom_object_type":
            self._klasses = None
            yield from self.klasses().values()
        else:
            raise CursorError(f"the Kustomer source does not list {object_type!r}")

    def slas(self) -> list[tuple[dict[str, Any], Optional[dict[str, Any]]]]:
        """Each SLA with its current version (``?versions=all`` includes them)."""
        out = []
        for body in self.api.list_body("/slas", params={"versions": "all"}):
            versions = [v for v in body.get("included") or [] if isinstance(v, dict)]
            for sla in body.get("data") or []:
                current = (sla.get("attributes") or {}).get("currentVersion")
                mine = [v for v in versions if rel_id(v, "sla") == str(sla["id"])]
                chosen = next((v for v in mine if (v.get("attributes") or {}).get("version") == current), None)
                out.append((sla, chosen or (mine[-1] if mine else None)))
        return out

    def roles(self) -> list[str]:
        try:
            body = self.api.get("/auth/tokens/current")
        except (AuthFailed, NotFound):
            return []
        roles = ((body or {}).get("data") or {}).get("attributes", {}).get("roles")
        return sorted(r for r in roles or [] if isinstance(r, str))

    def close(self) -> None:
        self.api.http.session.close()

    def __enter__(self) -> KustomerSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
