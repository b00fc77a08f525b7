"""Canonical records → Salesforce-ready rows per load phase (no I/O but reference-name lookups, and the bytes
of a message body too large for comments, which go to the stage as a file).

A row is a JSON dict of Salesforce field values plus meta keys starting with ``_``:
``_source_key`` (crosswalk key), ``_lookups`` (field → source key, resolved at load time through the
crosswalk), ``_flags`` (for the reconciliation report), ``_hold`` (a reason: the row is recorded as held,
never sent). Values ``None`` mean "set to null".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Optional

from hdm import templates
from hdm.destinations.salesforce import carry
from hdm.destinations.salesforce import knowledge as kb
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.comment_body import comment_header, split_comment
from hdm.destinations.salesforce.custom_fields import CustomFieldCatalog
from hdm.destinations.salesforce.file_safety import blocked_extension, safe_file_name
from hdm.destinations.salesforce.legacy_ids import legacy_id, namespaced_merge_key, queue_developer_name
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.tags import tag_policy, tag_value
from hdm.mapping.engine import CustomTarget, MappingEngine
from hdm.mapping.model import Mapping, ObjectMap
from hdm.model import (
    Agent,
    Attachment,
    Category,
    Contact,
    Event,
    Flag,
    KbArticle,
    KbCategory,
    Message,
    MessageKind,
    Organization,
    Record,
    Team,
    TeamKind,
    Ticket,
    Visibility,
)
from hdm.threads.body import to_plain_text
from hdm.threads.normalize import normalize_message

SKIPPED = "_skipped"


def flag_dict(source_key: str, flag: Flag) -> dict[str, Any]:
    return {"source_key": source_key, "code": flag.code, "reason": flag.reason, "field": flag.field,
            "severity": flag.severity}


def merge_key(name: str) -> str:
    """Organisations with the same name (case-insensitive, spaces collapsed) become one Account."""
    return " ".join((name or "").split()).casefold()[:255]


SAME_NAME_POLICIES = ("merge", "separate", "separate_suffixed")


def same_name_policy(mapping: Mapping) -> str:
    """How organisations that share a name load (mapping ``policies.same_name_organizations``): ``merge`` (the
    default: one Account, the others' values kept on it), ``separate`` (one Account each, same name) or
    ``separate_suffixed`` (one Account each, the same-named ones' names suffixed with their osTicket id)."""
    policy = (mapping.policies or {}).get("same_name_organizations", "merge")
    if policy not in SAME_NAME_POLICIES:
        raise ValueError(f"policies.same_name_organizations must be one of {', '.join(SAME_NAME_POLICIES)}; "
                         f"got {policy!r}")
    return policy


def sf_datetime(value: Any) -> Optional[str]:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sf_date(value: Any) -> Optional[str]:
    stamp = sf_datetime(value)
    return stamp[:10] if stamp else (str(value)[:10] if value else None)


class SalesforceTransformer:
    def __init__(self, mapping: Mapping, options: SalesforceOptions, names: ReferenceNames,
                 catalog: Optional[CustomFieldCatalog] = None):
        self.mapping = mapping
        self.options = options
        self.names = names
        self.catalog = catalog
        self.engine = MappingEngine(mapping, self._salesforce_transforms())
        same_name_policy(mapping)  # an unknown policy fails here, before any row is made
        self.tag_policy = tag_policy(mapping)  # likewise
        # mapping policy case_topics: ticket categories become Topics too, each Case assigned its category's Topic
        self.case_topics = bool((mapping.policies or {}).get("case_topics"))

    # -- entry point ----------------------------------------------------------------------------
    def transform(self, object_type: str, records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        handler = {
            "agent": self._agent, "team": self._team, "organization": self._organization, "contact": self._contact,
            "ticket": self._ticket, "message": self._message, "attachment": self._attachment,
            "event": self._event, "kb_category": self._kb_category, "kb_article": self._kb_article,
            **({"category": self._kb_category} if self.case_topics else {}),
        }.get(object_type)
        for rec in records:
            if handler is None:
                out.setdefault(SKIPPED, []).append({
                    "_source_key": rec.key,
                    "reason": f"{rec.OBJECT.value} records are not loaded into Salesforce (inventory only)",
                })
                continue
            for phase, row in handler(rec):
                out.setdefault(phase, []).append(row)
        return out

    # -- mapped fields (the generic engine) -----------------------------------------------------------------------
    def _salesforce_transforms(self) -> dict[str, Any]:
        """How Salesforce writes dates and reference names; the other transforms are the engine's own."""
        return {"datetime": sf_datetime, "date": sf_date,
                "reference_name": lambda v: self.names.get(str(v)) or str(v)}

    def _custom_fields(self, rec: Record, owner: str, row: dict[str, Any], flags: list[dict[str, Any]]) -> None:
        """Custom values go to the custom fields prepare creates (the plan made from the source's field
        definitions); a value whose field is not created is flagged, unless a standard field carries it."""
        plan = self.catalog.plan() if self.catalog is not None else None
        resolve = None
        if plan is not None:
            def resolve(owner: str, name: str) -> CustomTarget:
                api = plan.api_name(owner, name)
                if api is not None:
                    return CustomTarget(api)
                why = plan.excluded.get((owner, name))
                if why is not None and not why.loses_data:
                    return CustomTarget(None)  # a standard field carries the value
                return CustomTarget(None, why.reason if why else "the source has no definition for this field: "
                                                                 "no custom field is created for it")
        self.engine.map_custom_fields(rec, owner, row, flags, resolve, custom_value)

    def _base_row(self, rec: Record, om: ObjectMap) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        row: dict[str, Any] = {"_source_key": rec.key, "_object": om.target, "_lookups": {}}
        if om.external_id:
            row[om.external_id] = legacy_id(self.options.legacy_namespace, rec.key)
        return row, flags

    # -- per object -----------------------------------------------------------------------------
    def _agent(self, rec: Agent):
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        yield P.USERS, {"_source_key": rec.key, "_object": "User", "_email": (rec.email or "").strip() or None,
                        "_name": rec.name, "_flags": flags}

    def _team(self, rec: Team):
        if rec.kind != TeamKind.QUEUE:
            yield SKIPPED, {"_source_key": rec.key, "reason": "osTicket teams have no Salesforce target (departments "
                            "become Queues); listed in the inventory"}
            return
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        name = f"{self.options.queue_name_prefix}{rec.name}".strip()[:40] or f"Department {rec.provenance.id}"
        if len(f"{self.options.queue_name_prefix}{rec.name}") > 40:
            flags.append({"source_key": rec.key, "code": "truncated", "field": "Name", "severity": "warning",
                          "reason": "queue names hold 40 characters"})
        yield P.QUEUES, {
            "_source_key": rec.key, "_object": "Group", "Name": name,
            "DeveloperName": queue_developer_name(self.options.legacy_namespace, rec.provenance.id), "Type": "Queue",
            "_members": list(rec.members), "_flags": flags,
        }

    def _mapped_row(self, rec: Record, object_name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A record's row with its mapped standard and custom fields (and the flags they raised)."""
        om = self.mapping.object_map(object_name)
        row, flags = self._base_row(rec, om)
        self.engine.map_fields(rec, om, row, flags)
        self._custom_fields(rec, object_name, row, flags)
        return row, flags

    def _organization(self, rec: Organization):
        row, flags = self._mapped_row(rec, "organization")
        key = merge_key(row.get("Name") or rec.name)
        policy = same_name_policy(self.mapping)
        if policy != "merge":
            # each organisation its own Account: the merge key names the organisation, not only its name
            key = f"{key[:230]}#{rec.provenance.id}"
            if any(f.code == "duplicate_name" for f in rec.flags):
                if policy == "separate_suffixed":
                    suffix = f" [osTicket organisation {rec.provenance.id}]"
                    row["Name"] = f"{(row.get('Name') or rec.name)[: 255 - len(suffix)]}{suffix}"
                flags.append({"source_key": rec.key, "code": "kept_apart", "field": "Name", "severity": "info",
                              "reason": f"another organisation has the same name; kept as its own Account "
                                        f"(policy same_name_organizations: {policy})"})
        row["hdm_Merge_Key__c"] = namespaced_merge_key(self.options.legacy_namespace, key)
        row["_flags"] = flags
        yield P.ACCOUNTS, row

    def _contact(self, rec: Contact):
        row, flags = self._mapped_row(rec, "contact")
        if rec.organization:
            row["_lookups"]["AccountId"] = rec.organization
        else:
            flags.append({"source_key": rec.key, "code": "orphan_contact", "field": "AccountId", "severity": "info",
                          "reason": "user has no organisation: loaded without an Account"})
        if rec.email and not row.get("Email"):
            flags.append({"source_key": rec.key, "code": "invalid_email", "field": "Email", "severity": "warning",
                          "reason": "email address is not valid; left empty"})
        row["_dedupe_email"] = (row.get("Email") or "").casefold() or None
        row["_flags"] = flags
        yield P.CONTACTS, row

    def _ticket(self, rec: Ticket):
        row, flags = self._mapped_row(rec, "ticket")
        if rec.requester:
            row["_lookups"]["ContactId"] = rec.requester
        if rec.organization:
            row["_lookups"]["AccountId"] = rec.organization
        row["_owner"] = {"agent": rec.assignee, "queue": rec.queue}
        tag_field, tag_text, tag_flags = tag_value(rec.key, rec.tags, self.tag_policy, self.names.get)
        if tag_field and (tag_text is not None or rec.tags):
            row[tag_field] = tag_text
        flags.extend(tag_flags)
        if rec.kind == "task":
            carry.mark_task(row, rec, flags)
        row["_flags"] = flags
        ext = self.mapping.object_map("ticket").external_id or "hdm_Legacy_Id__c"
        parent = carry.parent_row(rec, ext, self.options.legacy_namespace)
        row["_parent_link"] = parent is not None  # a delta run unlinks a Case whose parent is gone
        yield P.CASES, row
        if self.case_topics and rec.category:
            yield P.TOPIC_ASSIGNMENTS, {"_source_key": f"{rec.key}#topic", "_object": "TopicAssignment",
                                        "_lookups": {"TopicId": rec.category, "EntityId": rec.key}, "_flags": []}
        if parent is not None:
            yield P.CASE_PARENTS, parent
        for cc in carry.collaborator_rows(rec, self.mapping):
            yield P.CASE_CONTACTS, cc

    def _event(self, rec: Event):
        row, flags = self._mapped_row(rec, "event")
        yield carry.event_row(rec, row, flags, self.names)

    def _message(self, rec: Message):
        nm = normalize_message(rec)
        internal = rec.visibility != Visibility.PUBLIC or not nm.public
        # a public customer, agent or bot message (a bot's reply the customer saw) is published; an internal one,
        # or a system entry (event, transfer), never is
        published = (bool(nm.public) and rec.kind in (MessageKind.CUSTOMER, MessageKind.AGENT, MessageKind.BOT)
                     and not internal)
        # a published comment is shown to the customer in the portal: its header names the author, never an address
        email = None if published else rec.author_email
        # every entry's title (email subject, "Ticket transferred", "Status changed" …) is in its header line
        header = comment_header(rec.author_name, email, rec.created_at, rec.kind.value, internal, rec.key, rec.title)
        text = nm.text
        flags = [flag_dict(rec.key, f) for f in [*rec.flags, *nm.flags]]
        limit = self.options.body_file_bytes
        size = len(text.encode("utf-8")) if limit else 0
        if limit and size > limit:  # thousands of comments help nobody: the body becomes a file on the Case
            yield from self._body_as_file(rec, nm.html, header, text, size, published, internal, flags)
            return
        parts = split_comment(header, text, self.options.comment_max_bytes)
        if len(parts) > 1:
            flags.append({"source_key": rec.key, "code": "comment_split", "field": "CommentBody", "severity": "info",
                          "reason": f"body over {self.options.comment_max_bytes} bytes: {len(parts)} ordered comments"})
        for part in parts:
            yield P.COMMENTS, {
                "_source_key": f"{rec.key}#{part.index}", "_object": "CaseComment", "_message": rec.key,
                "_position": rec.position, "_part": part.index, "_parts": part.total,
                "_lookups": {"ParentId": rec.ticket}, "_visibility": rec.visibility.value,
                "IsPublished": published, "CommentBody": part.body,
                # the original time and author, written as CreatedDate/CreatedById where the org allows audit
                # fields (the header keeps them either way)
                "_created_at": sf_datetime(rec.created_at),
                "_author_agent": rec.author if rec.kind == MessageKind.AGENT and rec.author else None,
                "_flags": flags if part.index == 0 else [],
            }

    def _body_as_file(self, rec: Message, safe_html: str, header: str, text: str, size: int, published: bool,
                      internal: bool, flags: list[dict[str, Any]]):
        """A body over ``body_file_bytes``: the whole body as a file on the Case (same visibility as the message),
        and one short comment that points to it. The file's bytes go to the stage like an attachment's."""
        limit = self.options.body_file_bytes
        as_text = rec.body_format == "text" or not safe_html
        name = safe_file_name(f"message-{rec.provenance.id}.{'txt' if as_text else 'html'}", "message.txt")
        if as_text:
            content = f"{header}\n\n{text}\n"
        else:
            content = templates.render("message_file.html.j2", header=header, sanitised_html=safe_html)
        pointer = (f"This message is {size:,} bytes, over the {limit:,}-byte limit for comments. Its full text is "
                   f"the file {name} on this Case.")
        flags.append({"source_key": rec.key, "code": "body_as_file", "field": "CommentBody", "severity": "warning",
                      "reason": f"body of {size} bytes over {limit}: uploaded as the file {name} on the Case; the "
                                "comment points to it"})
        part = split_comment(header, pointer, self.options.comment_max_bytes)[0]
        yield P.COMMENTS, {
            "_source_key": f"{rec.key}#0", "_object": "CaseComment", "_message": rec.key,
            "_position": rec.position, "_part": 0, "_parts": 1,
            "_lookups": {"ParentId": rec.ticket}, "_visibility": rec.visibility.value,
            "IsPublished": published, "CommentBody": part.body,
            # the original time and author, as the comments of a body that stays a comment
            "_created_at": sf_datetime(rec.created_at),
            "_author_agent": rec.author if rec.kind == MessageKind.AGENT and rec.author else None,
            "_flags": flags,
        }
        file_key = f"{rec.key}#body"
        om = self.mapping.object_map("attachment")
        row: dict[str, Any] = {"_source_key": file_key, "_object": om.target, "_lookups": {}, "_message": rec.key,
                               "Title": name, "PathOnClient": name, "_internal": internal or not published,
                               "_flags": []}
        if om.external_id:
            row[om.external_id] = legacy_id(self.options.legacy_namespace, file_key)
        data = content.encode("utf-8")
        row["_size"] = len(data)
        hold = None
        stage = self.options.stage
        if not rec.ticket:
            hold = "message belongs to no ticket"
        elif len(data) > self.options.max_file_bytes:
            hold = f"body file is {len(data)} bytes, over the {self.options.max_file_bytes}-byte upload limit"
        elif stage is None:
            hold = "no stage to keep the body file in"
        else:
            row["_blob"], row["_sha256"], _ = stage.put_blob([data])
        if rec.ticket:
            row["_lookups"]["LinkedEntityId"] = rec.ticket
        if hold:
            row["_hold"] = hold
            row["_flags"].append({"source_key": file_key, "code": "file_held", "field": "VersionData",
                                  "severity": "warning", "reason": hold})
        yield P.FILES, row

    def _attachment(self, rec: Attachment):
        om = self.mapping.object_map("attachment")
        row, flags = self._base_row(rec, om)
        name = safe_file_name(rec.file_name, f"attachment-{rec.provenance.id}")
        if rec.file_name and name != rec.file_name:
            flags.append({"source_key": rec.key, "code": "file_name_sanitised", "field": "PathOnClient",
                          "severity": "warning", "reason": f"file name {rec.file_name!r} made safe as {name!r}"})
        ext = blocked_extension(name, self.options.blocked_extensions)
        row.update({"Title": name, "PathOnClient": name})
        row["_blob"] = rec.blob
        row["_size"] = rec.size
        row["_sha256"] = rec.sha256
        row["_internal"] = rec.visibility != Visibility.PUBLIC
        article = None if rec.ticket else self.names.article_of(rec.key)
        if rec.ticket:
            row["_lookups"]["LinkedEntityId"] = rec.ticket
        elif article:  # a knowledge-base article's file: published onto the article version (Knowledge__kav)
            row["_lookups"]["LinkedEntityId"] = article
            row["_internal"] = False
        hold = None
        if ext:
            hold = f"file type .{ext} is not allowed as a Salesforce file (name {rec.file_name!r})"
        elif rec.size is not None and rec.size > self.options.max_file_bytes:
            hold = f"file is {rec.size} bytes, over the {self.options.max_file_bytes}-byte upload limit"
        elif not rec.blob:
            why = next((f.reason for f in rec.flags if f.field == "blob" and f.severity == "error"), None)
            hold = f"file bytes were not staged: {why}" if why else "file bytes were not staged (missing in the source)"
        elif not rec.ticket and not article:
            hold = "attachment belongs to no ticket"
        if hold:
            row["_hold"] = hold
            flags.append({"source_key": rec.key, "code": "file_held", "field": "VersionData", "severity": "warning",
                          "reason": hold})
        row["_flags"] = flags
        yield P.FILES, row


    # -- knowledge (knowledge.py: Topics and Knowledge__kav) -------------------------------------------
    def _kb_category(self, rec: KbCategory | Category):
        """A knowledge-base category (or, with policy case_topics, a ticket category) → one flat Topic."""
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        raw = " ".join((rec.name or "").split())
        if not raw:
            raw = f"Category {rec.provenance.id}"
            flags.append({"source_key": rec.key, "code": "defaulted", "field": "Name", "severity": "warning",
                          "reason": f"the category has no name: Topic named {raw!r}"})
        name = raw[:kb.TOPIC_NAME_MAX].rstrip()
        if name != raw:
            flags.append({"source_key": rec.key, "code": "truncated", "field": "Name", "severity": "warning",
                          "reason": f"Topic names hold {kb.TOPIC_NAME_MAX} characters: {raw!r} cut",
                          "original": raw})
        self.names.add(rec.key, rec.name or raw, rec.parent)
        path = " / ".join(self.names.path(rec.key))
        desc = f"Path: {path}"
        if getattr(rec, "description", None):  # ticket categories have none
            desc += "\n" + to_plain_text(rec.description).strip()
        if len(desc) > kb.TOPIC_DESCRIPTION_MAX:
            flags.append({"source_key": rec.key, "code": "truncated", "field": "Description", "severity": "info",
                          "reason": f"Topic descriptions hold {kb.TOPIC_DESCRIPTION_MAX} characters"})
            desc = desc[:kb.TOPIC_DESCRIPTION_MAX]
        yield P.TOPICS, {"_source_key": rec.key, "_object": "Topic", "Name": name, "Description": desc,
                         "_path": path, "_flags": flags}

    def _kb_article(self, rec: KbArticle):
        flags = [flag_dict(rec.key, f) for f in rec.flags]
        title = " ".join((rec.title or "").split()) or f"Article {rec.provenance.id}"
        if len(title) > kb.TITLE_MAX:
            flags.append({"source_key": rec.key, "code": "truncated", "field": "Title", "severity": "warning",
                          "reason": f"article titles hold {kb.TITLE_MAX} characters", "original": title})
            title = title[:kb.TITLE_MAX]
        url, alt = kb.url_names(rec.url_name, title, rec.provenance.id)
        if rec.url_name and url != rec.url_name:
            flags.append({"source_key": rec.key, "code": "url_name_changed", "field": "UrlName", "severity": "info",
                          "reason": f"URL name {rec.url_name!r} made valid as {url!r} (letters, digits, hyphens)"})
        body_field = (self.mapping.policies or {}).get("knowledge_body_field", kb.DEFAULT_BODY_FIELD)
        row: dict[str, Any] = {"_source_key": rec.key, "_object": kb.KAV, "Title": title, "UrlName": url,
                               "_url_alt": alt, "_state": rec.state.value if hasattr(rec.state, "value") else
                               str(rec.state), "_languages": kb.language_candidates(rec.locale), "_lookups": {}}
        if rec.summary:
            row["Summary"] = rec.summary
        if body_field:
            row[body_field] = rec.body_html
            row["_body_field"] = body_field
        self.names.add_article_files(rec.key, rec.attachments)  # files: ContentVersion published onto the version
        row["_flags"] = flags
        yield P.KNOWLEDGE, row
        if rec.category:
            yield P.TOPIC_ASSIGNMENTS, {"_source_key": f"{rec.key}#topic", "_object": "TopicAssignment",
                                        "_lookups": {"TopicId": rec.category, "EntityId": rec.key}, "_flags": []}


def custom_value(value: Any) -> Any:
    """A canonical custom field value as Salesforce takes it (lists → ``a;b`` for multi-select)."""
    if isinstance(value, (list, tuple)):
        return ";".join(str(_choice_label(v)) for v in value) or None
    if isinstance(value, dict):
        return _choice_label(value)
    return value


def _choice_label(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("label") or v.get("value") or v.get("key")
    return v
