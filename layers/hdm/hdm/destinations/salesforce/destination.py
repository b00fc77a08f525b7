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
from hdm.destinations.salesforce import knowledge as kb
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.chunk import ChunkRun
from hdm.destinations.salesforce.comments import load_comments
from hdm.destinations.salesforce.custom_fields import CustomFieldCatalog, CustomFieldPlan
from hdm.destinations.salesforce.custom_objects import prepare_custom_objects
from hdm.destinations.salesforce.entitlements import entitlement_report
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
from hdm.destinations.salesforce.tags import tag_fields
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.destinations.salesforce.verify import verify_rows
from hdm.mapping import Mapping, load_mapping
from hdm.model import CustomFieldDef, Record, record_from_dict

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
    "category": "names kept in the Case category picklist; with the mapping policy case_topics also a Topic per "
                "category, each Case assigned its category's Topic (else the record itself is inventory only)",
    "sla_policy": "names kept in the Case SLA picklist; Entitlement Process metadata in the prepare report "
                  "(entitlements: deploy by Metadata API; no Case gets an entitlement)",
    "tag": "names are the values of the Case tags field (mapping policy ticket_tags); else flagged on the tickets",
    "status": "mapped to Case.Status (value map case_status); the record itself is inventory only",
    "priority": "mapped to Case.Priority (value map case_priority); the record itself is inventory only",
    "response_template": "inventory only (reported, not migrated)",
    "automation_rule": "inventory only (reported for the admin to rebuild)",
    "kb_category": "migrated as Topic (flat: the parent chain in its Description; same names share one Topic)",
    "kb_article": "migrated as Knowledge__kav (draft; published/archived through the Knowledge actions) + "
                  "TopicAssignment to its category's Topic; held when Knowledge is not enabled in the org",
}



# Bump when a code change makes the transform produce other rows for the same records and mapping, so that a
# migration resumed across the upgrade transforms its chunks again instead of loading old and new rows side by
# side. 2: a status name not in the value map falls back to its state (was: the map's default). 3: canonical model
# v2 (staged records name queues, groups and categories; a ticket row's owner carries "queue"). 4: knowledge-base
# categories and articles load (Topic, Knowledge__kav, TopicAssignment; were inventory only). 5: a public bot
# message (MessageKind.BOT, e.g. Thread's bot replies) is a published CaseComment like an agent's public reply (was
# unpublished); internal entries stay unpublished (osTicket rows are unchanged: it has no bot messages).
TRANSFORM_VERSION = 5

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
        self._features: dict[str, bool] = {}  # object -> the org has it (Knowledge__kav: Lightning Knowledge on)

    @classmethod
    def from_config(cls, cfg: Any, client_factory: Callable[[], Salesforce], stage: Any,
                    migration_id: Optional[str] = None, source_type: Optional[str] = None) -> SalesforceDestination:
        """From a SalesforceDestinationConfig (hdm.destinations.salesforce.config); the migration id namespaces the
        legacy IDs, so another migration into the same org never touches this one's records. The mapping is the
        (source type, destination type) pair's, with the config's overrides: a missing source type is an error,
        never a silent fall-back to another source's mapping."""
        if not source_type:
            raise ValueError("the Salesforce destination needs the source type to choose its mapping pair")
        mapping = load_mapping(source_type, cfg.type, override=getattr(cfg, "mapping_overrides", None))
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
        report = prepare_schema(self.api(), self.mapping, [*plan.fields, *tag_fields(self.mapping)], names)
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
        report["knowledge"] = self._knowledge_report(stage)
        report["entitlements"] = self._entitlements_report(stage)
        if report["knowledge"].get("finding") and report["knowledge"].get("article_chunks") != 0:  # articles to load
            report["needs_admin"].append({"what": "Salesforce Knowledge", "why": report["knowledge"]["finding"]})
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

    def has_object(self, obj: str) -> bool:
        """Whether the org has ``obj`` (a feature's object: Knowledge__kav exists only with Lightning Knowledge)."""
        with self._lock:
            if obj not in self._features:
                try:
                    self.api().describe(obj)
                    self._features[obj] = True
                except SalesforceError as exc:
                    if exc.status != 404:
                        raise
                    self._features[obj] = False
            return self._features[obj]

    def _knowledge_report(self, stage: Any) -> dict[str, Any]:
        """Prepare's finding on Knowledge: enabled or not, and the body field the articles are written to."""
        articles = len(stage.list("extract/kb_article/")) if stage is not None else None
        if not self.has_object(kb.KAV):
            return {"enabled": False, "article_chunks": articles, "finding": "Lightning Knowledge is not enabled in "
                    "the org (no Knowledge__kav): knowledge-base articles are held, reported as \"" +
                    kb.KNOWLEDGE_DISABLED + "\""}
        body = (self.mapping.policies or {}).get("knowledge_body_field", kb.DEFAULT_BODY_FIELD)
        fields = self._checker(kb.KAV).fields
        out: dict[str, Any] = {"enabled": True, "article_chunks": articles, "body_field": body}
        if body and body not in fields:
            out["finding"] = (f"Knowledge__kav has no field {body} (mapping policy knowledge_body_field): article "
                              "bodies are not loaded; create a Rich Text Area field or set the policy")
        return out

    def _entitlements_report(self, stage: Any) -> dict[str, Any]:
        """SLA policies → Entitlement Processes: metadata for the admin, never created here (entitlements.py)."""
        slas = []
        if stage is not None:
            for skey in stage.list("extract/sla_policy/"):
                if skey.endswith(".jsonl.gz"):
                    slas.extend(record_from_dict(d) for d in stage.read_records(skey))
        enabled = self.has_object("SlaProcess")
        existing = [r["Name"] for r in self.api().query("SELECT Name FROM SlaProcess")] if enabled else []
        return entitlement_report(enabled, existing, slas)

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
        if phase == P.KNOWLEDGE and self.has_object(kb.KAV):
            fields = self._checker(kb.KAV).fields
            run.result.flags.extend(kb.pick_language(rows, fields))
            body = (self.mapping.policies or {}).get("knowledge_body_field", kb.DEFAULT_BODY_FIELD)
            if body and body not in fields:
                for row in rows:
                    if row.pop(body, None) not in (None, ""):
                        run.flag(row["_source_key"], "field_not_prepared", f"Knowledge__kav.{body} is not in the org: "
                                 "the article body is not loaded", body)
        if phase not in (P.USERS, P.QUEUES) and not (phase == P.KNOWLEDGE and not self.has_object(kb.KAV)):
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
        if phase == P.KNOWLEDGE:  # articles: only what the load wrote (kb.verifiable_rows)
            if not self.has_object(kb.KAV):
                return []
            body = (self.mapping.policies or {}).get("knowledge_body_field", kb.DEFAULT_BODY_FIELD)
            rows = kb.verifiable_rows(rows, body if body in self._checker(kb.KAV).fields else None)
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
    P.TOPICS: lambda d, run, rows: kb.load_topics(run, rows),
    P.KNOWLEDGE: lambda d, run, rows: kb.load_knowledge(run, rows, d.has_object(kb.KAV)),
    P.TOPIC_ASSIGNMENTS: lambda d, run, rows: kb.load_topic_assignments(run, rows),
}
if set(_LOADERS) != set(P.GRAPH.by_name):  # a phase declared without a loader, or a loader without a phase
    raise PhaseGraphError(f"Salesforce loaders {sorted(_LOADERS)} do not match the declared phases "
                          f"{P.GRAPH.names()}")
