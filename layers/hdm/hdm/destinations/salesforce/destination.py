"""The Salesforce Service Cloud destination (implements hdm.destinations.base.Destination).

    dest = SalesforceDestination(client_factory, mapping, options)

``client_factory()`` returns a logged-in ``simple_salesforce.Salesforce``; it is called once per worker
thread. ``mapping`` is a :class:`hdm.mapping.Mapping` (default: the osTicket→Salesforce YAML). ``options``
is a :class:`SalesforceOptions` or a dict of its fields (``stage`` gives access to attachment bytes).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Optional

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry
from hdm.destinations.base import ChunkLoadResult, LoadPhase, PhaseGraph, PhaseGraphError
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.chunk import ChunkRun
from hdm.destinations.salesforce.comments import load_comments
from hdm.destinations.salesforce.custom_fields import CustomFieldCatalog, CustomFieldPlan
from hdm.destinations.salesforce.custom_objects import prepare_custom_objects
from hdm.destinations.salesforce.errors import DailyLimitExceeded, SalesforceDestinationError, SchemaNotReady
from hdm.destinations.salesforce.field_check import FieldChecker
from hdm.destinations.salesforce.files import load_files
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.owners import load_queues, load_users
from hdm.destinations.salesforce.records import load_accounts, load_case_parents, load_cases, load_contacts
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.related import load_case_contacts, load_case_events
from hdm.destinations.salesforce.retry import is_daily_limit
from hdm.destinations.salesforce.rollback import baseline_counts, prove_gone, rollback_entries, sweep_namespace
from hdm.destinations.salesforce.schema import audit_fields_allowed, prepare_schema
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.destinations.salesforce.verify import verify_rows
from hdm.mapping import Mapping, load_mapping
from hdm.model import CustomFieldDef, Record

log = logging.getLogger(__name__)

BASELINE_OBJECTS = ("Account", "Contact", "Case", "CaseComment", "ContentDocument", "Group")
LEDGER_TARGETS = {
    "ticket": "migrated as Case (tasks: Case 'Task #<number>' under the ticket's Case)",
    "ticket.collaborators": "migrated as CaseContactRole (Case, Contact, Role CC/Collaborator/Former collaborator)",
    "ticket.custom": "migrated as custom fields of Case, Contact and Account",
    "message": "migrated as CaseComment (split at 4,000 bytes)",
    "event": "migrated as hdm_Case_Event__c (Case lookup, time, actor, type, details)",
    "attachment": "migrated as ContentVersion + ContentDocumentLink",
    "organization": "migrated as Account (same names merged)",
    "contact": "migrated as Contact (same email merged)",
    "agent": "matched to a User by email (never created)",
    "team": "queues (osTicket departments) migrated as Queue; groups (osTicket teams) skipped (no Salesforce target)",
    "custom_field": "migrated as custom field definitions (created by prepare)",
    "category": "names kept in the Case picklist case_help_topic__c; the record itself is inventory only",
    "sla_policy": "names kept in the Case picklist case_sla_plan__c; the record itself is inventory only",
    "status": "mapped to Case.Status (value map case_status); the record itself is inventory only",
    "priority": "mapped to Case.Priority (value map case_priority); the record itself is inventory only",
    "response_template": "inventory only (reported, not migrated)",
    "automation_rule": "inventory only (reported for the admin to rebuild)",
    "kb_category": "inventory only (reported, not migrated)",
    "kb_article": "inventory only (reported, not migrated)",
}



# Bump when a code change makes the transform produce other rows for the same records and mapping, so that a
# migration resumed across the upgrade transforms its chunks again instead of loading old and new rows side by
# side. 2: a status name not in the value map falls back to its state (was: the map's default). 3: canonical model
# v2 (staged records name queues, groups and categories; a ticket row's owner carries "queue").
TRANSFORM_VERSION = 3

class SalesforceDestination:
    name = "salesforce"

    def __init__(self, client_factory: Callable[[], Salesforce], mapping: Optional[Mapping] = None,
                 options: SalesforceOptions | dict[str, Any] | None = None):
        self.client_factory = client_factory
        self.mapping = mapping or load_mapping("osticket", "salesforce")
        self.options = SalesforceOptions.from_any(options)
        if self.options.unmatched_agent_policy == "default_owner" and "unmatched_agent" in self.mapping.policies \
                and options is None:
            self.options.unmatched_agent_policy = self.mapping.policies["unmatched_agent"]
        self.names = ReferenceNames(self.options.reference_names, self.options.stage)
        self.catalog = CustomFieldCatalog(self.mapping, self.options.stage)
        self.transformer = SalesforceTransformer(self.mapping, self.options, self.names, self.catalog)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writable: dict[str, frozenset[str]] = {}  # per object, for unprepared_fields="drop"
        self._checkers: dict[str, FieldChecker] = {}  # per object: value checks from the org's describe
        self._audit_allowed: Optional[bool] = None
        self._default_owner: Optional[str] = self.options.default_owner_id

    @classmethod
    def from_config(cls, cfg: Any, client_factory: Callable[[], Salesforce], stage: Any,
                    migration_id: Optional[str] = None, source_type: Optional[str] = None) -> SalesforceDestination:
        """From a SalesforceDestinationConfig (hdm.destinations.salesforce.config); the migration id namespaces the
        legacy IDs, so another migration into the same org never touches this one's records. The mapping is the
        (source type, destination type) pair's, with the config's overrides."""
        mapping = load_mapping(source_type or "osticket", cfg.type, override=getattr(cfg, "mapping_overrides", None))
        return cls(client_factory, mapping, SalesforceOptions(
            bulk_threshold=cfg.bulk_threshold, unmatched_agent_policy=cfg.unmatched_agent_policy,
            default_owner_email=cfg.default_owner_email, unprepared_fields=cfg.unprepared_fields, stage=stage,
            legacy_namespace=migration_id, body_file_bytes=cfg.body_file_bytes,
        ))

    def fingerprint(self) -> str:
        """What the transform depends on: the transform code's version, the mapping and the options that shape
        rows (a chunk transformed under another fingerprint is transformed again, never mixed with new ones)."""
        o = self.options
        shaping = (TRANSFORM_VERSION, o.comment_max_bytes, o.max_file_bytes, tuple(o.blocked_extensions),
                   o.unmatched_agent_policy,
                   o.default_owner_email, o.default_owner_id, o.timezone_label, o.unprepared_fields,
                   o.legacy_namespace, o.queue_name_prefix, o.body_file_bytes)
        return f"{self.mapping.fingerprint}-{hashlib.sha256(repr(shaping).encode()).hexdigest()[:8]}"

    # -- plumbing -------------------------------------------------------------------------------
    def api(self) -> SalesforceApi:
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = SalesforceApi(self.client_factory(), self.options)
        return api

    def _audit_fields(self) -> bool:
        if self.options.audit_fields != "auto":
            return self.options.audit_fields == "on"
        with self._lock:
            if self._audit_allowed is None:
                self._audit_allowed = audit_fields_allowed(self.api().describe("Case"))
            return self._audit_allowed

    def _audit_fields_of(self, obj: str) -> tuple[bool, bool]:
        """(CreatedDate, CreatedById) settable on insert of ``obj``: from its describe ("auto"), or the option."""
        if self.options.audit_fields != "auto":
            return (self.options.audit_fields == "on",) * 2
        fields = self._checker(obj).fields
        return (bool((fields.get("CreatedDate") or {}).get("createable")),
                bool((fields.get("CreatedById") or {}).get("createable")))

    def _default_owner_id(self) -> Optional[str]:
        with self._lock:
            if self._default_owner is None and self.options.default_owner_email:
                users = self.api().query_in("Id, Email, IsActive", "User", "Email", [self.options.default_owner_email],
                                            "IsActive = true")
                if not users:
                    raise SalesforceDestinationError("the default owner email matches no active Salesforce User")
                self._default_owner = users[0]["Id"]
            return self._default_owner

    # -- Destination ----------------------------------------------------------------------------
    def phases(self) -> list[LoadPhase]:
        return P.GRAPH.order()

    def phase_graph(self) -> PhaseGraph:
        return P.GRAPH

    def ledger_targets(self) -> dict[str, str]:
        """What each canonical target of the source ledger becomes in Salesforce (or why it does not load)."""
        return dict(LEDGER_TARGETS)

    def transform(self, object_type: str, records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
        return self.transformer.transform(object_type, records)

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Create and verify the fields the load writes; report what needs an admin. Context may carry
        ``custom_fields`` (CustomFieldDef records) or a ``stage`` with ``extract/custom_field/`` chunks.

        Raises :class:`SchemaNotReady` (option ``unprepared_fields="stop"``, the default) when a field the load
        writes is missing or not writable afterwards, so no record is sent to a half-prepared org."""
        stage = context.get("stage") or self.options.stage
        names = self.names
        catalog = self.catalog
        if context.get("custom_fields") is not None:
            catalog = CustomFieldCatalog(self.mapping, defs=[d for d in context["custom_fields"]
                                                             if isinstance(d, CustomFieldDef)])
        elif stage is not self.options.stage:
            catalog = CustomFieldCatalog(self.mapping, stage)
            names = ReferenceNames(self.options.reference_names, stage)
        plan = catalog.plan() or CustomFieldPlan()
        objects = prepare_custom_objects(self.api(), self.mapping)  # before the fields that refer to them
        report = prepare_schema(self.api(), self.mapping, plan.fields, names)
        report["custom_objects"] = objects
        report["created"].extend(objects["created"])
        report["verified"].extend(objects["verified"])
        report["failed"].extend(objects["failed"])
        report["needs_admin"].extend(objects["needs_admin"])
        listed = {f["field"] for f in report["not_ready"]}
        for failure in objects["failed"]:  # fields of a custom object the load writes that the mapping maps by code
            what = failure.get("field") or failure.get("object")
            if what and what not in listed and not any(x.startswith(f"{what}.") for x in listed):
                report["not_ready"].append({"field": what, "reason": failure["reason"]})
        report["custom_field_plan"] = plan.report()
        if plan.conflicts:
            report["needs_admin"].append({"what": "custom field type conflicts", "conflicts": plan.conflicts,
                                          "why": "review the text fields made for them"})
        self._audit_allowed = report["audit_fields_allowed"] if self.options.audit_fields == "auto" else None
        if self.options.unmatched_agent_policy == "default_owner" and not (
                self.options.default_owner_id or self.options.default_owner_email):
            report["needs_admin"].append({"what": "default owner", "why": "policy default_owner without "
                                          "default_owner_email: Cases of unmatched agents get the API user as owner"})
        else:
            try:
                report["default_owner_id"] = self._default_owner_id()
            except SalesforceDestinationError as exc:
                report["failed"].append({"what": "default owner", "reason": str(exc)})
        report["api_calls"] = self.api().calls.total
        if report["not_ready"]:
            if self.options.unprepared_fields == "stop":
                raise SchemaNotReady(report["not_ready"], report)
            report["dropped_fields"] = [f["field"] for f in report["not_ready"]]
        return report

    def _drop_unprepared(self, run: ChunkRun, rows: list[dict[str, Any]]) -> None:
        """Option unprepared_fields="drop": fields the org does not take are removed from each row, flagged."""
        for obj in {r.get("_object") for r in rows if r.get("_object")}:
            with self._lock:
                if obj not in self._writable:
                    fields = self.api().describe(obj).get("fields", [])
                    self._writable[obj] = frozenset(f["name"] for f in fields
                                                    if f.get("createable") or f.get("updateable"))
            writable = self._writable[obj]
            for row in rows:
                if row.get("_object") != obj:
                    continue
                for name in [k for k in row if not k.startswith("_") and k not in writable and k != "Id"]:
                    if row.pop(name) not in (None, ""):
                        run.flag(row["_source_key"], "field_not_prepared", f"{obj}.{name} is not in the org (prepare "
                                 "could not create it): value not loaded", name)
                for spec_field in [k for k in (row.get("_audit") or {}) if k not in writable]:
                    row["_audit"][spec_field]["when"] = "never"

    def _missing_object(self, phase: str) -> Optional[str]:
        """The custom object a phase writes, when the org does not have it."""
        obj = self.mapping.target_of("event") if phase == P.CASE_EVENTS else P.PRIMARY_OBJECT.get(phase)
        if obj not in self.mapping.custom_objects:
            return None
        with self._lock:
            if obj not in self._writable:
                try:
                    fields = self.api().describe(obj).get("fields", [])
                except SalesforceError as exc:
                    if exc.status != 404:
                        raise
                    return obj
                self._writable[obj] = frozenset(f["name"] for f in fields
                                                if f.get("createable") or f.get("updateable"))
        return None

    def _checker(self, obj: str) -> FieldChecker:
        with self._lock:
            if obj not in self._checkers:
                try:
                    describe = self.api().describe(obj)
                except SalesforceError as exc:  # not describable (e.g. no access): the org's own checks apply
                    log.warning("describe %s failed (HTTP %s): values are sent unchecked", obj, exc.status)
                    describe = {}
                self._checkers[obj] = FieldChecker(obj, describe)
            return self._checkers[obj]

    def _check_values(self, run: ChunkRun, rows: list[dict[str, Any]]) -> None:
        """Every value checked against the field it goes to, before any write (any phase, any object): a value
        the field cannot take is converted, cut or left empty, and flagged with its original."""
        for obj in sorted({r.get("_object") for r in rows if r.get("_object")}):
            checker = self._checker(obj)
            for row in rows:
                if row.get("_object") == obj:
                    checker.check_row(row, run.result.flags.append)

    def baseline(self) -> dict[str, int]:
        return baseline_counts(self.api(), BASELINE_OBJECTS)

    def load_chunk(self, phase: str, chunk_id: str, rows: list[dict[str, Any]], crosswalk: Crosswalk,
                   migration_id: str, run_id: str) -> ChunkLoadResult:
        if phase not in _LOADERS:
            raise SalesforceDestinationError(f"unknown Salesforce load phase {phase!r}")
        api = self.api()
        start = api.calls.total
        result = ChunkLoadResult(phase=phase, chunk_id=chunk_id)
        run = ChunkRun(api, self.options, crosswalk, migration_id, run_id, phase, result)
        run.flags(rows)
        missing = self._missing_object(phase)
        if missing:  # prepare could not create the phase's custom object (unprepared_fields="drop"): held, said why
            for row in rows:
                row["_hold"] = row.get("_hold") or f"{missing} is not in the org (prepare could not create it; see " \
                                                   "needs_admin in the prepare report): not loaded"
        if self.options.unprepared_fields == "drop" and phase not in (P.USERS, P.QUEUES, P.COMMENTS) and not missing:
            self._drop_unprepared(run, rows)
        if phase not in (P.USERS, P.QUEUES):
            self._check_values(run, rows)
        try:
            _LOADERS[phase](self, run, rows)
        except SalesforceError as exc:  # the boundary: the org's daily allocation is the generic QuotaExhausted
            if is_daily_limit(exc):
                raise DailyLimitExceeded(detail=str(exc.resource_name or "").strip()) from exc
            raise
        finally:
            result.api_calls = api.calls.total - start
        return result

    def verify_chunk(self, phase: str, rows: list[dict[str, Any]], crosswalk: Crosswalk,
                     migration_id: str) -> list[dict[str, Any]]:
        declared = P.PHASE_BY_NAME.get(phase)
        if declared is None or not declared.verified:  # users are matched, queues found by name: nothing to read
            return []
        obj = declared.primary_object
        meta = self._checker(obj).fields if obj else None
        return verify_rows(self.api(), crosswalk, migration_id, phase, rows, meta)

    def rollback(self, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
        return rollback_entries(self.api(), entries, self.options.bulk_threshold, self.options.legacy_namespace)

    def rollback_sweep(self) -> dict[str, int]:
        """Delete the records carrying this migration's legacy IDs that the crosswalk does not know (a fresh
        state folder, a write whose id never reached it). Another migration's records are never touched."""
        return sweep_namespace(self.api(), self.options.legacy_namespace, self.options.bulk_threshold)

    def rollback_proof(self, entries: list[CrosswalkEntry]) -> dict[str, Any]:
        """Whether every record this migration created is gone: by id (the crosswalk's) and by legacy id."""
        return prove_gone(self.api(), entries, self.options.legacy_namespace)


def _load_files(dest: SalesforceDestination, run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    if dest.options.stage is None:
        raise SalesforceDestinationError("the files phase needs the stage (options.stage)")
    load_files(run, rows, dest.options.stage)


# one loader per declared phase (phases.PHASES); checked against the declaration below
_LOADERS: dict[str, Callable[[SalesforceDestination, ChunkRun, list[dict[str, Any]]], None]] = {
    P.USERS: lambda d, run, rows: load_users(run, rows),
    P.QUEUES: lambda d, run, rows: load_queues(run, rows),
    P.ACCOUNTS: lambda d, run, rows: load_accounts(run, rows),
    P.CONTACTS: lambda d, run, rows: load_contacts(run, rows),
    P.CASES: lambda d, run, rows: load_cases(run, rows, d._default_owner_id(), d._audit_fields()),
    P.CASE_PARENTS: lambda d, run, rows: load_case_parents(run, rows),
    P.COMMENTS: lambda d, run, rows: load_comments(run, rows, d._audit_fields_of("CaseComment")),
    P.FILES: _load_files,
    P.CASE_CONTACTS: lambda d, run, rows: load_case_contacts(run, rows),
    P.CASE_EVENTS: lambda d, run, rows: load_case_events(run, rows),
}
if set(_LOADERS) != set(P.GRAPH.by_name):  # a phase declared without a loader, or a loader without a phase
    raise PhaseGraphError(f"Salesforce loaders {sorted(_LOADERS)} do not match the declared phases "
                          f"{P.GRAPH.names()}")
