"""Canonical records → Intercom-ready rows per load phase (no I/O but the stage lookups of :mod:`staged`).

A row is a JSON dict of Intercom request fields plus meta keys starting with ``_``: ``_source_key`` (crosswalk
key), ``_lookups`` (role → source key, resolved through the crosswalk at load time), ``_flags`` (for the
reconciliation report), ``_hold`` (a reason: recorded as held, never sent).

Visibility is decided here and only here: a part is a public ``comment`` only when the message's canonical
visibility is exactly PUBLIC (:func:`hdm.threads.normalize.is_public`) and it is from the customer or an agent;
everything else is an internal ``note``. A note is never sent as a reply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Optional

from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.fields import attribute_name, owner_of
from hdm.destinations.intercom.options import (
    PLACEHOLDER_CONTACT_KEY,
    PLACEHOLDER_CONTACT_NAME,
    IntercomOptions,
    legacy_id,
)
from hdm.destinations.intercom.staged import StagedLookups
from hdm.mapping.engine import CustomTarget, MappingEngine
from hdm.mapping.model import Mapping
from hdm.model import Flag, MessageKind, Record, Visibility
from hdm.threads.normalize import normalize_message

SKIPPED = "_skipped"
EMPTY_BODY = "<p>(empty message)</p>"


def unix(value: Any) -> Optional[int]:
    """An ISO-8601 time as Unix seconds (what Intercom takes); ``None`` when it is not a time."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def flag_dict(source_key: str, flag: Flag) -> dict[str, Any]:
    return {"source_key": source_key, "code": flag.code, "reason": flag.reason, "field": flag.field,
            "severity": flag.severity}


def _flag(source_key: str, code: str, reason: str, field: Optional[str] = None,
          severity: str = "warning") -> dict[str, Any]:
    return {"source_key": source_key, "code": code, "reason": reason, "field": field, "severity": severity}


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


def nest(row: dict[str, Any]) -> None:
    """``custom_attributes.<name>`` keys of a mapped row into the ``custom_attributes`` object (empty ones dropped:
    Intercom keeps what was there)."""
    custom = row.setdefault("custom_attributes", {})
    for k in [k for k in row if k.startswith("custom_attributes.")]:
        value = row.pop(k)
        if value not in (None, ""):
            custom[k.split(".", 1)[1]] = value
    if not custom:
        row.pop("custom_attributes")


def file_problem(meta: Optional[dict[str, Any]], limit: int) -> Optional[str]:
    """Why a staged file cannot go on its part (``None``: it can)."""
    if meta is None:
        return "the attachment record is not in the stage"
    if not meta.get("blob"):
        why = next((f.get("reason") for f in meta.get("flags") or [] if f.get("severity") == "error"), None)
        return f"file bytes were not staged: {why}" if why else "file bytes were not staged (missing in the source)"
    size = meta.get("size")
    if isinstance(size, int) and size > limit:
        return f"file is {size} bytes, over the {limit}-byte limit for a file on an Intercom reply"
    return None


class IntercomTransformer:
    def __init__(self, mapping: Mapping, options: IntercomOptions, lookups: StagedLookups):
        self.mapping = mapping
        self.options = options
        self.lookups = lookups
        self.engine = MappingEngine(mapping, {
            "datetime": unix, "date": unix,
            "reference_name": lambda v: lookups.name(str(v)) or str(v),
        })

    def transform(self, object_type: str, records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
        handler = {"agent": self._agent, "team": self._team, "organization": self._organization,
                   "contact": self._contact, "ticket": self._ticket, "message": self._message,
                   "attachment": self._attachment}.get(object_type)
        out: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            if handler is None:
                out.setdefault(SKIPPED, []).append({"_source_key": rec.key, "reason": (
                    f"{_enum(rec.OBJECT)} records are not loaded into Intercom (inventory only)")})
                continue
            for phase, row in handler(rec):
                out.setdefault(phase, []).append(row)
        return out

    # -- helpers ------------------------------------------------------------------------------------------------
    def _mapped(self, rec: Record, canonical: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        om = self.mapping.object_map(canonical)
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        row: dict[str, Any] = {"_source_key": rec.key, "_lookups": {}}
        self.engine.map_fields(rec, om, row, flags)
        if self.mapping.custom_targets.get(canonical):
            prefix = "custom_attributes." if canonical != "ticket" else ""
            custom: dict[str, Any] = {}
            self.engine.map_custom_fields(rec, canonical, custom, flags, self._resolve_custom, custom_value)
            row.update({f"{prefix}{k}": v for k, v in custom.items()})
        if om.external_id:
            row[om.external_id] = legacy_id(self.options.legacy_namespace, rec.key)
        return row, flags

    def _resolve_custom(self, owner: str, name: str) -> CustomTarget:
        target = self.mapping.custom_field_name(owner, name)
        if target is None:
            return CustomTarget(None, "skipped by the mapping (custom_fields.fields)")
        attr = attribute_name("", target)
        # Intercom attribute names are unique without case: a source field named like one of the mapping's own
        # attributes (osTicket's "priority" beside "Priority") gets a name of its own rather than clash
        taken = {n.casefold() for n in (self.mapping.fields.attributes or {}).get(owner_of(owner) or "", {})}
        if attr.casefold() in taken:
            attr = f"{attr} (source field)"
        return CustomTarget(attr)

    # -- per object ---------------------------------------------------------------------------------------------
    def _agent(self, rec: Any):
        yield P.ADMINS, {"_source_key": rec.key, "_email": (rec.email or "").strip() or None, "_name": rec.name,
                         "_flags": [flag_dict(rec.key, f) for f in rec.flags]}

    def _team(self, rec: Any):
        yield P.TEAMS, {"_source_key": rec.key, "_name": (rec.name or "").strip(), "_kind": _enum(rec.kind),
                        "_flags": [flag_dict(rec.key, f) for f in rec.flags]}

    def _organization(self, rec: Any):
        row, flags = self._mapped(rec, "organization")
        nest(row)
        if row.get("custom_attributes"):  # the 2.16 spec takes company custom attribute values as strings
            row["custom_attributes"] = {k: as_text(v) for k, v in row["custom_attributes"].items()}
        row["_flags"] = flags
        yield P.COMPANIES, row

    def _contact(self, rec: Any):
        row, flags = self._mapped(rec, "contact")
        nest(row)
        row["role"] = "lead" if _enum(rec.role) == "lead" else "user"
        companies = list(rec.organizations or [])
        if rec.organization and rec.organization not in companies:
            companies.insert(0, rec.organization)
        row["_companies"] = companies
        if rec.email and not row.get("email"):
            flags.append(_flag(rec.key, "invalid_email", "email address is not valid; left empty", "email"))
        if not row.get("email"):
            what = "phone-only" if row.get("phone") else "email-less"
            flags.append(_flag(rec.key, "contact_without_email", f"{what} user: created by external_id only; "
                               "Intercom cannot email them or match them by address", "email"))
        row["_flags"] = flags
        yield P.CONTACTS, row

    def _ticket(self, rec: Any):
        row, flags = self._mapped(rec, "ticket")
        attributes = {k: v for k, v in row.items() if not k.startswith("_") or k in (
            "_default_title_", "_default_description_")}
        for k in attributes:
            row.pop(k)
        number = rec.number or rec.provenance.id
        attributes["_default_description_"] = (
            f"Migrated from {rec.provenance.system} ticket #{number}; its conversation follows.")
        out: dict[str, Any] = {"_source_key": rec.key, "ticket_attributes": {
            k: v for k, v in attributes.items() if v is not None}, "created_at": unix(rec.created_at),
            "_lookups": {"contact": rec.requester, "company": rec.organization, "admin": rec.assignee,
                         "team": rec.queue or rec.assignee_group}}
        category = rec.category
        if category:
            name = self.lookups.name(category)
            if name:
                out["_tag"] = f"{self.mapping.policies.get('category_tag_prefix', '')}{name}"[:190]
            else:
                flags.append(_flag(rec.key, "category_unknown", f"category {category} has no name in the stage: "
                                   "no tag", "tags"))
        if not rec.requester and self.options.no_requester_contact == "placeholder":
            out["_lookups"]["contact"] = PLACEHOLDER_CONTACT_KEY  # made by the tickets phase (once) when needed
            flags.append(_flag(rec.key, "requester_placeholder", f"the ticket has no requester: its contact is the "
                               f"migration's placeholder contact {PLACEHOLDER_CONTACT_NAME!r} (no email: nothing is "
                               "sent to anyone; config no_requester_contact)", "contacts"))
        elif not rec.requester:
            out["_hold"] = ("the ticket has no requester: an Intercom ticket needs a contact (config "
                            "no_requester_contact: hold)")
            flags.append(_flag(rec.key, "no_requester", out["_hold"], "contacts", "error"))
        out["_flags"] = flags
        yield P.TICKETS, out
        state = self.mapping.map_value("ticket_state", [_enum(rec.status_state)]) if "ticket_state" in \
            self.mapping.value_maps else None
        state_flags = []
        if state is not None and state.lossy:
            state_flags.append(_flag(rec.key, "lossy_value", f"{state.source_value!r} -> {state.value!r}: "
                                     f"{state.note or 'lossy value map'}", "ticket_state"))
        yield P.TICKET_STATES, {"_source_key": rec.key, "_state": state.value if state else "submitted",
                                "_flags": state_flags}

    def _message(self, rec: Any):
        nm = normalize_message(rec)
        flags = [flag_dict(rec.key, f) for f in [*rec.flags, *nm.flags]]
        public = nm.public and rec.kind in (MessageKind.CUSTOMER, MessageKind.AGENT)
        as_contact = public and rec.kind == MessageKind.CUSTOMER
        if rec.kind == MessageKind.CUSTOMER and not public:
            flags.append(_flag(rec.key, "customer_message_as_note", "a customer message that is not public is "
                               "loaded as an internal note (never shown to the contact)", "message_type", "info"))
        if rec.kind not in (MessageKind.CUSTOMER, MessageKind.AGENT):  # the helpdesk itself, a bot
            flags.append(_flag(rec.key, "system_message_as_note", f"a {_enum(rec.kind)} message (not written by a "
                               "person) is loaded as an internal note", "message_type", "info"))
        body = nm.html if nm.html.strip() else EMPTY_BODY
        files, held = [], []
        for key in rec.attachments:
            meta = self.lookups.attachment(key)
            problem = file_problem(meta, self.options.max_attachment_bytes)
            if problem:
                held.append({"key": key, "reason": problem})
                continue
            files.append({"key": key, "name": meta["file_name"] or f"attachment-{key.split(':', 1)[1]}",
                          "content_type": meta.get("content_type") or "application/octet-stream",
                          "blob": meta["blob"], "size": meta.get("size")})
        row = {
            "_source_key": rec.key, "_ticket": rec.ticket, "_position": rec.position,
            "_author_kind": "contact" if as_contact else "admin",
            "_author": rec.author, "_author_name": rec.author_name,
            "message_type": "comment" if public else "note", "body": body,
            "created_at": unix(rec.created_at), "_visibility": _enum(rec.visibility),
            "_files": files, "_held_files": held, "_flags": flags,
        }
        if not rec.ticket:
            row["_hold"] = "the message belongs to no ticket"
        yield P.PARTS, row

    def _attachment(self, rec: Any):
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        row: dict[str, Any] = {"_source_key": rec.key, "_message": rec.message, "_ticket": rec.ticket,
                               "_name": rec.file_name, "_internal": rec.visibility != Visibility.PUBLIC,
                               "_flags": flags}
        meta = {"file_name": rec.file_name, "content_type": rec.content_type, "size": rec.size, "blob": rec.blob,
                "flags": [flag_dict(rec.key, f) for f in rec.flags if f.field == "blob"]}
        problem = file_problem(meta, self.options.max_attachment_bytes)
        if problem:
            row["_hold"] = problem
            flags.append(_flag(rec.key, "file_held", problem, "attachment_files"))
        elif not rec.message and not rec.ticket:
            row["_hold"] = "the attachment belongs to no message or ticket"
            flags.append(_flag(rec.key, "file_held", row["_hold"], "attachment_files"))
        row["_blob"], row["_content_type"], row["_size"] = rec.blob, rec.content_type, rec.size
        yield P.ATTACHMENTS, row


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def custom_value(value: Any) -> Any:
    """A canonical custom value as an Intercom attribute takes it (choices by label, lists joined)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_label(v)) for v in value) or None
    if isinstance(value, dict):
        return _label(value)
    return value


def _label(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("label") or v.get("value") or v.get("key")
    return v
