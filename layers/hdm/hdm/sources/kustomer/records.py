"""Kustomer resources (JSON:API ``{type, id, attributes, relationships}``) → canonical model v2 records.

Each function takes one resource (and the lookups it needs) and returns records; a value that cannot be read is
flagged on the record, never fatal. Source-native attributes the model has no field for travel in ``extra``.
"""

from __future__ import annotations

import html
from typing import Any, Optional

from hdm.model import (
    Agent,
    Attachment,
    AutomationRule,
    Contact,
    ContactRole,
    CustomFieldDef,
    CustomObjectRecord,
    CustomObjectType,
    Direction,
    Event,
    Message,
    MessageKind,
    Note,
    Organization,
    Provenance,
    Record,
    ResponseTemplate,
    SlaPolicy,
    StatusState,
    Tag,
    Team,
    TeamKind,
    Ticket,
    Visibility,
    key,
)
from hdm.sources.kustomer.values import (
    canonical_type,
    decode_custom,
    domain_list,
    email_list,
    iso_utc,
    phone_list,
    recipients,
    rel_id,
    rel_ids,
)

SYSTEM = "kustomer"
STATUS_STATES = {"open": StatusState.OPEN, "snoozed": StatusState.PENDING, "done": StatusState.CLOSED}
CHANNELS = {"email": "email", "chat": "chat", "voice": "phone", "phone": "phone", "form": "web", "api": "api"}
CUSTOM_TARGETS = {"customer": "contact", "conversation": "ticket", "company": "organization", "message": "message"}


def prov(object_: str, ident: Any) -> Provenance:
    return Provenance(system=SYSTEM, object=object_, id=str(ident))


def attrs(resource: dict[str, Any]) -> dict[str, Any]:
    value = resource.get("attributes")
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _time(rec: Record, a: dict[str, Any], name: str, field: str) -> Optional[str]:
    value = a.get(name)
    if value is None:
        return None
    stamp = iso_utc(value)
    if stamp is None:
        rec.flag("bad_timestamp", f"{name} is not a timestamp; left empty", field=field)
    return stamp


def _custom(rec: Record, a: dict[str, Any], metadata: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    decoded = decode_custom(a.get("custom"), metadata)
    for name, problem in decoded.problems:
        rec.flag("lossy_value", f"custom attribute {name}: {problem}; kept as it came", field=f"custom.{name}")
    return decoded.values


def _tags(rec: Record, ids: Any, tag_names: dict[str, str]) -> list[str]:
    out: list[str] = []
    if isinstance(ids, str):
        ids = [ids]  # a lone tag id
    if ids is not None and not isinstance(ids, list):
        rec.flag("lossy_value", f"tags is a {type(ids).__name__}, not a list; ignored", field="tags")
    for tag in ids if isinstance(ids, list) else []:
        name = tag_names.get(str(tag))
        if name is None:
            rec.flag("dangling_fk", "a tag id that is not among the org's tags; kept as the id", field="tags")
            name = str(tag)
        if name not in out:
            out.append(name)
    return out


def _external(a: dict[str, Any]) -> dict[str, str]:
    ext = _str(a.get("externalId"))
    return {"external": ext} if ext else {}


def _strings(rec: Record, a: dict[str, Any], name: str, field: str) -> list[str]:
    """A list attribute of ids/names; a lone string is taken as a one-item list, anything else flagged."""
    value = a.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        rec.flag("lossy_value", f"{name} is a {type(value).__name__}, not a list; ignored", field=field)
        return []
    out = [v for v in value if isinstance(v, str) and v]
    if len(out) != len(value):
        rec.flag("lossy_value", f"{name} holds values that are not ids; those were dropped", field=field)
    return out


def _extra(a: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: a[n] for n in names if a.get(n) not in (None, [], {}, "")}


# -- people -------------------------------------------------------------------------------------------------------

def company(resource: dict[str, Any], tag_names: dict[str, str]) -> Organization:
    a = attrs(resource)
    org = Organization(prov("company", resource["id"]), name=_str(a.get("name")) or "")
    if not org.name:
        org.flag("missing_value", "company without a name", field="name")
    org.domains = domain_list(a.get("domains"))
    phones = phone_list(a.get("phones"))
    org.phone = phones[0] if phones else None
    org.website = org.domains[0] if org.domains else None
    org.created_at = _time(org, a, "createdAt", "created_at")
    org.updated_at = _time(org, a, "updatedAt", "updated_at")
    org.tags = _tags(org, a.get("tags"), tag_names)
    org.custom = _custom(org, a)
    org.external_ids = _external(a)
    org.extra = {**_extra(a, ("emails", "phones", "rev", "deleted")), "emails": email_list(a.get("emails"))}
    return org


def customer(resource: dict[str, Any], tag_names: dict[str, str]) -> Contact:
    a = attrs(resource)
    c = Contact(prov("customer", resource["id"]))
    name = _str(a.get("name")) or " ".join(p for p in (_str(a.get("firstName")), _str(a.get("lastName"))) if p)
    emails = email_list(a.get("emails"))
    phones = phone_list(a.get("phones"))
    c.name = name or (emails[0] if emails else "")
    if not name:
        c.flag("missing_value", "customer without a name", field="name")
    c.email = emails[0] if emails else None
    c.other_emails = emails[1:]
    c.phone = phones[0] if phones else None
    company_id = rel_id(resource, "company")
    if company_id:
        c.organization = key("organization", company_id)
        c.organizations = [c.organization]
    c.custom = _custom(c, a)
    # what Kustomer says the customer is: an attribute or the conventional custom attributes (the destination's rule
    # decides Contact or Lead; the values travel for audit)
    kind = _str(a.get("customerType")) or _str(c.custom.get("customerTypeStr"))
    c.role = ContactRole.LEAD if kind and kind.lower() == "lead" else ContactRole.USER
    c.lifecycle = _str(a.get("lifecycleStage")) or _str(c.custom.get("lifecycleStageStr"))
    c.active = not bool(a.get("deleted"))
    c.created_at = _time(c, a, "createdAt", "created_at")
    c.updated_at = _time(c, a, "updatedAt", "updated_at")
    c.tags = _tags(c, a.get("tags"), tag_names)
    c.external_ids = _external(a)
    extra = _extra(a, ("firstName", "lastName", "displayName", "companyName", "locale", "verified", "socials",
                       "urls", "locations", "sharedEmails", "sharedPhones", "rev"))
    extra["phones"] = phones
    if kind:
        extra["customer_type"] = kind
    others = [e.get("externalId") for e in a.get("externalIds") or [] if isinstance(e, dict) and e.get("externalId")]
    if others:
        extra["external_ids"] = others
    c.extra = extra
    return c


def user(resource: dict[str, Any], groups: list[str]) -> Agent:
    a = attrs(resource)
    name = _str(a.get("name")) or _str(a.get("displayName")) or ""
    first, _, last = name.rpartition(" ") if " " in name else ("", "", name)
    ag = Agent(prov("user", resource["id"]), first_name=first or last, last_name=last if first else "")
    ag.email = _str(a.get("email"))
    ag.phone = _str(a.get("mobile")) or _str(a.get("phone"))
    ag.active = not bool(a.get("deleted"))
    roles = a.get("roles") if isinstance(a.get("roles"), list) else []
    ag.admin = "org.admin" in roles
    ag.groups = groups
    ag.created_at = _time(ag, a, "createdAt", "created_at")
    ag.extra = _extra(a, ("displayName", "userType", "roles", "deleted"))
    if a.get("userType") == "machine":
        ag.flag("machine_user", "an API/machine user, not a person", severity="info")
    if not ag.email:
        ag.flag("missing_value", "user without an e-mail (matching to a destination user is by e-mail)", field="email")
    return ag


def team(resource: dict[str, Any]) -> Team:
    a = attrs(resource)
    t = Team(prov("team", resource["id"]), kind=TeamKind.GROUP, name=_str(a.get("name")) or "")
    members = a.get("members") if isinstance(a.get("members"), list) else []
    t.members = [key("agent", m) for m in members if isinstance(m, str)]
    t.active = not bool(a.get("deleted"))
    t.extra = _extra(a, ("displayName", "icon"))
    return t


def tag(resource: dict[str, Any]) -> Tag:
    a = attrs(resource)
    t = Tag(prov("tag", resource["id"]), name=_str(a.get("name")) or str(resource["id"]))
    t.extra = _extra(a, ("color", "deleted"))
    return t


# -- conversations ------------------------------------------------------------------------------------------------

def conversation(resource: dict[str, Any], tag_names: dict[str, str]) -> Ticket:
    a = attrs(resource)
    t = Ticket(prov("conversation", resource["id"]), kind="conversation")
    t.subject = _str(a.get("name"))
    status = _str(a.get("status"))
    t.status = status
    t.status_state = STATUS_STATES.get(status or "")
    if status and t.status_state is None:
        t.flag("unknown_status", "a conversation status Kustomer does not document; kept as is", field="status")
    priority = a.get("priority")
    if isinstance(priority, (int, float)) and not isinstance(priority, bool) and 1 <= priority <= 5:
        t.priority = str(int(priority))
        t.priority_urgency = 6 - int(priority)  # Kustomer: 5 is the most urgent
    elif priority is not None:
        t.priority = str(priority)
        t.flag("lossy_value", "priority outside 1-5; kept as text", field="priority")
    customer_id = rel_id(resource, "customer")
    t.requester = key("contact", customer_id) if customer_id else None
    if not customer_id:
        t.flag("missing_value", "conversation without a customer", field="requester")
    users = _strings(t, a, "assignedUsers", "assignee")
    teams = _strings(t, a, "assignedTeams", "assignee_group")
    t.assignee = key("agent", users[0]) if users else None
    t.assignee_group = key("team", teams[0]) if teams else None
    sla = rel_id(resource, "sla")
    t.sla_policy = key("sla_policy", sla) if sla else None
    channels = _strings(t, a, "channels", "channel")
    t.channel = CHANNELS.get(channels[0], "other") if channels else None
    t.created_at = _time(t, a, "createdAt", "created_at")
    t.updated_at = _time(t, a, "updatedAt", "updated_at")
    t.closed_at = _time(t, a, "endedAt", "closed_at") if status == "done" else None
    t.tags = _tags(t, a.get("tags"), tag_names)
    t.custom = _custom(t, a)
    counts = [a.get("messageCount"), a.get("noteCount")]
    if all(isinstance(n, int) for n in counts):
        t.message_count = sum(counts)
    t.external_ids = _external(a)
    extra = _extra(a, ("channels", "direction", "snooze", "sla", "spam", "deleted", "locale", "preview",
                       "lastMessageAt", "lastActivityAt", "importedAt", "messageCount", "noteCount"))
    if len(users) > 1:
        extra["assigned_users"] = [key("agent", u) for u in users]
    if len(teams) > 1:
        extra["assigned_teams"] = [key("team", g) for g in teams]
    for rel in ("queue", "brand"):
        ident = rel_id(resource, rel)
        if ident:
            extra[rel] = ident
    t.extra = extra
    return t


def lifecycle_events(resource: dict[str, Any]) -> list[Event]:
    """The conversation's lifecycle as Kustomer's own timestamps state it: created (createdAt, by its customer) and,
    once done, closed (endedAt). Kustomer keeps no history of other changes outside its audit logs (not read)."""
    a = attrs(resource)
    cid = str(resource["id"])
    ticket = key("ticket", cid)
    customer_id = rel_id(resource, "customer")
    out: list[Event] = []
    created = iso_utc(a.get("createdAt"))
    if created:
        out.append(Event(prov("conversation", f"{cid}.created"), ticket=ticket, name="created", at=created,
                         actor=key("contact", customer_id) if customer_id else None,
                         data={"from": "conversation.createdAt", "channels": a.get("channels")}))
    ended = iso_utc(a.get("endedAt"))
    if a.get("status") == "done" and ended:
        out.append(Event(prov("conversation", f"{cid}.closed"), ticket=ticket, name="closed", at=ended,
                         data={"from": "conversation.endedAt", "status": "done"}))
    return out


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda r: (iso_utc(attrs(r).get("createdAt")) or "", str(r.get("id"))))


def thread(conversation_id: str, messages: list[dict[str, Any]], notes: list[dict[str, Any]]) -> list[Message]:
    """The conversation's messages and notes as one thread, ordered by (createdAt, id); notes are internal."""
    is_note = {id(n) for n in notes}
    out: list[Message] = []
    for position, item in enumerate(_ordered([*messages, *notes])):
        out.append(note(conversation_id, item, position) if id(item) in is_note
                   else message(conversation_id, item, position))
    return out


def message(conversation_id: str, resource: dict[str, Any], position: int = 0) -> Message:
    a = attrs(resource)
    meta = a.get("meta") if isinstance(a.get("meta"), dict) else {}
    m = Message(prov("message", resource["id"]), ticket=key("ticket", conversation_id), position=position)
    direction = a.get("direction")
    author_user = rel_id(resource, "createdBy")
    customer_id = rel_id(resource, "customer")
    if direction == "in":
        m.direction, m.kind = Direction.INBOUND, MessageKind.CUSTOMER
        m.author = key("contact", customer_id) if customer_id else None
    elif direction == "out":
        m.direction = Direction.OUTBOUND
        m.kind = MessageKind.AGENT if author_user else (MessageKind.BOT if a.get("auto") else MessageKind.SYSTEM)
        m.author = key("agent", author_user) if author_user else None
    else:
        m.flag("lossy_value", "message without a direction in/out", field="direction")
        m.author = key("agent", author_user) if author_user else (key("contact", customer_id) if customer_id else None)
    m.visibility = Visibility.PUBLIC
    m.channel = _str(a.get("channel"))
    sender = meta.get("from")
    senders = recipients(sender)
    m.author_email = senders[0] if senders and "@" in senders[0] else None
    m.title = _str(meta.get("subject")) or _str(a.get("subject"))
    body_html = meta.get("html") if isinstance(meta.get("html"), str) else None
    body_text = a.get("body") if isinstance(a.get("body"), str) else (
        a.get("preview") if isinstance(a.get("preview"), str) else None)
    m.body_html = body_html
    m.body_text = body_text
    m.body_format = "html" if body_html else "text"
    if body_html is None and body_text is None:
        m.flag("missing_value", "message without a body or preview", field="body_text")
    m.recipients = {k: recipients(meta.get(k)) for k in ("to", "cc", "bcc") if recipients(meta.get(k))}
    for k in ("to", "cc", "bcc"):
        if meta.get(k) not in (None, "", [], {}) and k not in m.recipients:
            m.flag("lossy_value", f"meta.{k} holds no readable address; left empty", field=f"recipients.{k}")
    if senders:
        m.recipients["from"] = senders
    m.created_at = _time(m, a, "createdAt", "created_at")
    m.attachments = [key("attachment", i) for i in rel_ids(resource, "attachments")]
    decoded = _custom(m, a)
    extra = _extra(a, ("app", "directionType", "status", "sentAt", "auto", "redacted", "lang", "importedAt"))
    extra.update(_extra(meta, ("messageId", "inReplyTo", "references")))
    if decoded:
        extra["custom"] = decoded
    m.extra = extra
    return m


def note(conversation_id: str, resource: dict[str, Any], position: int = 0) -> Message:
    """A note: internal, from an agent, never public."""
    a = attrs(resource)
    m = Message(prov("note", resource["id"]), ticket=key("ticket", conversation_id), position=position,
                kind=MessageKind.AGENT, visibility=Visibility.INTERNAL, direction=None, channel="note")
    author = rel_id(resource, "createdBy")
    m.author = key("agent", author) if author else None
    m.body_text = a.get("body") if isinstance(a.get("body"), str) else None
    m.body_format = "text"
    if m.body_text is None:
        m.flag("missing_value", "note without a body", field="body_text")
    m.created_at = _time(m, a, "createdAt", "created_at")
    m.attachments = [key("attachment", i) for i in rel_ids(resource, "attachments")]
    mentions = [u.get("user") for u in a.get("userMentions") or [] if isinstance(u, dict) and u.get("user")]
    if mentions:
        m.extra = {"mentions": [key("agent", u) for u in mentions]}
    return m


def customer_note(resource: dict[str, Any]) -> Note:
    """A note on a customer (or a company) outside any conversation: a canonical Note, internal by nature."""
    a = attrs(resource)
    n = Note(prov("note", resource["id"]))
    customer_id, company_id = rel_id(resource, "customer"), rel_id(resource, "company")
    if customer_id:
        n.subject = key("contact", customer_id)
    elif company_id:
        n.subject = key("organization", company_id)
    else:
        n.flag("dangling_fk", "a note on neither a conversation, a customer nor a company", field="subject")
    n.body_text = a.get("body") if isinstance(a.get("body"), str) else None
    if n.body_text is None:
        n.flag("missing_value", "note without a body", field="body_text")
    author = rel_id(resource, "createdBy")
    n.author = key("agent", author) if author else None
    n.created_at = _time(n, a, "createdAt", "created_at")
    attachments = rel_ids(resource, "attachments")
    if attachments:
        n.extra = {"attachments": attachments}
        n.flag("lossy_value", "files attached to a customer note are not read (only conversation files are)",
               field="extra.attachments")
    return n


def attachment(resource: dict[str, Any], conversation_id: str, internal_parents: set[str]) -> Attachment:
    a = attrs(resource)
    parent_type = "note" if rel_id(resource, "note") else "message"
    parent = rel_id(resource, parent_type)
    att = Attachment(prov("attachment", resource["id"]), ticket=key("ticket", conversation_id),
                     message=key("message", parent) if parent else None,
                     file_name=_str(a.get("name")) or f"attachment-{resource['id']}",
                     content_type=_str(a.get("contentType")), storage="kustomer")
    length = a.get("contentLength")
    att.size = int(length) if isinstance(length, (int, float)) and not isinstance(length, bool) else None
    att.visibility = Visibility.INTERNAL if parent_type == "note" or parent in internal_parents else Visibility.PUBLIC
    att.created_at = _time(att, a, "createdAt", "created_at")
    if not parent:
        att.flag("dangling_fk", "attachment of no message or note", field="message")
    if not _str(a.get("name")):
        att.flag("missing_value", "attachment without a file name", field="file_name")
    return att


# -- catalog ------------------------------------------------------------------------------------------------------

def custom_fields(resource_name: str, metadata: dict[str, Any]) -> list[CustomFieldDef]:
    """The custom attribute metadata of one resource (``GET /metadata/<resource>``) as field definitions."""
    props = attrs(metadata).get("properties")
    out: list[CustomFieldDef] = []
    for name, spec in (props.items() if isinstance(props, dict) else []):
        spec = spec if isinstance(spec, dict) else {}
        ctype, source_type = canonical_type(name, spec.get("type"))
        d = CustomFieldDef(prov(f"metadata.{resource_name}", f"{resource_name}.{name}"),
                           target=CUSTOM_TARGETS.get(resource_name, resource_name), name=name,
                           label=_str(spec.get("displayName")) or name, type=ctype, source_type=source_type,
                           form=resource_name)
        if ctype == "other":
            d.flag("lossy_value", f"custom attribute {name}: type {source_type!r} unknown", field="type")
        tree = spec.get("tree")
        if isinstance(tree, dict):
            d.choices = _tree_choices(tree.get("children"), "")
        if spec.get("array"):
            d.type = "multichoice" if ctype == "choice" else d.type
            d.extra = {"array": True}
        out.append(d)
    return out


def _tree_choices(children: Any, prefix: str, depth: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for child in children if isinstance(children, list) and depth < 10 else []:
        if not isinstance(child, dict) or not child.get("value"):
            continue
        value = f"{prefix}{child['value']}"
        out.append({"key": value, "label": child.get("displayName") or value})
        out += _tree_choices(child.get("children"), f"{value}.", depth + 1)
    return out


def klass_type(resource: dict[str, Any]) -> CustomObjectType:
    """A klass: its attributes (typed by suffix) and its lookups (a property's ``target``: ``kobject.<klass>``)."""
    a = attrs(resource)
    name = _str(a.get("name")) or str(resource["id"])
    t = CustomObjectType(prov("klass", name), name=name, label=_str(a.get("displayName")) or name)
    props = (a.get("metadata") or {}).get("properties") if isinstance(a.get("metadata"), dict) else None
    fields: list[dict[str, Any]] = [{"name": "title", "label": "Title", "type": "text", "source_type": "title"}]
    for prop, spec in (props.items() if isinstance(props, dict) else []):
        spec = spec if isinstance(spec, dict) else {}
        ctype, source_type = canonical_type(prop, spec.get("type"))
        entry: dict[str, Any] = {"name": prop, "label": _str(spec.get("displayName")) or prop, "type": ctype,
                                 "source_type": source_type}
        target = _str(spec.get("target"))
        if target and target.startswith("kobject."):
            entry["lookup"] = key("custom_object_type", target.removeprefix("kobject."))
        elif target:
            entry["lookup_target"] = target
        fields.append(entry)
    fields.append({"name": "customer", "label": "Customer", "type": "lookup", "lookup": "contact"})
    t.fields = fields
    t.extra = {**_extra(a, ("icon", "color", "deleted")), "klass_id": str(resource["id"])}
    return t


def lookups_of(klass: CustomObjectType) -> dict[str, str]:
    """property name → the klass name it refers to (for KObject relationships)."""
    return {f["name"]: f["lookup"].split(":", 1)[1] for f in klass.fields
            if f.get("lookup", "").startswith("custom_object_type:")}


def kobject(resource: dict[str, Any], klass: CustomObjectType) -> tuple[CustomObjectRecord, dict[str, str]]:
    """A KObject, and its lookups (property → parent KObject id) for the caller to check."""
    a = attrs(resource)
    rec = CustomObjectRecord(prov(f"kobject.{klass.name}", resource["id"]), type=klass.key)
    values = _custom(rec, a)
    values["title"] = _str(a.get("title"))
    rec.values = values
    related: list[str] = []
    customer_id = rel_id(resource, "customer")
    if customer_id:
        related.append(key("contact", customer_id))
    parents: dict[str, str] = {}
    for prop in lookups_of(klass):
        value = values.get(prop)
        if isinstance(value, str) and value:
            parents[prop] = value
            related.append(key("custom_object_record", value))
    rec.related = related
    rec.external_ids = _external(a)
    rec.extra = {**_extra(a, ("description", "icon", "images", "tags", "rev")),
                 **({"created_at": iso_utc(a.get("createdAt"))} if a.get("createdAt") else {}),
                 **({"updated_at": iso_utc(a.get("updatedAt"))} if a.get("updatedAt") else {})}
    return rec, parents


def shortcut(resource: dict[str, Any]) -> ResponseTemplate:
    a = attrs(resource)
    draft = a.get("draft") if isinstance(a.get("draft"), dict) else {}
    text = draft.get("text") if isinstance(draft.get("text"), str) else None
    body = draft.get("html") if isinstance(draft.get("html"), str) else (
        "<p>" + html.escape(text).replace("\n", "<br>") + "</p>" if text is not None else None)
    r = ResponseTemplate(prov("shortcut", resource["id"]), title=_str(a.get("name")) or "", body_html=body,
                         active=not bool(a.get("deleted") or a.get("appDisabled")), kind="canned_response")
    r.extra = _extra(a, ("isPrivate", "rev"))
    return r


def sla_policy(resource: dict[str, Any], version: Optional[dict[str, Any]]) -> SlaPolicy:
    a = attrs(resource)
    s = SlaPolicy(prov("sla", resource["id"]), name=_str(a.get("name")) or "", active=bool(a.get("enabled", True)))
    v = attrs(version) if version else {}
    metrics = v.get("metrics") if isinstance(v.get("metrics"), dict) else {}

    def hours(metric: str) -> Optional[float]:
        target = (metrics.get(metric) or {}).get("target") if isinstance(metrics.get(metric), dict) else None
        return round(target / 3600, 4) if isinstance(target, (int, float)) else None

    s.first_response_hours = hours("firstResponse")
    s.grace_period_hours = hours("resolution") or hours("totalResolution")
    s.schedule = _str(v.get("hours"))
    s.notes = _str(v.get("description"))
    s.extra = {"current_version": a.get("currentVersion"), "metrics": metrics, "criteria": v.get("criteria")}
    if version is None:
        s.flag("missing_value", "no current SLA version was found; targets unknown", field="first_response_hours")
    return s


def automation(kind: str, resource: dict[str, Any]) -> AutomationRule:
    a = attrs(resource)
    definition = {k: v for k, v in a.items() if k not in ("name", "enabled", "createdAt", "updatedAt", "modifiedAt")}
    return AutomationRule(prov(kind, resource["id"]), kind=kind.replace("-", "_"), name=_str(a.get("name")) or "",
                          active=bool(a.get("enabled", True)), definition=definition)
