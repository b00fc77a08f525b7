"""One Thread bundle line: checked against its file's JSON Schema (``records.schema.json``), then mapped into
canonical model v2 records (docs/thread-bundle.md, "Into the canonical model").

Each line becomes exactly one *primary* record (a review its ``ticket`` of kind review, a user its ``agent`` or
``contact`` ...), keyed by the line's id (``review-`` / ``response-`` prefixed for reviews and their responses, so
they never meet a ticket's or message's key); a review also yields its body as the first message of its ticket and
its star rating as a ``satisfaction_rating``, with the same provenance. Attributes without a canonical field are
carried in ``extra``; the PSA reference and the thread id in ``external_ids``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Optional

import fastjsonschema
import jsonschema

from hdm.model import (
    Agent,
    Attachment,
    AutomationRule,
    Contact,
    CustomFieldDef,
    Message,
    MessageKind,
    Provenance,
    Record,
    ResponseTemplate,
    SatisfactionRating,
    Tag,
    Team,
    TeamKind,
    Ticket,
    Visibility,
    direction_of,
)
from hdm.sources.export.records import LineRefused, json_object

SYSTEM = "thread"
OBJECT_TYPES = ("user", "team", "tag", "custom_property", "response_template", "routing_rule", "review",
                "review_response", "ticket", "message", "attachment")
# the canonical type of each file's primary record (users: agent or contact by role)
PRIMARY = {"user": ("agent", "contact"), "team": ("team",), "tag": ("tag",), "custom_property": ("custom_field",),
           "response_template": ("response_template",), "routing_rule": ("automation_rule",),
           "review": ("ticket",), "review_response": ("message",), "ticket": ("ticket",), "message": ("message",),
           "attachment": ("attachment",)}
# every canonical type a file's lines become (chunks are per canonical type: the destination dispatches on it)
EMITS = {"user": ("agent", "contact"), "review": ("ticket", "message", "satisfaction_rating")}
MAX_PROBLEMS_PER_LINE = 5
PROPERTY_TYPES = {"text": "text", "long_text": "memo", "number": "decimal", "date": "date", "datetime": "datetime",
                  "select": "choice", "multi_select": "multichoice", "checkbox": "bool"}


@functools.cache
def records_schema() -> dict[str, Any]:
    return json.loads(resources.files("hdm.sources.thread").joinpath("records.schema.json").read_text("utf-8"))


@functools.cache
def manifest_schema() -> dict[str, Any]:
    return json.loads(resources.files("hdm.sources.thread").joinpath("manifest.schema.json").read_text("utf-8"))


def _inline(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """The schema with its local ``$ref``s replaced by what they name (the schema has no cycles; bounded): the
    validator then follows no reference per line, several times faster."""
    if depth > 20:
        raise ValueError("records.schema.json nests $ref too deep")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline(defs[ref.removeprefix("#/$defs/")], defs, depth + 1)
        return {k: _inline(v, defs, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs, depth + 1) for v in node]
    return node


@functools.cache
def _validator(object_type: str) -> jsonschema.protocols.Validator:
    """The reference validator (jsonschema, draft 2020-12): every problem of a line, worded."""
    schema = records_schema()
    one = {"$schema": schema["$schema"], **_inline(schema["$defs"][object_type], schema["$defs"])}
    return jsonschema.Draft202012Validator(one)


@functools.cache
def _fast(object_type: str) -> Any:
    """The same schema compiled to Python by fastjsonschema (about 30x faster per line): the schema, once its
    references are inlined, uses only keywords that mean the same in draft-07 and 2020-12 (type, enum, required,
    properties, items, pattern, lengths, bounds). A line it refuses goes to the reference validator for the
    wording; tests check both agree."""
    schema = records_schema()
    one = _inline(schema["$defs"][object_type], schema["$defs"])
    return fastjsonschema.compile({"$schema": "http://json-schema.org/draft-07/schema#", **one})


def parse(raw: bytes, object_type: str) -> dict[str, Any]:
    """The line as a dict valid for its file's schema, or :class:`LineRefused` naming what is wrong (no values)."""
    if object_type not in PRIMARY:
        raise LineRefused(f"{object_type!r} is not a Thread bundle object type")
    data = json_object(raw)
    try:
        _fast(object_type)(data)
        errors = []
    except fastjsonschema.JsonSchemaException:
        # the reference validator words the problems (and has the last word: none found, the line passes)
        errors = sorted(_validator(object_type).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        shown = "; ".join(f"{'/'.join(str(p) for p in e.absolute_path) or '(line)'}: {_say(e)}"
                          for e in errors[:MAX_PROBLEMS_PER_LINE])
        more = len(errors) - MAX_PROBLEMS_PER_LINE
        raise LineRefused(f"does not match the {object_type} schema: {shown}" + (f"; and {more} more" if more > 0
                                                                                  else ""))
    if object_type in ("ticket", "message") and data["id"].startswith(("review-", "response-")):
        raise LineRefused("id: review- and response- prefixes are kept for reviews and their responses")
    return data


def _say(err: jsonschema.ValidationError) -> str:
    """The schema error without the offending value (it may be personal data)."""
    v = err.validator
    if v == "required":
        return err.message.split(" is a required")[0] + " is required"
    if v == "type":
        return f"must be of type {err.validator_value}"
    if v in ("enum", "const"):
        return f"must be one of {err.validator_value}"
    if v in ("maxLength", "minLength", "minimum", "maximum", "pattern"):
        return f"{v} {err.validator_value} not met"
    return f"fails {v}"


def check_line(raw: bytes, object_type: str) -> tuple[str, bool, dict[str, Any]]:
    data = parse(raw, object_type)
    return data["id"], False, data


# -- keys -----------------------------------------------------------------------------------------

def review_key(review_id: str) -> str:
    return f"ticket:review-{review_id}"


def person_key(author_type: Optional[str], user_id: Optional[str]) -> Optional[str]:
    if not user_id:
        return None
    return f"contact:{user_id}" if author_type == "customer" else f"agent:{user_id}"


def _ref(kind: str, ident: Optional[str]) -> Optional[str]:
    return f"{kind}:{ident}" if ident else None


def _prov(obj: str, ident: str, version: Optional[str]) -> Provenance:
    return Provenance(SYSTEM, obj, ident, version)


def _extra(data: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """The line's attributes the mapping does not use, carried as they are."""
    return {k: v for k, v in data.items() if k not in known}


# -- into the canonical model ---------------------------------------------------------------------

def canonical_types(data: dict[str, Any], object_type: str) -> tuple[str, ...]:
    """The canonical types one valid line becomes, as :func:`to_canonical` yields them (without building them):
    what discover counts."""
    if object_type == "user":
        return ("contact",) if data["role"] == "customer" else ("agent",)
    if object_type == "review":
        return ("ticket", "message", "satisfaction_rating") if data.get("body") else ("ticket", "satisfaction_rating")
    return PRIMARY[object_type]


def to_canonical(data: dict[str, Any], object_type: str, version: Optional[str] = None) -> list[Record]:
    """The canonical records of one valid line (the primary one first)."""
    return _MAPPERS[object_type](data, version)


def _user(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    known = {"id", "name", "email", "role", "active", "phone", "created_at"}
    name = d["name"]
    if d["role"] == "customer":
        return [Contact(_prov("user", d["id"], v), name=name, email=d.get("email"), phone=d.get("phone"),
                        active=d.get("active", True), created_at=d.get("created_at"), extra=_extra(d, known))]
    first, _, last = name.partition(" ")
    return [Agent(_prov("user", d["id"], v), username=d.get("email") or d["id"], first_name=first,
                  last_name=last or first, email=d.get("email"), phone=d.get("phone"), active=d.get("active", True),
                  admin=d["role"] == "admin", created_at=d.get("created_at"),
                  extra={**_extra(d, known), "thread_role": d["role"]})]


def _team(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    # a Thread team is the unit tickets are routed to (routing rules name it; a ticket's team_id): a queue, with
    # its agents as members (the spec's Thread Team -> Salesforce Queue with QueueMembers)
    return [Team(_prov("team", d["id"], v), kind=TeamKind.QUEUE, name=d["name"],
                 members=[f"agent:{m}" for m in d.get("members", [])], manager=_ref("agent", d.get("lead_id")),
                 extra=_extra(d, {"id", "name", "members", "lead_id"}))]


def _tag(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    return [Tag(_prov("tag", d["id"], v), name=d["name"], extra=_extra(d, {"id", "name"}))]


def _custom_property(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    rec = CustomFieldDef(_prov("custom_property", d["id"], v), target="ticket", name=d["name"],
                         label=d.get("label") or d["name"], type=PROPERTY_TYPES[d["type"]],
                         choices=[{"key": o, "label": o} for o in d.get("options", [])],
                         required_for_agent=bool(d.get("required")), source_type=d["type"],
                         extra=_extra(d, {"id", "name", "label", "type", "options", "required"}))
    return [rec]


def _response_template(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    return [ResponseTemplate(_prov("response_template", d["id"], v), title=d["name"], body_html=d["body"],
                             active=d.get("active", True), kind="canned_response",
                             extra={**_extra(d, {"id", "name", "body", "active"}),
                                    "shortcut": d.get("shortcut"), "merge_fields": d.get("merge_fields", [])})]


def _routing_rule(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    return [AutomationRule(_prov("routing_rule", d["id"], v), kind="routing", name=d["name"],
                           active=d.get("active", True),
                           definition={"order": d.get("order"), "conditions": d.get("conditions", []),
                                       "queue": _ref("team", d.get("team_id")),
                                       "assignee": _ref("agent", d.get("assignee_id")),
                                       "description": d.get("description")},
                           extra=_extra(d, {"id", "name", "active", "order", "conditions", "team_id", "assignee_id",
                                            "description"}))]


def _review(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    ident = f"review-{d['id']}"
    prov = _prov("review", ident, v)
    tkey = review_key(d["id"])
    author = d.get("author") or {}
    scale = d.get("rating_scale") or 5
    stars = d["rating"]
    subject = d.get("title") or f"{d['source_platform']} review: {stars:g}/{scale}"
    ticket = Ticket(prov, kind="review", number=ident, subject=subject, status=d.get("status") or "new",
                    channel="review",
                    created_at=d["created_at"], updated_at=d.get("updated_at"), tags=list(d.get("tags", [])),
                    custom=dict(d.get("properties", {})),
                    external_ids={"thread_review": d["id"]},
                    extra={**_extra(d, {"id", "title", "status", "created_at", "updated_at", "tags", "properties",
                                        "body", "author", "rating", "rating_scale"}),
                           "review_source": d["source_platform"], "star_rating": stars, "rating_scale": scale,
                           "original_review_id": d["id"], "review_author": author.get("name")})
    out: list[Record] = [ticket]
    if d.get("body"):
        out.append(Message(_prov("review", ident, v), ticket=tkey, position=0, kind=MessageKind.CUSTOMER,
                           visibility=Visibility.PUBLIC, direction=direction_of(MessageKind.CUSTOMER,
                                                                                Visibility.PUBLIC),
                           author_name=author.get("name"), author_email=author.get("email"),
                           created_at=d["created_at"], title=d.get("title"), body_text=d["body"], body_format="text",
                           channel="review", extra={"part": "review_body"}))
    out.append(SatisfactionRating(_prov("review", ident, v), ticket=tkey, rating=float(stars), scale=f"1-{scale}",
                                  author=None, created_at=d["created_at"],
                                  extra={"review_source": d["source_platform"], "review_author": author.get("name")}))
    return out


def _review_response(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    return [Message(_prov("review_response", f"response-{d['id']}", v), ticket=review_key(d["review_id"]),
                    position=d.get("position") or 1, kind=MessageKind.AGENT, visibility=Visibility.PUBLIC,
                    direction=direction_of(MessageKind.AGENT, Visibility.PUBLIC),
                    author=_ref("agent", d.get("author_id")), author_name=d.get("author_name"),
                    created_at=d["created_at"], body_text=d["body"], body_format="text", channel="review",
                    extra={**_extra(d, {"id", "review_id", "author_id", "author_name", "body", "position",
                                        "created_at"}), "part": "review_response", "review_id": d["review_id"]})]


def _ticket(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    psa = d.get("psa") or {}
    external = {}
    if d.get("thread_id"):
        external["thread"] = d["thread_id"]
    if psa:
        external[f"psa:{psa['system']}"] = psa["reference"]
    return [Ticket(_prov("ticket", d["id"], v), kind="ticket", number=d.get("thread_id") or d["id"],
                   subject=d["title"], status=d["status"], priority=d.get("priority"),
                   requester=_ref("contact", d.get("requester_id")), assignee=_ref("agent", d.get("assignee_id")),
                   queue=_ref("team", d.get("team_id")), channel=d.get("channel"),
                   created_at=d["created_at"], updated_at=d.get("updated_at"), closed_at=d.get("closed_at"),
                   tags=list(d.get("tags", [])), custom=dict(d.get("properties", {})), external_ids=external,
                   extra={**_extra(d, {"id", "title", "status", "priority", "requester_id", "assignee_id", "team_id",
                                       "channel", "created_at", "updated_at", "closed_at", "tags", "properties",
                                       "psa"}),
                          "psa_system": psa.get("system"), "psa_reference": psa.get("reference"),
                          "psa_board": psa.get("board"), "thread_id": d.get("thread_id")})]


def _message(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    kind = {"agent": MessageKind.AGENT, "customer": MessageKind.CUSTOMER, "bot": MessageKind.BOT}[d["author_type"]]
    vis = Visibility.INTERNAL if d.get("internal") else Visibility.PUBLIC
    fmt = d.get("body_format") or "text"
    return [Message(_prov("message", d["id"], v), ticket=f"ticket:{d['ticket_id']}", position=d.get("seq", 0),
                    kind=kind, visibility=vis, direction=direction_of(kind, vis),
                    author=person_key(d["author_type"], d.get("author_id")) if kind is not MessageKind.BOT else None,
                    author_name=d.get("author_name"), author_email=d.get("author_email"), created_at=d["sent_at"],
                    body_html=d["body"] if fmt == "html" else None, body_text=d["body"] if fmt == "text" else None,
                    body_format=fmt, channel=d.get("channel"),
                    attachments=[f"attachment:{a}" for a in d.get("attachment_ids", [])],
                    extra={**_extra(d, {"id", "ticket_id", "seq", "author_id", "author_name", "author_email",
                                        "sent_at", "body", "body_format", "channel", "internal", "attachment_ids"}),
                           "author_type": d["author_type"]})]


def _attachment(d: dict[str, Any], v: Optional[str]) -> list[Record]:
    rec = Attachment(_prov("attachment", d["id"], v), ticket=_ref("ticket", d.get("ticket_id")),
                     message=_ref("message", d.get("message_id")), file_name=d["file_name"],
                     content_type=d.get("content_type"), size=d.get("size"), sha256=d.get("sha256"),
                     blob=d.get("file"), storage="bundle",
                     visibility=Visibility.INTERNAL if d.get("internal") else Visibility.PUBLIC,
                     created_at=d.get("created_at"),
                     extra=_extra(d, {"id", "ticket_id", "message_id", "file_name", "content_type", "size", "sha256",
                                      "file", "internal", "created_at"}))
    if d.get("file") is None:
        rec.flag("no_bytes", "the bundle holds no bytes for this attachment", field="file", severity="error")
    return [rec]


_MAPPERS = {"user": _user, "team": _team, "tag": _tag, "custom_property": _custom_property,
            "response_template": _response_template, "routing_rule": _routing_rule, "review": _review,
            "review_response": _review_response, "ticket": _ticket, "message": _message, "attachment": _attachment}
