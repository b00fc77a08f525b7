"""Kayako API records → canonical model v2 records (pure functions over the JSON the API answers, given the
catalogs the source loaded once: roles, statuses, priorities, types, channels, field definitions).

Choices (explained in the report):
- a Kayako *team* is what cases are assigned to and agents belong to: it becomes a Team of kind QUEUE (a
  routing unit, a Salesforce Queue), the case's ``assigned_team`` its ``queue``, the agent's teams its queues;
- roles OWNER, ADMIN, AGENT and COLLABORATOR (a light agent) are agents; CUSTOMER users are contacts;
- a NOTE post is an INTERNAL agent message (never public); every other channel is a public message whose
  direction follows its author (customer → inbound, agent → outbound);
- trashed and suspended cases are extracted and flagged (the destination decides); their state is in extra.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.model import (
    Agent,
    ArticleState,
    Attachment,
    AutomationRule,
    Brand,
    Contact,
    CustomFieldDef,
    Event,
    KbArticle,
    KbCategory,
    Message,
    MessageKind,
    Note,
    Organization,
    Priority,
    Provenance,
    Record,
    SatisfactionRating,
    SlaPolicy,
    Status,
    StatusState,
    Tag,
    Team,
    TeamKind,
    Ticket,
    TicketType,
    Visibility,
    direction_of,
    key,
)
from hdm.sources.kayako.values import FIELD_TYPES, SYSTEM_TYPES, FieldDef, decode_all, field_def, translation

SYSTEM = "kayako"
AGENT_ROLES = frozenset({"OWNER", "ADMIN", "AGENT", "COLLABORATOR"})
STATUS_STATES = {"NEW": StatusState.NEW, "OPEN": StatusState.OPEN, "PENDING": StatusState.PENDING,
                 "COMPLETED": StatusState.RESOLVED, "CLOSED": StatusState.CLOSED}
CHANNELS = {"MAIL": "email", "HELPCENTER": "web", "MESSENGER": "chat", "API": "api", "NOTE": "other",
            "TWITTER": "other", "FACEBOOK": "other"}
ARTICLE_STATES = {"PUBLISHED": ArticleState.PUBLISHED, "DRAFT": ArticleState.DRAFT,
                  "PENDINGAPPROVAL": ArticleState.DRAFT, "ARCHIVED": ArticleState.ARCHIVED}
FIELD_TARGETS = {"cases": "ticket", "users": "contact", "organizations": "organization"}
MEDIA_URL = re.compile(r"""(?:src=["']?)(https?://[^"'\s>\]]+/media/url/[A-Za-z0-9_\-]+)""")


def prov(obj: str, ident: Any) -> Provenance:
    return Provenance(system=SYSTEM, object=obj, id=str(ident))


def ref_id(value: Any) -> Optional[int]:
    """The id of a nested resource (a reference or an expanded record)."""
    if isinstance(value, dict) and value.get("id") is not None:
        try:
            return int(value["id"])
        except (TypeError, ValueError):
            return None
    return None


def iso(value: Any) -> Optional[str]:
    """Kayako's ``2021-03-01T09:00:00+00:00`` as the model's ``...Z`` (other offsets kept as given)."""
    if not isinstance(value, str) or not value:
        return None
    return value[:-6] + "Z" if value.endswith("+00:00") else value


@dataclass
class Catalogs:
    """Small lists every chunk needs, loaded once per source (a handful of calls)."""

    roles: dict[int, str] = field(default_factory=dict)  # role id → type
    statuses: dict[int, dict] = field(default_factory=dict)
    priorities: dict[int, dict] = field(default_factory=dict)
    types: dict[int, dict] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)  # channel id → type
    fields: dict[str, dict[int, FieldDef]] = field(default_factory=dict)  # cases|users|organizations → defs

    def role_of(self, user: Any) -> Optional[str]:
        """The role type of an expanded user (its role is a reference or expanded)."""
        if not isinstance(user, dict):
            return None
        role = user.get("role")
        if isinstance(role, dict) and isinstance(role.get("type"), str):
            return role["type"]
        rid = ref_id(role)
        return self.roles.get(rid) if rid is not None else None

    def channel_type(self, value: Any) -> Optional[str]:
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            return value["type"]
        cid = ref_id(value)
        return self.channels.get(cid) if cid is not None else None


def person_key(user: Any, catalogs: Catalogs) -> Optional[str]:
    """``agent:<id>`` or ``contact:<id>`` for an expanded user; ``None`` when it is only a reference (a user the
    API could not expand: merged away or deleted)."""
    uid = ref_id(user)
    if uid is None:
        return None
    role = catalogs.role_of(user)
    if role is None:
        return None
    return key("agent" if role in AGENT_ROLES else "contact", uid)


def _apply_flags(rec: Record, flags: list[tuple[str, str, Optional[str], str]]) -> None:
    for code, reason, fld, severity in flags:
        rec.flag(code, reason, field=fld, severity=severity)


def _emails(user: Mapping[str, Any]) -> tuple[Optional[str], list[str]]:
    found = [e for e in user.get("emails") or [] if isinstance(e, dict) and isinstance(e.get("email"), str)]
    found.sort(key=lambda e: (not e.get("is_primary"), e.get("id") or 0))
    addresses = [e["email"] for e in found]
    return (addresses[0] if addresses else None), addresses[1:]


def _phone(values: Any) -> Optional[str]:
    for p in values or []:
        if isinstance(p, dict) and isinstance(p.get("number"), str):
            return p["number"]
        if isinstance(p, str) and p:
            return p
    return None


def _tags(values: Any) -> list[str]:
    return [t["name"] for t in values or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]


# -- people ---------------------------------------------------------------------------------------------------

def contact(user: Mapping[str, Any], catalogs: Catalogs) -> Contact:
    email, others = _emails(user)
    org = ref_id(user.get("organization"))
    rec = Contact(prov("user", user["id"]), name=str(user.get("full_name") or ""), email=email,
                  other_emails=others, phone=_phone(user.get("phones")),
                  organization=key("organization", org) if org else None,
                  organizations=[key("organization", org)] if org else [],
                  active=bool(user.get("is_enabled", True)), created_at=iso(user.get("created_at")),
                  updated_at=iso(user.get("updated_at")), tags=_tags(user.get("tags")),
                  extra={k: user.get(k) for k in ("locale", "time_zone", "legacy_id", "designation",
                                                  "last_active_at") if user.get(k) is not None})
    values = decode_all(user.get("custom_fields"), catalogs.fields.get("users", {}))
    rec.custom = values.custom
    if values.deleted:
        rec.extra["deleted_field_values"] = values.deleted
    _apply_flags(rec, values.flags)
    if email is None:
        rec.flag("no_email", "the user has no e-mail identity", field="email", severity="info")
    return rec


def agent(user: Mapping[str, Any], catalogs: Catalogs) -> Agent:
    email, _others = _emails(user)
    first, _, last = str(user.get("full_name") or "").strip().rpartition(" ")
    if not first:
        first, last = last, ""
    role = catalogs.role_of(user) or ""
    teams = [key("team", t) for t in (ref_id(x) for x in user.get("teams") or []) if t is not None]
    rec = Agent(prov("user", user["id"]), first_name=first, last_name=last, email=email,
                phone=_phone(user.get("phones")), active=bool(user.get("is_enabled", True)),
                admin=role in ("ADMIN", "OWNER"), queue=teams[0] if teams else None, queues=teams,
                created_at=iso(user.get("created_at")),
                extra={"role": role, **{k: user.get(k) for k in ("designation", "locale", "time_zone")
                                        if user.get(k) is not None}})
    if role == "COLLABORATOR":
        rec.flag("light_agent", "Kayako collaborator (a light agent): read and note only in Kayako", severity="info")
    return rec


def organization(org: Mapping[str, Any], catalogs: Catalogs) -> Organization:
    domains = [d["domain"] for d in org.get("domains") or [] if isinstance(d, dict)
               and isinstance(d.get("domain"), str)]
    websites = [w for w in org.get("websites") or [] if isinstance(w, str) and w]
    rec = Organization(prov("organization", org["id"]), name=str(org.get("name") or ""), domains=domains,
                       phone=_phone(org.get("phone")),
                       website=websites[0] if websites else (f"https://{domains[0]}" if domains else None),
                       created_at=iso(org.get("created_at")), updated_at=iso(org.get("updated_at")),
                       tags=_tags(org.get("tags")),
                       extra={k: org.get(k) for k in ("legacy_id", "is_shared") if org.get(k) is not None})
    if len(websites) > 1:
        rec.extra["websites"] = websites
    values = decode_all(org.get("custom_fields"), catalogs.fields.get("organizations", {}))
    rec.custom = values.custom
    if values.deleted:
        rec.extra["deleted_field_values"] = values.deleted
    _apply_flags(rec, values.flags)
    return rec


def team(raw: Mapping[str, Any], members: list[str]) -> Team:
    return Team(prov("team", raw["id"]), kind=TeamKind.QUEUE, name=str(raw.get("title") or ""), members=members,
                extra={k: raw.get(k) for k in ("legacy_id",) if raw.get(k) is not None})


def note(raw: Mapping[str, Any], owner: str, subject: str, catalogs: Catalogs) -> Note:
    rec = Note(prov(f"{owner}_note", f"{owner}-{raw['id']}"), subject=subject, body_html=raw.get("body_html"),
               body_text=raw.get("body_text"), created_at=iso(raw.get("created_at")),
               extra={"is_pinned": bool(raw.get("is_pinned"))})
    author = ref_id(raw.get("creator"))
    rec.author = key("agent", author) if author is not None else None
    return rec


# -- cases ---------------------------------------------------------------------------------------------------

def ticket(case: Mapping[str, Any], catalogs: Catalogs) -> Ticket:
    cid = case["id"]
    rec = Ticket(prov("case", cid), kind="ticket", number=str(cid), subject=case.get("subject"),
                 created_at=iso(case.get("created_at")), updated_at=iso(case.get("updated_at")),
                 tags=_tags(case.get("tags")))
    status = catalogs.statuses.get(ref_id(case.get("status")) or -1)
    if status is not None:
        rec.status = status.get("label")
        rec.status_state = STATUS_STATES.get(str(status.get("type")))
        if rec.status_state is None:
            rec.flag("custom_status", f"custom status {status.get('label')!r} has no lifecycle family; "
                     "mapped as open", field="status_state", severity="info")
            rec.status_state = StatusState.OPEN
        if rec.status_state in (StatusState.CLOSED, StatusState.RESOLVED):
            rec.closed_at = iso(case.get("updated_at"))
    elif case.get("status") is not None:
        rec.flag("dangling_fk", "the case's status is not in /cases/statuses", field="status")
    priority = catalogs.priorities.get(ref_id(case.get("priority")) or -1)
    if priority is not None:
        rec.priority = priority.get("label")
        rec.priority_urgency = _urgency(priority, catalogs)
    ctype = ref_id(case.get("type"))
    rec.ticket_type = key("ticket_type", ctype) if ctype is not None else None
    version = case.get("sla_version")
    sla = ref_id(version.get("sla")) if isinstance(version, dict) else None
    rec.sla_policy = key("sla_policy", sla) if sla is not None else None
    if version is not None and sla is None:
        rec.flag("dangling_fk", "the case's SLA version names no SLA", field="sla_policy", severity="info")
    brand = ref_id(case.get("brand"))
    rec.brand = key("brand", brand) if brand is not None else None
    team_id = ref_id(case.get("assigned_team"))
    rec.queue = key("team", team_id) if team_id is not None else None
    assignee = ref_id(case.get("assigned_agent"))
    rec.assignee = key("agent", assignee) if assignee is not None else None
    requester = case.get("requester")
    rid = ref_id(requester)
    if rid is not None:
        role = catalogs.role_of(requester)
        if role is None:
            rec.flag("unknown_requester", f"requester user {rid} could not be read (merged away or deleted)",
                     field="requester")
            rec.requester = key("contact", rid)
        elif role in AGENT_ROLES:
            rec.requester = None
            rec.extra["requester_agent"] = key("agent", rid)
            rec.flag("agent_requester", "the case was requested by an agent", field="requester", severity="info")
        else:
            rec.requester = key("contact", rid)
        org = ref_id(requester.get("organization")) if isinstance(requester, dict) else None
        rec.organization = key("organization", org) if org is not None else None
    channel = catalogs.channel_type(case.get("source_channel"))
    rec.channel = CHANNELS.get(channel or "", "other")
    rec.extra["source_channel"] = channel
    state = str(case.get("state") or "ACTIVE")
    rec.extra["state"] = state
    if state == "TRASH":
        rec.flag("trashed_case", "the case is in Kayako's trash", field="state")
    elif state == "SUSPENDED":
        rec.flag("suspended_case", "the case is suspended in Kayako (e.g. spam held back)", field="state")
    for k in ("legacy_id", "is_merged", "rating", "rating_status", "last_replied_at"):
        if case.get(k) is not None:
            rec.extra[k] = case[k]
    if case.get("post_count") is not None:
        rec.message_count = int(case["post_count"])
    values = decode_all(case.get("custom_fields"), catalogs.fields.get("cases", {}))
    rec.custom = values.custom
    if values.deleted:
        rec.extra["deleted_field_values"] = values.deleted
    _apply_flags(rec, values.flags)
    return rec


def created_event(case: Mapping[str, Any], catalogs: Catalogs) -> Event:
    """The case's creation, when and by whom (the one lifecycle fact every case listing carries; Kayako's audit
    log of later changes is not read)."""
    creator = case.get("creator")
    actor = person_key(creator, catalogs)
    rec = Event(prov("case", f"{case['id']}-created"), ticket=key("ticket", case["id"]), name="created",
                actor=actor, actor_name=creator.get("full_name") if isinstance(creator, dict) else None,
                at=iso(case.get("created_at")),
                data={"channel": catalogs.channel_type(case.get("source_channel")), "state": case.get("state")})
    if actor is None and ref_id(creator) is not None:
        rec.flag("unknown_author", f"the creator (user {ref_id(creator)}) no longer exists", field="actor",
                 severity="info")
    return rec


RATINGS = {"GOOD": 1.0, "BAD": 0.0}


def satisfaction_rating(case: Mapping[str, Any]) -> Optional[SatisfactionRating]:
    """The case's customer rating (Kayako: ``GOOD`` / ``BAD``), when it has one."""
    raw = case.get("rating")
    if raw is None:
        return None
    requester = ref_id(case.get("requester"))
    rec = SatisfactionRating(prov("case_rating", case["id"]), ticket=key("ticket", case["id"]),
                             rating=RATINGS.get(str(raw).upper()), scale="good/bad",
                             author=key("contact", requester) if requester is not None else None,
                             extra={"rating": raw, "rating_status": case.get("rating_status")})
    if rec.rating is None:
        rec.flag("lossy_value", f"rating {raw!r} is neither GOOD nor BAD; kept in extra", field="rating")
    return rec


def _urgency(priority: Mapping[str, Any], catalogs: Catalogs) -> Optional[int]:
    levels = [int(p.get("level") or 0) for p in catalogs.priorities.values()]
    level = priority.get("level")
    if level is None or not levels:
        return None
    return max(levels) - int(level) + 1  # Kayako: a higher level is more urgent; the model: 1 = most urgent


def post_order(posts: list[dict]) -> list[dict]:
    """A case's posts in the order they happened (created_at, then id): ids do not always follow time."""
    return sorted(posts, key=lambda p: (str(p.get("created_at") or ""), int(p.get("id") or 0)))


def message(post: Mapping[str, Any], case_id: int, position: int, catalogs: Catalogs,
            identities: Mapping[int, int]) -> Message:
    channel = catalogs.channel_type(post.get("source_channel")) or ""
    original = post.get("original") if isinstance(post.get("original"), dict) else {}
    creator = post.get("creator")
    author = person_key(creator, catalogs)
    rec = Message(prov("post", post["id"]), ticket=key("ticket", case_id), position=position,
                  created_at=iso(post.get("created_at")), title=post.get("subject") or None,
                  channel=CHANNELS.get(channel, "other"))
    if author is None and ref_id(creator) is not None:
        survivor = identities.get(ref_id(post.get("identity")) or -1)
        if survivor is not None:
            rec.flag("merged_user", f"the author (user {ref_id(creator)}) was merged into user {survivor}",
                     field="author", severity="info")
            author = key("contact", survivor)
        else:
            rec.extra["author_user_id"] = ref_id(creator)
            rec.flag("unknown_author", f"the author (user {ref_id(creator)}) no longer exists (merged away or "
                     "deleted; Kayako links it to no survivor): the message is kept without an author",
                     field="author")
    rec.author = author
    if isinstance(creator, dict):
        rec.author_name = creator.get("full_name")
    ident = post.get("identity")
    if isinstance(ident, dict) and isinstance(ident.get("email"), str):
        rec.author_email = ident["email"]
    is_agent = bool(author and author.startswith("agent:")) or (author is None and post.get("is_requester") is False)
    if channel == "NOTE":
        rec.kind, rec.visibility = MessageKind.AGENT, Visibility.INTERNAL
    else:
        rec.kind = MessageKind.AGENT if is_agent else MessageKind.CUSTOMER
        rec.visibility = Visibility.PUBLIC
    rec.direction = direction_of(rec.kind, rec.visibility)
    html = original.get("body_html") if isinstance(original.get("body_html"), str) else None
    text = original.get("body_text") if isinstance(original.get("body_text"), str) else post.get("contents")
    rec.body_html, rec.body_text = html, text
    rec.body_format = "html" if html else "text"
    if not html and not text:
        rec.flag("empty_body", "the post has no text", field="body_text", severity="info")
    recipients: dict[str, list[str]] = {}
    for r in original.get("recipients") or []:
        if isinstance(r, dict) and isinstance(r.get("email"), str):
            recipients.setdefault(str(r.get("type") or "TO").lower(), []).append(r["email"])
    rec.recipients = recipients
    rec.attachments = [key("attachment", a["id"]) for a in post.get("attachments") or []
                       if isinstance(a, dict) and a.get("id") is not None]
    rec.extra = {**rec.extra, "source_channel": channel, "original_type": original.get("resource_type"),
                 **({"is_requester": post["is_requester"]} if post.get("is_requester") is not None else {})}
    for url, ident in media_images(html, f"post-{post['id']}"):
        rec.inline_images[url] = key("attachment", ident)
        rec.attachments.append(key("attachment", ident))
    return rec


def media_images(html: Optional[str], owner: str) -> list[tuple[str, str]]:
    """The inline images of a body (Kayako serves them at ``<instance>/media/url/<token>``), each with the id
    its Attachment record gets: ``media-<owner>-<token>`` (stable, one per body and image)."""
    found = []
    for url in dict.fromkeys(MEDIA_URL.findall(html or "")):
        token = url.rsplit("/", 1)[-1]
        found.append((url, f"media-{owner}-{token[:32]}"))
    return found


def media_attachment(url: str, ident: str, *, ticket: Optional[str], message: Optional[str],
                     visibility: Visibility, created_at: Optional[str], article: Optional[str] = None) -> Attachment:
    rec = Attachment(prov("media", ident), ticket=ticket, message=message, file_name=ident, inline=True,
                     storage="kayako:media", visibility=visibility, created_at=created_at,
                     extra={"url": url, **({"article": article} if article else {})})
    return rec


def attachment(att: Mapping[str, Any], case_id: int, post: Mapping[str, Any], catalogs: Catalogs) -> Attachment:
    channel = catalogs.channel_type(post.get("source_channel")) or ""
    return Attachment(prov("attachment", att["id"]), ticket=key("ticket", case_id),
                      message=key("message", post["id"]), file_name=str(att.get("name") or f"file-{att['id']}"),
                      content_type=att.get("type"), size=int(att["size"]) if att.get("size") is not None else None,
                      inline=bool(att.get("content_id")), content_id=att.get("content_id") or None,
                      storage="kayako:url_download",
                      visibility=Visibility.INTERNAL if channel == "NOTE" else Visibility.PUBLIC,
                      created_at=iso(att.get("created_at")))


# -- catalogs -------------------------------------------------------------------------------------------------

def status(raw: Mapping[str, Any]) -> Status:
    rec = Status(prov("case_status", raw["id"]), name=str(raw.get("label") or ""),
                 state=STATUS_STATES.get(str(raw.get("type"))), extra={"type": raw.get("type")})
    if raw.get("is_deleted"):
        rec.flag("deleted_status", "the status is deleted in Kayako", severity="info")
    return rec


def priority(raw: Mapping[str, Any], catalogs: Catalogs) -> Priority:
    return Priority(prov("case_priority", raw["id"]), name=str(raw.get("label") or "").lower(),
                    label=str(raw.get("label") or ""), urgency=_urgency(raw, catalogs),
                    extra={"level": raw.get("level")})


def ticket_type(raw: Mapping[str, Any]) -> TicketType:
    return TicketType(prov("case_type", raw["id"]), name=str(raw.get("label") or ""),
                      extra={"type": raw.get("type")})


def brand(raw: Mapping[str, Any]) -> Brand:
    domain = ".".join(p for p in (raw.get("sub_domain"), raw.get("domain")) if isinstance(p, str) and p) or None
    return Brand(prov("brand", raw["id"]), name=str(raw.get("name") or ""), domain=raw.get("alias") or domain,
                 active=bool(raw.get("is_enabled", True)),
                 extra={k: raw.get(k) for k in ("url", "is_default") if raw.get(k) is not None})


def custom_field(raw: Mapping[str, Any], family: str) -> Optional[CustomFieldDef]:
    fd = field_def(raw)
    if fd is None or fd.system or fd.type in SYSTEM_TYPES:
        return None
    rec = CustomFieldDef(prov(f"{family[:-1]}_field", f"{family}-{fd.id}"), target=FIELD_TARGETS[family],
                         name=fd.key, label=fd.title, type=FIELD_TYPES.get(fd.type, "other"),
                         choices=[{"key": label, "label": label} for label in fd.options.values()],
                         required_for_agent=bool(raw.get("is_required_for_agents")),
                         required_for_customer=bool(raw.get("is_required_for_customers")),
                         visible_to_customer=bool(raw.get("is_visible_to_customers")), enabled=fd.enabled,
                         source_type=fd.type, extra={"kayako_id": fd.id, "option_ids": fd.options})
    if fd.type == "CASCADINGSELECT":
        rec.extra["level_separator"] = "\\"
    if fd.type == "FILE":
        rec.flag("file_field", "file field values cannot be read through the API", severity="info")
    return rec


def tag(raw: Mapping[str, Any]) -> Tag:
    return Tag(prov("tag", raw["id"]), name=str(raw.get("name") or ""))


GOALS = {"FIRST_REPLY_TIME": "first_response_hours", "RESOLUTION_TIME": "grace_period_hours"}


def sla_policy(raw: Mapping[str, Any], catalogs: Catalogs) -> SlaPolicy:
    rec = SlaPolicy(prov("sla", raw["id"]), name=str(raw.get("title") or ""), active=bool(raw.get("is_enabled", True)),
                    notes=raw.get("description"))
    targets = []
    for t in raw.get("targets") or []:
        if not isinstance(t, dict):
            continue
        pr = catalogs.priorities.get(ref_id(t.get("priority")) or -1)
        kind = str(t.get("sla_target_type") or t.get("type") or "")
        hours = (float(t["goal_in_seconds"]) / 3600.0) if t.get("goal_in_seconds") is not None else None
        targets.append({"type": kind, "priority": pr.get("label") if pr else None, "hours": hours,
                        "operational_hours": t.get("operational_hours")})
        attr = GOALS.get(kind)
        if attr and hours is not None and (getattr(rec, attr) is None or hours < getattr(rec, attr)):
            setattr(rec, attr, hours)  # the strictest target over priorities
        if t.get("operational_hours") == "BUSINESS_HOURS":
            rec.schedule = "business hours"
    rec.extra = {"targets": targets, "execution_order": raw.get("execution_order"),
                 "conditions": raw.get("predicate_collections")}
    if raw.get("is_deleted"):
        rec.flag("deleted_sla", "the SLA is deleted in Kayako", severity="info")
    return rec


def automation_rule(raw: Mapping[str, Any], kind: str) -> AutomationRule:
    definition = {k: raw.get(k) for k in ("channel", "event", "execution_order", "predicate_collections",
                                          "actions", "targets", "description") if raw.get(k) is not None}
    return AutomationRule(prov(kind, f"{kind}-{raw['id']}"), kind=kind, name=str(raw.get("title") or ""),
                          active=bool(raw.get("is_enabled", True)), definition=definition)


def kb_category(raw: Mapping[str, Any], level: str) -> KbCategory:
    titles = raw.get("titles")
    rec = KbCategory(prov(level, f"{level}-{raw['id']}"), name=translation(titles) or f"{level} {raw['id']}",
                     description=translation(raw.get("descriptions")), locale=_locale(titles))
    if level == "section":
        parent = ref_id(raw.get("category"))
        rec.parent = key("kb_category", f"category-{parent}") if parent is not None else None
        rec.public = str(raw.get("visibility") or "PUBLIC") == "PUBLIC" and bool(raw.get("is_published", True))
    others = sorted({v.get("locale") for v in titles or [] if isinstance(v, dict) and v.get("locale")} -
                    {rec.locale})
    if others:
        rec.extra["translations"] = {loc: translation(titles, loc) for loc in others}
    return rec


def _locale(values: Any) -> Optional[str]:
    locales = [v.get("locale") for v in values or [] if isinstance(v, dict) and v.get("locale")]
    for wanted in ("en-us", "en"):
        if wanted in locales:
            return wanted
    return locales[0] if locales else None


def kb_articles(raw: Mapping[str, Any]) -> list[KbArticle]:
    """One record per locale of the article: the primary locale (English when there is one) keeps the
    article's id; each translation is ``<id>-<locale>`` with ``extra.translation_of``."""
    titles, contents, slugs = raw.get("titles") or [], raw.get("contents") or [], raw.get("slugs") or []
    primary = _locale(titles) or _locale(contents)
    locales = [primary] + sorted({v.get("locale") for v in titles + contents if isinstance(v, dict)
                                  and v.get("locale")} - {primary})
    status_ = str(raw.get("status") or "PUBLISHED")
    state = ARTICLE_STATES.get(status_, ArticleState.DRAFT)
    section = ref_id(raw.get("section"))
    author = ref_id(raw.get("author"))
    keywords = [k.strip() for k in str(raw.get("keywords") or "").split(",") if k.strip()]
    out = []
    for loc in locales:
        ident = str(raw["id"]) if loc == primary else f"{raw['id']}-{loc}"
        rec = KbArticle(prov("article", ident), title=translation(titles, loc) or "",
                        body_html=translation(contents, loc), category=key("kb_category", f"section-{section}")
                        if section is not None else None, state=state, locale=loc,
                        author=key("agent", author) if author is not None else None,
                        url_name=translation(slugs, loc), keywords=keywords,
                        attachments=[key("attachment", f"article-{a['id']}") for a in raw.get("attachments") or []
                                     if isinstance(a, dict) and a.get("id") is not None]
                        + [key("attachment", i) for _u, i in media_images(translation(contents, loc),
                                                                           f"article-{raw['id']}")],
                        created_at=iso(raw.get("created_at")), updated_at=iso(raw.get("updated_at")),
                        extra={"status": status_, "tags": _tags(raw.get("tags")),
                               **({"translation_of": key("kb_article", raw["id"])} if loc != primary else {}),
                               **({"helpcenter_url": raw["helpcenter_url"]} if raw.get("helpcenter_url") else {})})
        if status_ == "PENDINGAPPROVAL":
            rec.flag("pending_approval", "the article awaits approval in Kayako: carried as a draft",
                     field="state", severity="info")
        if loc != primary and not translation([v for v in titles if v.get("locale") == loc]):
            rec.flag("missing_translation", f"no {loc} title; the primary title is used", field="title",
                     severity="info")
            rec.title = translation(titles) or ""
        out.append(rec)
    return out


def article_attachment(att: Mapping[str, Any], article_id: int) -> Attachment:
    return Attachment(prov("article_attachment", f"article-{att['id']}"),
                      file_name=str(att.get("name") or f"file-{att['id']}"), content_type=att.get("type"),
                      size=int(att["size"]) if att.get("size") is not None else None,
                      inline=bool(att.get("content_id")), content_id=att.get("content_id") or None,
                      storage="kayako:url_download", created_at=iso(att.get("created_at")),
                      extra={"article": key("kb_article", article_id)})
