"""The Intercom destination (implements hdm.destinations.base.Destination).

    dest = IntercomDestination(api_factory, mapping, options)

``api_factory()`` returns the :class:`IntercomApi` (one per destination, shared by the workers: one limiter).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Optional

from hdm.connector_errors import DestinationFailure, SchemaNotReady
from hdm.crosswalk.base import Crosswalk, CrosswalkEntry
from hdm.destinations.base import ChunkLoadResult, LoadPhase, PhaseGraph, PhaseGraphError
from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.api import IntercomApi
from hdm.destinations.intercom.loaders import LOADERS
from hdm.destinations.intercom.options import IntercomOptions, legacy_id
from hdm.destinations.intercom.phases import TICKET_SCOPED, TICKET_WORKERS
from hdm.destinations.intercom.prepare import prepare
from hdm.destinations.intercom.rollback import prove_gone, rollback_entries, sweep
from hdm.destinations.intercom.run import Run
from hdm.destinations.intercom.staged import StagedLookups
from hdm.destinations.intercom.transform import IntercomTransformer
from hdm.destinations.intercom.verify import VERIFIERS
from hdm.http import HttpKitError, QuotaExhausted, Rejected, Transient
from hdm.mapping import Mapping, load_mapping
from hdm.model import Record

TRANSFORM_VERSION = 1


class boundary:
    """The destination's edge: the REST kit's Transient and QuotaExhausted pass as they are (they are the generic
    failures the engines act on); any other failure of the kit (token refused, request refused, paging) becomes
    the generic DestinationFailure, so the CLI says "destination" and exits with the destination's status."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, HttpKitError) and not isinstance(exc, (Transient, QuotaExhausted)):
            raise DestinationFailure(f"Intercom: {exc}") from exc
        return False

# one client per workspace and process: the engines build a destination per worker thread, and the workers must
# share one rate limiter (and one set of call counters) for the quota share to hold
_SHARED: dict[tuple, IntercomApi] = {}
_SHARED_LOCK = threading.Lock()

LEDGER_TARGETS = {
    "ticket": "migrated as an Intercom ticket of the migration's ticket type (state set after its parts)",
    "ticket.custom": "migrated as ticket attributes, contact and company data attributes",
    "message": "migrated as ticket parts in thread order: customer replies as the contact, agent responses as "
               "the admin, internal notes as notes",
    "attachment": "migrated as files on their part (or on an internal note right after it)",
    "organization": "migrated as a company (company_id = legacy id)",
    "contact": "migrated as a contact (role user; an existing one with the same email is linked)",
    "agent": "matched to an admin by email (never created)",
    "team": "matched to a team by name (never created)",
    "category": "kept as a tag on its tickets; the record itself is inventory only",
    "sla_policy": "kept as the ticket attribute 'SLA plan'; the record itself is inventory only",
    "custom_field": "migrated as attribute definitions (created by prepare)",
}


class IntercomDestination:
    name = "intercom"

    def __init__(self, api_factory: Callable[[], IntercomApi], mapping: Optional[Mapping] = None,
                 options: IntercomOptions | dict[str, Any] | None = None):
        self.api_factory = api_factory
        self.mapping = mapping or load_mapping("osticket", "intercom")
        self.options = IntercomOptions.from_any(options)
        if options is None and "unmatched_agent" in self.mapping.policies:
            self.options.unmatched_agent_policy = self.mapping.policies["unmatched_agent"]
        self.lookups = StagedLookups(self.options.stage, self.options.names)
        self.transformer = IntercomTransformer(self.mapping, self.options, self.lookups)
        self._lock = threading.RLock()
        self._api: Optional[IntercomApi] = None
        self._admins: Optional[dict[str, dict[str, Any]]] = None
        self._default_admin: Optional[str] = None
        self._ticket_type: Optional[tuple[str, dict[str, dict[str, Any]]]] = None
        self._tags: Optional[dict[str, str]] = None
        self._states: Optional[dict[str, str]] = None
        self._data_attributes: dict[str, frozenset[str]] = {}

    @classmethod
    def from_config(cls, cfg: Any, token: Callable[[], str], stage: Any, migration_id: Optional[str] = None,
                    source_type: Optional[str] = None) -> IntercomDestination:
        if not source_type:  # never a silent fall-back to another source's mapping pair
            raise ValueError("the Intercom destination needs the source type to choose its mapping pair")
        mapping = load_mapping(source_type, cfg.type, override=cfg.mapping_overrides)

        def api() -> IntercomApi:
            key = (cfg.base_url, cfg.access_token, cfg.api_version, cfg.ca_bundle, cfg.rate_limit_per_minute,
                   cfg.quota_share)
            with _SHARED_LOCK:
                if key not in _SHARED:
                    _SHARED[key] = IntercomApi(cfg.base_url, token, api_version=cfg.api_version,
                                               ca_bundle=cfg.ca_bundle, per_minute=cfg.rate_limit_per_minute,
                                               share=cfg.quota_share, workers=2 * TICKET_WORKERS)
                return _SHARED[key]

        return cls(api, mapping, IntercomOptions(
            stage=stage, legacy_namespace=migration_id, unmatched_agent_policy=cfg.unmatched_agent_policy,
            default_admin_email=cfg.default_admin_email, ticket_type_name=cfg.ticket_type_name,
            max_attachment_bytes=cfg.max_attachment_bytes, verify_after_load=cfg.verify_after_load,
            private_notes_available=cfg.private_notes_available, no_requester_contact=cfg.no_requester_contact))

    # -- plumbing -------------------------------------------------------------------------------------------------
    @property
    def api(self) -> IntercomApi:
        with self._lock:
            if self._api is None:
                self._api = self.api_factory()
            return self._api

    def legacy(self, source_key: str) -> str:
        return legacy_id(self.options.legacy_namespace, source_key)

    def blob(self, key: str) -> bytes:
        if self.options.stage is None:
            raise RuntimeError("attachments need the stage (options.stage)")
        with self.options.stage.open_blob(key) as f:
            return f.read()

    def admins_by_email(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._admins is None:
                self._admins = {(a.get("email") or "").casefold(): a for a in self.api.admins() if a.get("email")}
            return self._admins

    def default_admin_id(self) -> str:
        with self._lock:
            if self._default_admin is None:
                email = self.options.default_admin_email
                if email:
                    admin = self.admins_by_email().get(email.casefold())
                    if admin is None:
                        raise Rejected("the default admin email matches no Intercom admin")
                    self._default_admin = str(admin["id"])
                else:
                    self._default_admin = str(self.api.me()["id"])
            return self._default_admin

    def ensure_ticket_type(self) -> tuple[str, bool]:
        with self._lock:
            name = self.options.ticket_type_name
            found = next((t for t in self.api.ticket_types() if t.get("name") == name and not t.get("archived")), None)
            if found is not None:
                return str(found["id"]), False
            made = self.api.create_ticket_type({"name": name, "category": "Customer", "is_internal": False,
                                                "description": "Tickets migrated from the old helpdesk by hdm"})
            self._ticket_type = None
            return str(made["id"]), True

    def ticket_type(self, refresh: bool = False) -> tuple[str, dict[str, dict[str, Any]]]:
        """(id, attributes by name) of the migration's ticket type (read once per process)."""
        with self._lock:
            if self._ticket_type is None or refresh:
                name = self.options.ticket_type_name
                found = next((t for t in self.api.ticket_types() if t.get("name") == name
                              and not t.get("archived")), None)
                if found is None:
                    raise SchemaNotReady(f"the ticket type {name!r} does not exist: run prepare")
                full = self.api.get_ticket_type(str(found["id"]))
                attrs = (full.get("ticket_type_attributes") or {}).get("ticket_type_attributes") or []
                self._ticket_type = (str(found["id"]), {a["name"]: a for a in attrs if a.get("name")})
                states = (full.get("ticket_states") or {}).get("data") or []
                if states:
                    self._states = {}
                    for s in states:
                        self._states.setdefault(s.get("category"), str(s["id"]))
            return self._ticket_type

    def data_attribute_names(self, model: str) -> frozenset[str]:
        """The custom data attributes the workspace has for contacts or companies (read once per process)."""
        with self._lock:
            if model not in self._data_attributes:
                self._data_attributes[model] = frozenset(
                    a["name"] for a in self.api.data_attributes(model) if a.get("name") and not a.get("archived"))
            return self._data_attributes[model]

    def state_id(self, category: str) -> Optional[str]:
        with self._lock:
            if self._states is None:
                self.ticket_type()
            if not self._states:
                self._states = {}
                for s in self.api.ticket_states():
                    self._states.setdefault(s.get("category"), str(s["id"]))
            return self._states.get(category)

    def tag_id(self, name: str) -> str:
        with self._lock:
            if self._tags is None:
                self._tags = {(t.get("name") or "").casefold(): str(t["id"]) for t in self.api.tags()}
            found = self._tags.get(name.casefold())
            if found is None:
                found = self._tags[name.casefold()] = str(self.api.create_tag(name)["id"])
            return found

    def find_ticket(self, contact_id: str, legacy: Optional[str]) -> Optional[str]:
        """A ticket of this contact carrying this legacy id (a create whose answer never reached the crosswalk)."""
        if not legacy:
            return None
        type_id, attrs = self.ticket_type()
        query: dict[str, Any] = {"operator": "AND", "value": [
            {"field": "contact_ids", "operator": "=", "value": contact_id},
            {"field": "ticket_type_id", "operator": "=", "value": type_id}]}
        for ticket in self.api.search_tickets(query, limit_pages=20):
            if (ticket.get("ticket_attributes") or {}).get("hdm legacy id") == legacy:
                return str(ticket["id"])
        return None

    def tickets_by_legacy(self, contact_ids: Iterable[str], legacies: set[str]) -> dict[str, str]:
        """Tickets of the migration's type that carry one of ``legacies`` (ticket id by legacy id), found with one
        search per 50 contacts: a chunk loaded before from another state folder (or whose crosswalk was lost) is
        adopted, not created twice. Search lags behind writes (minutes on Intercom): a ticket written moments
        ago may not be found yet."""
        if not legacies:
            return {}
        type_id, _ = self.ticket_type()
        ids = sorted(set(contact_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), 50):
            query: dict[str, Any] = {"operator": "AND", "value": [
                {"field": "ticket_type_id", "operator": "=", "value": type_id},
                {"field": "contact_ids", "operator": "IN", "value": ids[start:start + 50]}]}
            for ticket in self.api.search_tickets(query, limit_pages=1000):
                legacy = (ticket.get("ticket_attributes") or {}).get("hdm legacy id")
                if legacy in legacies:
                    found.setdefault(legacy, str(ticket["id"]))
        return found

    # -- Destination ----------------------------------------------------------------------------------------------
    def phases(self) -> list[LoadPhase]:
        return P.GRAPH.order()

    def phase_graph(self) -> PhaseGraph:
        return P.GRAPH

    def ledger_targets(self) -> dict[str, str]:
        return dict(LEDGER_TARGETS)

    def fingerprint(self) -> str:
        o = self.options
        shaping = (TRANSFORM_VERSION, o.legacy_namespace, o.max_attachment_bytes, o.unmatched_agent_policy,
                   o.no_requester_contact)
        return f"{self.mapping.fingerprint}-{hashlib.sha256(repr(shaping).encode()).hexdigest()[:8]}"

    def transform(self, object_type: str, records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
        return self.transformer.transform(object_type, records)

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        stage = context.get("stage") or self.options.stage
        if stage is not None and stage is not self.options.stage:
            self.options.stage = stage
            self.lookups = StagedLookups(stage, self.options.names)
        defs = context.get("custom_fields")
        if defs is None and stage is not None:
            from hdm.model import record_from_dict

            defs = [record_from_dict(r) for k in stage.list("extract/custom_field/") if k.endswith(".jsonl.gz")
                    for r in stage.read_records(k)]
        with boundary():
            report = prepare(self, list(defs or []))
        if report["not_ready"]:
            exc = SchemaNotReady("; ".join(f"{n['field']}: {n['reason']}" for n in report["not_ready"]))
            exc.report = report
            raise exc
        return report

    def baseline(self) -> dict[str, int]:
        return {}  # Intercom counts nothing cheaply; rollback proves every created record gone by id instead

    def load_chunk(self, phase: str, chunk_id: str, rows: list[dict[str, Any]], crosswalk: Crosswalk,
                   migration_id: str, run_id: str) -> ChunkLoadResult:
        if phase not in LOADERS:
            raise PhaseGraphError(f"unknown Intercom load phase {phase!r}")
        api = self.api
        start = api.calls.total
        result = ChunkLoadResult(phase=phase, chunk_id=chunk_id)
        run = Run(api, crosswalk, migration_id, run_id, phase, result)
        run.flags(rows)
        try:
            with boundary():
                batches = _by_ticket(rows, TICKET_SCOPED.get(phase), TICKET_WORKERS)
                if len(batches) <= 1:
                    _load(LOADERS[phase], self, run, rows)
                else:
                    self._load_fanned(phase, batches, run)
        finally:
            result.api_calls = api.calls.total - start
        return result

    def _load_fanned(self, phase: str, batches: list[list[dict[str, Any]]], run: Run) -> None:
        """One loader per batch of whole tickets, on threads (the client and its limiter are shared); outcomes and
        flags are merged in batch order. Any batch's error is raised once every batch has ended."""
        parts = [ChunkLoadResult(phase=run.phase, chunk_id=run.result.chunk_id) for _ in batches]
        crosswalk = _OneAtATime(run.crosswalk)
        runs = [Run(run.api, crosswalk, run.migration_id, run.run_id, run.phase, r) for r in parts]
        with ThreadPoolExecutor(max_workers=len(batches), thread_name_prefix=f"intercom-{phase}") as pool:
            futures = [pool.submit(_load, LOADERS[phase], self, r, b) for r, b in zip(runs, batches, strict=True)]
            wait(futures)
        for r in parts:
            run.result.outcomes.extend(r.outcomes)
            run.result.flags.extend(r.flags)
        for f in futures:
            if f.exception() is not None:
                raise f.exception()

    def verify_chunk(self, phase: str, rows: list[dict[str, Any]], crosswalk: Crosswalk,
                     migration_id: str) -> list[dict[str, Any]]:
        verifier = VERIFIERS.get(phase)
        if verifier is None or not self.options.verify_after_load:
            return []
        run = Run(self.api, crosswalk, migration_id, "verify", phase, ChunkLoadResult(phase, "verify"))
        with boundary():
            return verifier(self, run, rows)

    def rollback(self, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
        with boundary():
            return rollback_entries(self, entries)

    def rollback_sweep(self) -> dict[str, int]:
        """Delete the records carrying this migration's legacy ids that the crosswalk does not know."""
        with boundary():
            return sweep(self)

    def rollback_proof(self, entries: list[CrosswalkEntry]) -> dict[str, Any]:
        with boundary():
            return prove_gone(self, entries)

    def rate_report(self) -> dict[str, Any]:
        """Calls per family and the limiter's waits (benchmarks, the closing note)."""
        return {"calls": self.api.calls.snapshot(), "limiter": self.api.limiter.snapshot()}


if set(LOADERS) != set(P.GRAPH.by_name):
    raise PhaseGraphError(f"Intercom loaders {sorted(LOADERS)} do not match the declared phases {P.GRAPH.names()}")


class _OneAtATime:
    """The loaders' crosswalk calls (``get_many``, ``put_many``) one at a time across the fan-out's threads: a
    crosswalk need not be thread-safe (boto3's resource objects behind the DynamoDB one are not). Its calls are
    local or a few milliseconds; the Intercom calls, the ones that take the time, still run side by side."""

    def __init__(self, inner: Crosswalk) -> None:
        self._inner, self._lock = inner, threading.Lock()

    def get_many(self, migration_id: str, keys: list[str]) -> dict[str, list[CrosswalkEntry]]:
        with self._lock:
            return self._inner.get_many(migration_id, keys)

    def put_many(self, entries: Iterable[CrosswalkEntry]) -> None:
        entries = list(entries)
        with self._lock:
            self._inner.put_many(entries)


def _load(loader: Callable[..., None], dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    """A phase loader, then its deferred crosswalk entries written (also when it failed: what they record happened)."""
    try:
        loader(dest, run, rows)
    finally:
        run.flush()


def _by_ticket(rows: list[dict[str, Any]], field: Optional[str], n: int) -> list[list[dict[str, Any]]]:
    """``rows`` in at most ``n`` batches, every ticket's rows in one batch and in their order (none when the phase
    is not ticket-scoped: one batch)."""
    if not field or n <= 1:
        return [rows]
    tickets: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        tickets.setdefault(row.get(field), []).append(row)
    batches: list[list[dict[str, Any]]] = [[] for _ in range(min(n, len(tickets)))]
    for i, group in enumerate(tickets.values()):
        batches[i % len(batches)].extend(group)
    return [b for b in batches if b]
