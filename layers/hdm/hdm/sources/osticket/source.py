"""``OsTicketSource``: the osTicket plug-in behind hdm's Source interface (discover, plan, extract)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Optional, TypeVar

from hdm.model import Record
from hdm.sources.base import BlobSink, ChunkSpec, Discovery, KeyRange, SourceBase
from hdm.sources.osticket import attachments, catalog, people, threads, tickets
from hdm.sources.osticket.connection import ConnParams, ReadOnlyConnection
from hdm.sources.osticket.context import SYSTEM, Context
from hdm.sources.osticket.errors import NotOsTicketError, OsTicketError
from hdm.sources.osticket.stats import ChunkStats
from hdm.sources.osticket.values import load_zone
from hdm.sources.osticket.versions import Layout, SchemaFacts, detect_layout, resolve_version

log = logging.getLogger(__name__)
T = TypeVar("T")

# object type → (own table(s) whose ids the chunks range over, id column) for non-ticket-scoped types
OWN_TABLES: dict[str, list[tuple[str, str]]] = {
    "organization": [("organization", "id")],
    "contact": [("user", "id")],
    "agent": [("staff", "staff_id")],
    "team": [("department", "id"), ("team", "team_id")],
    "sla_policy": [("sla", "id")],
    "category": [("help_topic", "topic_id")],
    "status": [("ticket_status", "id")],
    "priority": [("ticket_priority", "priority_id")],
    "custom_field": [("form_field", "id")],
    "response_template": [("canned_response", "canned_id"), ("email_template", "id")],
    "automation_rule": [("filter", "id"), ("sla", "id"), ("help_topic", "topic_id"), ("department", "id")],
    "kb_category": [("faq_category", "category_id")],
    "kb_article": [("faq", "faq_id")],
}
# object types split into several chunks by id (the others are one chunk per type)
LARGE_OWN = {"organization", "contact"}
TICKET_SCOPED = ("ticket", "message", "attachment", "event")

EXTRACTORS: dict[str, Callable[..., Iterator[Record]]] = {
    "organization": people.organizations,
    "contact": people.contacts,
    "agent": people.agents,
    "team": people.teams,
    "sla_policy": catalog.sla_policies,
    "category": catalog.categories,
    "status": catalog.statuses,
    "priority": catalog.priorities,
    "custom_field": catalog.custom_fields,
    "response_template": catalog.response_templates,
    "automation_rule": catalog.automation_rules,
    "kb_category": catalog.kb_categories,
    "kb_article": catalog.kb_articles,
    "ticket": tickets.tickets,
    "message": threads.messages,
    "event": threads.events,
}

REQUIRED_TABLES = ("config", "ticket", "user", "staff", "department")


class OsTicketSource(SourceBase):
    """Reads one osTicket database, read-only, chunk by chunk.

    ``conn_params``: a :class:`ConnParams` or a dict (host, port, user, password, database, unix_socket).
    ``prefix``: the table prefix; detected from information_schema when not given.
    ``allow_writable``: accept an account with write grants (the statement guard still refuses writes).
    ``attachments_dir``: the upload path of the filesystem storage backend (bk 'F'), when used.
    ``attachment_roots``: further folders files may be read from (the 1.6 upload folder of bk '6' paths). No file
    outside these folders is ever read, whatever a row names.
    """

    system = SYSTEM

    def __init__(self, conn_params: ConnParams | dict[str, Any], prefix: Optional[str] = None,
                 allow_writable: bool = False, attachments_dir: Optional[str] = None,
                 attachment_roots: Iterable[str] = ()) -> None:
        self.params = ConnParams.of(conn_params)
        self.allow_writable = allow_writable
        self.attachments_dir = attachments_dir
        self.attachment_roots = tuple(attachment_roots)
        self.conn = ReadOnlyConnection(self.params, allow_writable=allow_writable)
        self.last_stats: Optional[ChunkStats] = None
        self.warnings: list[str] = []
        self._aux: Optional[ReadOnlyConnection] = None
        self._side: Optional[ReadOnlyConnection] = None  # a third connection, used only by the background thread
        self._side_pool: Optional[ThreadPoolExecutor] = None
        self._statement_log: Optional[list[str]] = None
        try:
            self.prefix = self._detect_prefix(prefix)
            self.columns = self._load_columns()
            missing = [t for t in REQUIRED_TABLES if t not in self.columns]
            if missing:
                names = ", ".join(self.prefix + m for m in missing)
                raise NotOsTicketError(f"not an osTicket database: table(s) {names} missing")
            self.config = self._load_config()
            facts = SchemaFacts(tables=frozenset(self.columns), ticket_columns=self.columns.get("ticket", frozenset()),
                                email_account_columns=self.columns.get("email_account", frozenset()))
            layout = detect_layout(facts)
            if layout is None:
                raise NotOsTicketError("not a supported osTicket database: neither thread/thread_entry (1.10+) nor "
                                       "ticket_thread (1.7-1.9) exists")
            self.layout: Layout = layout
            self.version, warning = resolve_version(self.config.get("schema_signature"), facts)
            if warning:
                self.warnings.append(warning)
            self.zone, zone_warning = load_zone(self.config.get("db_timezone"))
            if zone_warning:
                self.warnings.append(zone_warning)
            self._cache: dict[str, Any] = {}
        except BaseException:
            self.close()
            raise

    # -- setup -----------------------------------------------------------------------------------

    def _detect_prefix(self, prefix: Optional[str]) -> str:
        names = {r["TABLE_NAME"] for r in self.conn.rows(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")}
        if prefix is not None:
            if f"{prefix}ticket" not in names or f"{prefix}config" not in names:
                raise NotOsTicketError(f"no osTicket tables with prefix {prefix!r} in database "
                                       f"{self.params.database!r}")
            return prefix
        candidates = sorted(n[: -len("ticket")] for n in names if n.endswith("ticket")
                            and f"{n[: -len('ticket')]}config" in names
                            and ({f"{n[: -len('ticket')]}thread_entry", f"{n[: -len('ticket')]}ticket_thread"} & names))
        if not candidates:
            raise NotOsTicketError(f"database {self.params.database!r} holds no osTicket tables "
                                   "(no <prefix>ticket + <prefix>config + a thread table)")
        if len(candidates) > 1:
            raise NotOsTicketError(f"database {self.params.database!r} holds several osTicket installs (prefixes "
                                   f"{', '.join(repr(c) for c in candidates)}); pass prefix=")
        return candidates[0]

    def _load_columns(self) -> dict[str, frozenset[str]]:
        cols: dict[str, set[str]] = {}
        for r in self.conn.rows(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME LIKE %s", (self.prefix.replace("_", "\\_") + "%",)):
            cols.setdefault(r["TABLE_NAME"][len(self.prefix):], set()).add(r["COLUMN_NAME"])
        return {k: frozenset(v) for k, v in cols.items()}

    def _load_config(self) -> dict[str, str]:
        if "namespace" not in self.columns.get("config", ()):
            return {}  # ≤ 1.7 kept one wide config row; nothing we rely on lives there
        rows = self.conn.rows(f"SELECT `key`, value FROM `{self.prefix}config` WHERE namespace = 'core' AND `key` IN "
                              "('schema_signature', 'db_timezone', 'default_priority_id', 'default_storage_bk', "
                              "'helpdesk_url', 'enable_richtext', 'default_timezone', 'client_name_format', "
                              "'agent_name_format')")
        return {r["key"]: (r["value"] or "") for r in rows}

    def _new_aux(self) -> ReadOnlyConnection:
        if self._aux is None:
            self._aux = ReadOnlyConnection(self.params, allow_writable=True, check_grants=False)
            self._aux.statement_log = self._statement_log
        return self._aux

    def _aside(self, work: Callable[[ReadOnlyConnection], T]) -> Future[T]:
        """Run ``work`` with a connection of its own in one background thread, so the server executes its
        (chunk-sized, buffered) lookups while this thread decodes other rows; the caller waits on the future."""
        if self._side_pool is None:
            self._side_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hdm-osticket-side")

        def run() -> T:
            if self._side is None:
                self._side = ReadOnlyConnection(self.params, allow_writable=True, check_grants=False)
                self._side.statement_log = self._statement_log
            return work(self._side)

        return self._side_pool.submit(run)

    def record_statements(self, sink: Optional[list[str]]) -> None:
        """Append every data statement both connections run from now on (arguments bound) to ``sink``; ``None``
        stops. Benchmarks replay them through the mysql client to compare like with like."""
        self._statement_log = sink
        self.conn.statement_log = sink
        for extra in (self._aux, self._side):
            if extra is not None:
                extra.statement_log = sink

    @property
    def rows_fetched(self) -> int:
        """Rows the server has returned to this source's data statements so far (both connections)."""
        return self.conn.rows_fetched + sum(c.rows_fetched for c in (self._aux, self._side) if c is not None)

    def context(self, stats: Optional[ChunkStats] = None) -> Context:
        ctx = Context(conn=self.conn, aux_factory=self._new_aux, aside_runner=self._aside, prefix=self.prefix,
                      version=self.version,
                      layout=self.layout, zone=self.zone, columns=self.columns, config=self.config,
                      attachments_dir=self.attachments_dir, attachment_roots=self.attachment_roots,
                      cache=self._cache)
        if stats is not None:
            ctx.stats = stats
        return ctx

    # -- Source interface --------------------------------------------------------------------------

    def discover(self) -> Discovery:
        from hdm.sources.osticket.discovery import discover

        return discover(self)

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        """Key-range chunks for every object type (ticket-scoped types range over ticket ids)."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        specs: list[ChunkSpec] = []
        for object_type, tables in OWN_TABLES.items():
            present = [(t, c) for t, c in tables if t in self.columns]
            if not present:
                continue
            if object_type in LARGE_OWN:
                specs += [ChunkSpec.key_range(object_type, lo, hi, n) for lo, hi, n in
                          self._ranges(present[0][0], present[0][1], chunk_rows)]
                continue
            bounds = [self.conn.rows(f"SELECT MIN(`{c}`) AS lo, MAX(`{c}`) AS hi, COUNT(*) AS n "
                                     f"FROM `{self.prefix}{t}`")[0] for t, c in present]
            nonempty = [b for b in bounds if b["n"]]
            if nonempty:
                specs.append(ChunkSpec.key_range(object_type, min(int(b["lo"]) for b in nonempty),
                                       max(int(b["hi"]) for b in nonempty), sum(int(b["n"]) for b in nonempty)))
        for lo, hi, n in self._ranges("ticket", "ticket_id", chunk_rows):
            for object_type in TICKET_SCOPED:
                specs.append(ChunkSpec.key_range(object_type, lo, hi, n))
        return specs

    # -- delta runs (hdm/delta.py) ---------------------------------------------------------

    def delta_mark(self) -> dict[str, Any]:
        from hdm.sources.osticket.incremental import delta_mark

        return delta_mark(self)

    def plan_delta(self, chunk_rows: int, since: dict[str, Any], lag_seconds: int, label: str) -> list[ChunkSpec]:
        from hdm.sources.osticket.incremental import plan_delta

        return plan_delta(self, chunk_rows, since, lag_seconds, label)

    def live_keys(self) -> dict[str, set[str]]:
        from hdm.sources.osticket.incremental import live_keys

        return live_keys(self)

    def _ranges(self, table: str, id_col: str, chunk_rows: int) -> list[tuple[int, int, int]]:
        """Contiguous [lo, hi] ranges of about ``chunk_rows`` ids each, from the id distribution (keyset walk)."""
        out: list[tuple[int, int, int]] = []
        lo: Optional[int] = None
        n = 0
        last = None
        for r in self.conn.stream(f"SELECT `{id_col}` AS id FROM `{self.prefix}{table}` ORDER BY `{id_col}`",
                                  batch=10000):
            ident = int(r["id"])
            if lo is None:
                lo = ident
            n += 1
            last = ident
            if n == chunk_rows:
                out.append((lo, ident, n))
                lo, n = None, 0
        if lo is not None and last is not None:
            out.append((lo, last, n))
        # make the ranges contiguous so an id inserted between two chunks still belongs to one
        return [(rng[0] if i == 0 else out[i - 1][1] + 1, rng[1], rng[2]) for i, rng in enumerate(out)]

    def extract(self, chunk: ChunkSpec, blobs: BlobSink | None = None) -> Iterator[Record]:
        """The canonical records of one chunk; ``last_stats`` holds its accounting once it is exhausted."""
        stats = ChunkStats(chunk.chunk_id, chunk.object_type)
        self.last_stats = stats
        ctx = self.context(stats)
        started = time.monotonic()
        keys = chunk.cursor_as(KeyRange)  # the plan above makes key ranges only
        if chunk.object_type == "attachment":
            records = attachments.attachments(ctx, keys.lo, keys.hi, blobs)
        elif chunk.object_type in EXTRACTORS:
            records = EXTRACTORS[chunk.object_type](ctx, keys.lo, keys.hi)
        else:
            raise OsTicketError(f"the osTicket source does not extract {chunk.object_type!r}")
        self.conn.begin_snapshot()
        try:
            yield from records
        finally:
            records.close()
            self.conn.end_snapshot()
            stats.seconds = time.monotonic() - started
            log.info("extracted %s: %s", chunk.chunk_id, stats.to_dict())

    def close(self) -> None:
        if self._side_pool is not None:
            self._side_pool.shutdown(wait=True, cancel_futures=True)
            self._side_pool = None
        for extra in (self._aux, self._side):
            if extra is not None:
                extra.close()
        self._aux = self._side = None
        self.conn.close()

    def __enter__(self) -> OsTicketSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
