"""The emulated Intercom workspace: one method per operationId of the official spec (``op_<operationId>``).

Each handler gets a ``Call`` (path arguments, query, JSON body) and returns ``(status, body)`` or raises
``IntercomError`` (an ``error.list`` body). Records live in the ``Store`` in the emulator's own shape and are
rendered to the spec's shapes here. Behaviours and their sources: README.md beside this file.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import mimetypes
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .knobs import DEFAULT_ADMINS, DEFAULT_TEAMS, IntercomKnobs
from .store import Store

WORKSPACE_ID = "hdmemu1"
TICKET_STATES = [  # (id, category, internal label, external label)
    ("1", "submitted", "Submitted", "Submitted"),
    ("2", "in_progress", "In progress", "In progress"),
    ("3", "waiting_on_customer", "Waiting on customer", "Waiting on you"),
    ("4", "resolved", "Resolved", "Resolved"),
]
CONVERSATION_ID_START = 100_000  # tickets and conversations share this sequence (a ticket is a conversation)
TICKET_NUMBER_START = 1  # ticket_id: the inbox number, a separate sequence ("Do not use ticket_id for API queries")
CONTACT_FIELDS = ("role", "external_id", "email", "phone", "name", "avatar", "signed_up_at", "last_seen_at",
                  "owner_id", "unsubscribed_from_emails", "email_verified")  # what create/update may set
ATTRIBUTE_FIELDS = ("name", "description", "required_to_create", "required_to_create_for_contacts",
                    "visible_on_create", "visible_to_contacts", "multiline", "allow_multiple_values", "archived")
TICKET_SEARCH_CATEGORIES = {"request": "Customer", "task": "Back-office", "tracker": "Tracker"}


class IntercomError(Exception):
    """An API error: ``status`` and one ``error.list`` entry."""

    def __init__(self, status: int, code: str, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field_name

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return error_list([error])


def error_list(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": errors}


def not_found(what: str, code: str = "not_found") -> IntercomError:
    return IntercomError(404, code, f"{what} Not Found")


def bad(message: str, code: str = "parameter_invalid", field_name: str | None = None) -> IntercomError:
    return IntercomError(400, code, message, field_name)


@dataclass
class Call:
    """One API request as a handler sees it."""

    args: dict[str, str]
    query: dict[str, str]
    body: Any
    version: str
    call_number: int = 0  # the usage counter when this call arrived (search lag)
    now: float = field(default_factory=time.time)


def hex_id() -> str:
    """A 24-hex-digit id like Intercom's contact and company ids."""
    return secrets.token_hex(12)


def day(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).date()


class Workspace:
    """The workspace's state and the API's behaviour."""

    def __init__(self, store: Store, knobs: Callable[[], IntercomKnobs], usage: Callable[[], int],
                 base_url: Callable[[], str]) -> None:
        self.store = store
        self.knobs = knobs
        self.usage = usage
        self.base_url = base_url
        self.scroll: dict[str, Any] | None = None  # the app's one open company scroll (in memory)
        store.add_index("contact", "contact_external_id", lambda c: [c.get("external_id")])
        store.add_index("contact", "contact_email", lambda c: [(c.get("email") or "").lower() or None])
        store.add_index("contact", "contact_company", lambda c: c.get("company_ids", []))
        store.add_index("company", "company_company_id", lambda co: [co.get("company_id")])
        store.add_index("note", "note_contact", lambda n: [n.get("contact_id")])
        if not self.store.values("admin") and not self.store.seqs.get("seeded"):
            self.seed(DEFAULT_ADMINS, DEFAULT_TEAMS)

    # ----- seeding (admin API; the real API cannot create admins or teams) ------------------------------------
    def seed(self, admins: list[dict[str, Any]] | None, teams: list[dict[str, Any]] | None) -> dict[str, int]:
        for i, a in enumerate(admins or []):
            if not a.get("email"):
                raise ValueError(f"admin #{i} needs an email")
            admin_id = str(a.get("id") or self.store.next_id("admin", 991_000_001))
            self.store.put("admin", {
                "id": admin_id, "name": a.get("name") or a["email"].split("@")[0], "email": a["email"],
                "job_title": a.get("job_title") or "", "away_mode_enabled": bool(a.get("away_mode_enabled", False)),
                "has_inbox_seat": bool(a.get("has_inbox_seat", True)),
                "team_ids": [int(t) for t in a.get("team_ids", [])]})
        for i, t in enumerate(teams or []):
            if not t.get("name"):
                raise ValueError(f"team #{i} needs a name")
            team_id = str(t.get("id") or self.store.next_id("team", 5_001))
            self.store.put("team", {"id": team_id, "name": t["name"],
                                    "admin_ids": [int(a) for a in t.get("admin_ids", [])]})
        self.store.next_id("seeded")
        return {"admins": len(self.store.values("admin")), "teams": len(self.store.values("team"))}

    # ----- helpers ---------------------------------------------------------------------------------------------
    def _admin(self, admin_id: Any, field_name: str = "admin_id") -> dict[str, Any]:
        admin = self.store.get("admin", str(admin_id))
        if admin is None:
            raise IntercomError(404, "admin_not_found", f"Admin with id={admin_id} not found", field_name)
        return admin

    def _contact(self, contact_id: str) -> dict[str, Any]:
        contact = self.store.get("contact", contact_id)
        if contact is None:
            raise IntercomError(404, "not_found", "User Not Found")
        return contact

    def _company(self, company_id: str) -> dict[str, Any]:
        company = self.store.get("company", company_id)
        if company is None:
            raise IntercomError(404, "company_not_found", "Company Not Found")
        return company

    def _tag(self, tag_id: str) -> dict[str, Any]:
        tag = self.store.get("tag", tag_id)
        if tag is None:
            raise IntercomError(404, "tag_not_found", "Tag not found")
        return tag

    def _indexed(self, rec: dict[str, Any], call: Call) -> bool:
        """Whether ``rec`` is visible to search yet (the search-lag knobs)."""
        k = self.knobs()
        return (call.now >= rec.get("_indexed_at", 0) + k.search_lag_seconds
                and call.call_number >= rec.get("_indexed_call", 0) + k.search_lag_calls)

    def _stamp_index(self, rec: dict[str, Any], call: Call) -> None:
        rec["_indexed_at"] = call.now
        rec["_indexed_call"] = call.call_number

    @staticmethod
    def _page(items: list[dict[str, Any]], per_page: int, starting_after: str | None) -> tuple[list[Any], dict]:
        """Cursor paging: ``starting_after`` is the opaque cursor of the last page's end."""
        start = 0
        if starting_after:
            try:
                start = int(base64.urlsafe_b64decode(starting_after.encode() + b"==").decode())
            except (ValueError, binascii.Error) as exc:
                raise bad("starting_after is not a cursor this API returned", field_name="starting_after") from exc
        chunk = items[start:start + per_page]
        total_pages = max(1, -(-len(items) // per_page))
        pages: dict[str, Any] = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                                 "total_pages": total_pages}
        if start + per_page < len(items):
            cursor = base64.urlsafe_b64encode(str(start + per_page).encode()).decode().rstrip("=")
            pages["next"] = {"per_page": per_page, "starting_after": cursor}
        return chunk, pages

    def _per_page(self, call: Call, default: int, maximum: int = 150) -> int:
        raw = call.query.get("per_page")
        if raw is None and isinstance(call.body, dict):
            raw = (call.body.get("pagination") or {}).get("per_page")
        per_page = int(raw) if raw is not None else default
        if per_page < 1 or per_page > maximum:
            raise bad(f"per_page must be between 1 and {maximum}", field_name="per_page")
        return per_page

    def _check_custom_attributes(self, model: str, values: dict[str, Any] | None) -> None:
        known = {a["name"] for a in self.store.values("data_attribute") if a["model"] == model and not a["archived"]}
        for name in values or {}:
            if name not in known:
                raise bad(f"Custom attribute '{name}' does not exist", field_name="custom_attributes")

    # ----- admins / teams --------------------------------------------------------------------------------------
    def render_admin(self, a: dict[str, Any]) -> dict[str, Any]:
        return {"type": "admin", "id": a["id"], "name": a["name"], "email": a["email"], "job_title": a["job_title"],
                "away_mode_enabled": a["away_mode_enabled"], "away_mode_reassign": False,
                "has_inbox_seat": a["has_inbox_seat"], "team_ids": a["team_ids"], "avatar": None}

    def op_identifyAdmin(self, call: Call) -> tuple[int, Any]:
        admins = self.store.values("admin")
        if not admins:
            raise IntercomError(404, "not_found", "No admin owns this token (the workspace has no admins)")
        a = admins[0]
        return 200, {"type": "admin", "id": a["id"], "name": a["name"], "email": a["email"],
                     "job_title": a["job_title"], "away_mode_enabled": a["away_mode_enabled"],
                     "away_mode_reassign": False, "has_inbox_seat": a["has_inbox_seat"], "team_ids": a["team_ids"],
                     "email_verified": True,
                     "app": {"type": "app", "id_code": WORKSPACE_ID, "name": "hdm emulated workspace", "region": "US",
                             "timezone": "Etc/UTC", "created_at": 1_600_000_000, "identity_verification": False}}

    def op_listAdmins(self, call: Call) -> tuple[int, Any]:
        return 200, {"type": "admin.list", "admins": [self.render_admin(a) for a in self.store.values("admin")]}

    def op_retrieveAdmin(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_admin(self._admin(call.args["admin_id"]))

    def render_team(self, t: dict[str, Any]) -> dict[str, Any]:
        return {"type": "team", "id": t["id"], "name": t["name"], "admin_ids": t["admin_ids"]}

    def op_listTeams(self, call: Call) -> tuple[int, Any]:
        return 200, {"type": "team.list", "teams": [self.render_team(t) for t in self.store.values("team")]}

    def op_retrieveTeam(self, call: Call) -> tuple[int, Any]:
        team = self.store.get("team", call.args["team_id"])
        if team is None:
            raise IntercomError(404, "team_not_found", "Team not found")
        return 200, self.render_team(team)

    # ----- tags --------------------------------------------------------------------------------------------------
    def render_tag(self, t: dict[str, Any], applied: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tag", "id": t["id"], "name": t["name"]}
        if applied:
            out["applied_at"] = applied["at"]
            out["applied_by"] = {"type": "admin", "id": applied["by"]} if applied.get("by") else {"type": "admin"}
        return out

    def _tag_by_name(self, name: str, create: bool) -> dict[str, Any] | None:
        for t in self.store.values("tag"):
            if t["name"].lower() == name.lower():
                return t
        if not create:
            return None
        return self.store.put("tag", {"id": str(self.store.next_id("tag", 7_000_001)), "name": name})

    def op_listTags(self, call: Call) -> tuple[int, Any]:
        return 200, {"type": "list", "data": [self.render_tag(t) for t in self.store.values("tag")]}

    def op_findTag(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_tag(self._tag(call.args["tag_id"]))

    def op_createTag(self, call: Call) -> tuple[int, Any]:
        body = call.body
        name = body["name"].strip()
        if not name:
            raise bad("name must not be blank", field_name="name")
        if "companies" in body:
            tag = self._tag_by_name(name, create=True)
            for ref in body["companies"]:
                company = self._company_by_ref(ref)
                tags = company.setdefault("tag_ids", [])
                if ref.get("untag"):
                    company["tag_ids"] = [t for t in tags if t != tag["id"]]
                elif tag["id"] not in tags:
                    tags.append(tag["id"])
                self.store.put("company", company)
            return 200, self.render_tag(tag)
        if "users" in body:
            tag = self._tag_by_name(name, create=True)
            for ref in body["users"]:
                contact = self._contact(ref.get("id", ""))
                self._apply_tag(contact, tag, None, call)
                self.store.put("contact", contact)
            return 200, self.render_tag(tag)
        if body.get("id"):
            tag = self._tag(body["id"])
            other = self._tag_by_name(name, create=False)
            if other is not None and other["id"] != tag["id"]:
                raise bad(f"A tag named {name!r} already exists", code="tag_name_taken", field_name="name")
            tag["name"] = name
            return 200, self.render_tag(self.store.put("tag", tag))
        return 200, self.render_tag(self._tag_by_name(name, create=True))

    def op_deleteTag(self, call: Call) -> tuple[int, Any]:
        tag = self._tag(call.args["tag_id"])
        self.store.delete("tag", tag["id"])
        return 200, None

    def _company_by_ref(self, ref: dict[str, Any]) -> dict[str, Any]:
        if ref.get("id"):
            return self._company(ref["id"])
        if ref.get("company_id"):
            found = self._company_by_company_id(ref["company_id"])
            if found:
                return found
        raise IntercomError(404, "company_not_found", "Company Not Found")

    @staticmethod
    def _apply_tag(rec: dict[str, Any], tag: dict[str, Any], admin_id: str | None, call: Call) -> dict[str, Any]:
        applied = rec.setdefault("tags", {})
        applied.setdefault(tag["id"], {"at": int(call.now), "by": admin_id})
        return applied[tag["id"]]

    # ----- data attributes ----------------------------------------------------------------------------------------
    def render_data_attribute(self, a: dict[str, Any]) -> dict[str, Any]:
        out = {"type": "data_attribute", "id": a["id"], "model": a["model"], "name": a["name"],
               "full_name": f"custom_attributes.{a['name']}", "label": a["name"],
               "description": a.get("description") or "",
               # what the spec's data_attribute can say: a list attribute reads back as a string with options, a
               # datetime one as a date
               "data_type": {"options": "string", "datetime": "date"}.get(a["data_type"], a["data_type"]),
               "api_writable": True, "messenger_writable": a.get("messenger_writable", False),
               "ui_writable": True, "custom": True, "archived": a["archived"],
               "created_at": a["created_at"], "updated_at": a["updated_at"]}
        if a.get("options"):
            out["options"] = a["options"]
        return out

    def op_lisDataAttributes(self, call: Call) -> tuple[int, Any]:
        model = call.query.get("model")
        if model == "conversation":
            raise IntercomError(422, "parameter_invalid", "model=conversation is no longer supported: use "
                                                          "/conversations/attributes (2.16)")
        archived = call.query.get("include_archived") in ("true", "True", "1")
        items = [self.render_data_attribute(a) for a in self.store.values("data_attribute")
                 if (not model or a["model"] == model) and (archived or not a["archived"])]
        return 200, {"type": "list", "data": items}

    def op_createDataAttribute(self, call: Call) -> tuple[int, Any]:
        b = call.body
        for a in self.store.values("data_attribute"):
            if a["model"] == b["model"] and a["name"].lower() == b["name"].lower():
                raise bad(f"You already have '{b['name']}' in your data. Please use a different name.",
                          code="parameter_invalid", field_name="name")
        if b["data_type"] == "options" and len(b.get("options") or []) < 2:
            raise bad("options attributes need at least two options", field_name="options")
        now = int(call.now)
        rec = {"id": self.store.next_id("data_attribute", 12_001), "model": b["model"], "name": b["name"],
               "description": b.get("description") or "", "data_type": b["data_type"],
               "messenger_writable": bool(b.get("messenger_writable", False)), "archived": False,
               "options": [o["value"] for o in b.get("options") or []], "created_at": now, "updated_at": now}
        return 200, self.render_data_attribute(self.store.put("data_attribute", rec))

    def op_updateDataAttribute(self, call: Call) -> tuple[int, Any]:
        rec = self.store.get("data_attribute", call.args["data_attribute_id"])
        if rec is None:
            raise IntercomError(404, "field_not_found", "We couldn't find that data attribute to update")
        b = call.body or {}
        for key in ("archived", "description", "messenger_writable"):
            if key in b:
                rec[key] = b[key]
        if "options" in b:
            rec["options"] = [o["value"] for o in b["options"]]
        rec["updated_at"] = int(call.now)
        return 200, self.render_data_attribute(self.store.put("data_attribute", rec))

    # ----- contacts ----------------------------------------------------------------------------------------------
    def render_contact(self, c: dict[str, Any]) -> dict[str, Any]:
        url = f"/contacts/{c['id']}"
        company_ids = c.get("company_ids", [])
        notes = self.store.lookup("note_contact", c["id"])
        return {
            "type": "contact", "id": c["id"], "workspace_id": WORKSPACE_ID, "external_id": c.get("external_id"),
            "role": c["role"], "email": c.get("email") or "",
            "email_domain": (c.get("email") or "").partition("@")[2], "phone": c.get("phone"),
            "name": c.get("name"), "owner_id": c.get("owner_id"), "has_hard_bounced": False,
            "marked_email_as_spam": False, "unsubscribed_from_emails": bool(c.get("unsubscribed_from_emails")),
            "created_at": c["created_at"], "updated_at": c["updated_at"], "signed_up_at": c.get("signed_up_at"),
            "last_seen_at": c.get("last_seen_at"), "last_replied_at": c.get("last_replied_at"),
            "last_contacted_at": c.get("last_contacted_at"), "last_email_opened_at": None,
            "last_email_clicked_at": None, "language_override": None, "browser": None, "browser_version": None,
            "browser_language": None, "os": None, "custom_attributes": c.get("custom_attributes") or {},
            "avatar": {"type": "avatar", "image_url": c["avatar"]} if c.get("avatar") else None,
            "tags": {"data": [{"type": "tag", "id": t, "url": f"/tags/{t}"} for t in c.get("tags", {})],
                     "url": f"{url}/tags", "total_count": len(c.get("tags", {})), "has_more": False},
            "notes": {"data": [{"type": "note", "id": n["id"], "url": f"/notes/{n['id']}"} for n in notes],
                      "url": f"{url}/notes", "total_count": len(notes), "has_more": False},
            "companies": {"data": [{"type": "company", "id": cid, "url": f"/companies/{cid}"} for cid in company_ids],
                          "url": f"{url}/companies", "total_count": len(company_ids), "has_more": False},
            "location": {"type": "location", "country": None, "region": None, "city": None},
            "social_profiles": {"data": []},
        }

    def _duplicate(self, email: str | None, external_id: str | None, role: str,
                   exclude: str | None = None) -> dict[str, Any] | None:
        if external_id:
            for c in self.store.lookup("contact_external_id", external_id):
                if c["id"] != exclude:
                    return c
        # users are unique by email; leads may share an email (notes §1.4, UNVERIFIED as a rule)
        if email and role == "user":
            for c in self.store.lookup("contact_email", email.lower()):
                if c["id"] != exclude and c["role"] == "user":
                    return c
        return None

    def _conflict(self, existing: dict[str, Any]) -> IntercomError:
        if existing.get("archived"):
            return IntercomError(409, "conflict", f"An archived contact matching those details already exists "
                                                  f"with id={existing['id']}")
        return IntercomError(409, "conflict", f"A contact matching those details already exists with "
                                              f"id={existing['id']}")

    def _create_contact(self, b: dict[str, Any], call: Call) -> dict[str, Any]:
        role = b.get("role") or "user"
        if role not in ("user", "lead"):
            raise bad(f"role must be user or lead, not {role!r}", field_name="role")
        existing = self._duplicate(b.get("email"), b.get("external_id"), role)
        if existing is not None:
            raise self._conflict(existing)
        if b.get("email_verified") and not b.get("email"):
            raise bad("email_verified needs an email", field_name="email_verified")
        if b.get("owner_id") is not None:
            self._admin(b["owner_id"], "owner_id")
        self._check_custom_attributes("contact", b.get("custom_attributes"))
        now = int(call.now)
        rec = {"id": hex_id(), "role": role, "created_at": now, "updated_at": now, "company_ids": [], "tags": {}}
        for key in (*CONTACT_FIELDS, "custom_attributes"):
            if b.get(key) is not None:
                rec[key] = b[key]
        self._stamp_index(rec, call)
        return self.store.put("contact", rec)

    def op_CreateContact(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_contact(self._create_contact(call.body, call))

    def op_UpdateContact(self, call: Call) -> tuple[int, Any]:
        rec = self._contact(call.args["contact_id"])
        b = call.body or {}
        role = b.get("role") or rec["role"]
        if role not in ("user", "lead"):
            raise bad(f"role must be user or lead, not {role!r}", field_name="role")
        existing = self._duplicate(b.get("email"), b.get("external_id"), role, exclude=rec["id"])
        if existing is not None:
            raise self._conflict(existing)
        if b.get("owner_id") is not None:
            self._admin(b["owner_id"], "owner_id")
        self._check_custom_attributes("contact", b.get("custom_attributes"))
        for key, value in b.items():
            if key == "custom_attributes":
                rec["custom_attributes"] = {**rec.get("custom_attributes", {}), **(value or {})}
            elif key in CONTACT_FIELDS:  # other properties (the spec does not forbid them) are ignored
                rec[key] = value
        rec["updated_at"] = int(call.now)
        return 200, self.render_contact(self.store.put("contact", rec))

    def op_ShowContact(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_contact(self._contact(call.args["contact_id"]))

    def op_ShowContactByExternalId(self, call: Call) -> tuple[int, Any]:
        for c in self.store.lookup("contact_external_id", call.args["external_id"]):
            return 200, self.render_contact(c)
        raise IntercomError(404, "not_found", "User Not Found")

    def op_DeleteContact(self, call: Call) -> tuple[int, Any]:
        rec = self._contact(call.args["contact_id"])
        self.store.delete("contact", rec["id"])
        return 200, {"type": "contact", "id": rec["id"], "external_id": rec.get("external_id"), "deleted": True}

    def op_ArchiveContact(self, call: Call) -> tuple[int, Any]:
        rec = self._contact(call.args["contact_id"])
        rec["archived"] = True
        self.store.put("contact", rec)
        return 200, {"type": "contact", "id": rec["id"], "external_id": rec.get("external_id"), "archived": True}

    def op_UnarchiveContact(self, call: Call) -> tuple[int, Any]:
        rec = self._contact(call.args["contact_id"])
        rec["archived"] = False
        self.store.put("contact", rec)
        return 200, {"type": "contact", "id": rec["id"], "external_id": rec.get("external_id"), "archived": False}

    def op_ListContacts(self, call: Call) -> tuple[int, Any]:
        items = [c for c in self.store.values("contact") if not c.get("archived")]
        chunk, pages = self._page(items, self._per_page(call, 50), call.query.get("starting_after"))
        return 200, {"type": "list", "data": [self.render_contact(c) for c in chunk], "total_count": len(items),
                     "pages": pages}

    def op_SearchContacts(self, call: Call) -> tuple[int, Any]:
        query = call.body["query"]
        check_query(query, contact_dates=True)
        items = [c for c in self.store.values("contact")
                 if not c.get("archived") and self._indexed(c, call) and matches(query, contact_fields(c))]
        items = sort_records(items, call.body.get("sort"))
        pagination = call.body.get("pagination") or {}
        chunk, pages = self._page(items, self._per_page(call, 50), pagination.get("starting_after"))
        return 200, {"type": "list", "data": [self.render_contact(c) for c in chunk], "total_count": len(items),
                     "pages": pages}

    def op_attachContactToACompany(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        company = self._company(call.body["id"])
        if company["id"] not in contact["company_ids"]:
            contact["company_ids"].append(company["id"])
            contact["updated_at"] = int(call.now)
            self.store.put("contact", contact)
        return 200, self.render_company(company)

    def op_detachContactFromACompany(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        company = self._company(call.args["company_id"])
        if company["id"] not in contact["company_ids"]:
            raise IntercomError(404, "company_not_found", "Company Not Found")
        contact["company_ids"].remove(company["id"])
        self.store.put("contact", contact)
        return 200, self.render_company(company)

    def op_listCompaniesForAContact(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        companies = [self.render_company(self.store.get("company", cid)) for cid in contact["company_ids"]
                     if self.store.get("company", cid)]
        return 200, {"type": "list", "companies": companies, "total_count": len(companies),
                     "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1, "next": None}}

    def op_listTagsForAContact(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        tags = [self.render_tag(self.store.get("tag", t)) for t in contact.get("tags", {}) if self.store.get("tag", t)]
        return 200, {"type": "list", "data": tags}

    def op_attachTagToContact(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        tag = self._tag(call.body["id"])
        applied = self._apply_tag(contact, tag, None, call)
        self.store.put("contact", contact)
        return 200, self.render_tag(tag, applied)

    def op_detachTagFromContact(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        tag = self._tag(call.args["tag_id"])
        contact.get("tags", {}).pop(tag["id"], None)
        self.store.put("contact", contact)
        return 200, self.render_tag(tag)

    # ----- notes on contacts -----------------------------------------------------------------------------------
    def render_note(self, n: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "note", "id": n["id"], "created_at": n["created_at"],
                               "contact": {"type": "contact", "id": n["contact_id"]}, "body": n["body"]}
        admin = self.store.get("admin", n.get("admin_id") or "")
        if admin:
            out["author"] = self.render_admin(admin)
        return out

    def op_createNote(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        admin_id = call.body.get("admin_id")
        if admin_id is not None:
            self._admin(admin_id)
        note = {"id": str(self.store.next_id("note", 30_001)), "contact_id": contact["id"],
                "admin_id": str(admin_id) if admin_id is not None else None, "body": call.body["body"],
                "created_at": int(call.now)}
        return 200, self.render_note(self.store.put("note", note))

    def op_listNotes(self, call: Call) -> tuple[int, Any]:
        contact = self._contact(call.args["contact_id"])
        notes = [self.render_note(n) for n in self.store.lookup("note_contact", contact["id"])]
        return 200, {"type": "list", "data": notes, "total_count": len(notes),
                     "pages": {"type": "pages", "page": 1, "per_page": max(1, len(notes)), "total_pages": 1}}

    def op_retrieveNote(self, call: Call) -> tuple[int, Any]:
        note = self.store.get("note", call.args["note_id"])
        if note is None:
            raise IntercomError(404, "not_found", "Note Not Found")
        return 200, self.render_note(note)

    # ----- companies ---------------------------------------------------------------------------------------------
    def _user_count(self, company_id: str) -> int:
        return len(self.store.lookup("contact_company", company_id))

    def render_company(self, co: dict[str, Any]) -> dict[str, Any]:
        out = {"type": "company", "id": co["id"], "name": co.get("name") or "", "app_id": WORKSPACE_ID,
               "company_id": co["company_id"], "created_at": co["created_at"], "updated_at": co["updated_at"],
               "last_request_at": co.get("last_request_at", 0), "session_count": 0,
               "user_count": self._user_count(co["id"]), "custom_attributes": co.get("custom_attributes") or {},
               "tags": {"type": "tag.list", "tags": [self.render_tag(self.store.get("tag", t))
                                                      for t in co.get("tag_ids", []) if self.store.get("tag", t)]},
               "segments": {"type": "segment.list", "segments": []}}
        for key in ("remote_created_at", "size", "website", "industry", "monthly_spend"):
            if co.get(key) is not None:
                out[key] = co[key]
        if co.get("plan"):
            out["plan"] = {"type": "plan", "id": str(abs(hash(co["plan"])) % 10**6), "name": co["plan"]}
        return out

    def _company_by_company_id(self, company_id: str) -> dict[str, Any] | None:
        found = self.store.lookup("company_company_id", company_id)
        return found[0] if found else None

    def _company_fields(self, rec: dict[str, Any], b: dict[str, Any]) -> None:
        self._check_custom_attributes("company", b.get("custom_attributes"))
        for key in ("name", "plan", "size", "website", "industry", "remote_created_at", "monthly_spend"):
            if key in b:
                rec[key] = b[key]
        if "monthly_spend" in b and b["monthly_spend"] > 2**31 - 1:
            raise bad("monthly_spend must be at most 2147483647", field_name="monthly_spend")
        if "custom_attributes" in b:
            rec["custom_attributes"] = {**rec.get("custom_attributes", {}), **(b["custom_attributes"] or {})}

    def op_createOrUpdateCompany(self, call: Call) -> tuple[int, Any]:
        b = call.body or {}
        if not b.get("company_id"):
            raise bad("company_id is required to create or update a company", code="parameter_not_found",
                      field_name="company_id")
        rec = self._company_by_company_id(b["company_id"])
        now = int(call.now)
        if rec is None:
            rec = {"id": hex_id(), "company_id": b["company_id"], "created_at": now, "tag_ids": []}
            self._stamp_index(rec, call)
        self._company_fields(rec, b)
        rec["updated_at"] = now
        if b.get("update_last_request_at"):
            rec["last_request_at"] = now
        return 200, self.render_company(self.store.put("company", rec))

    def op_UpdateCompany(self, call: Call) -> tuple[int, Any]:
        rec = self._company(call.args["company_id"])
        b = call.body or {}
        if "company_id" in b and b["company_id"] != rec["company_id"]:
            raise bad("company_id cannot be changed once set", field_name="company_id")
        self._company_fields(rec, b)
        rec["updated_at"] = int(call.now)
        return 200, self.render_company(self.store.put("company", rec))

    def op_RetrieveACompanyById(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_company(self._company(call.args["company_id"]))

    def op_deleteCompany(self, call: Call) -> tuple[int, Any]:
        rec = self._company(call.args["company_id"])
        self.store.delete("company", rec["id"])
        for c in self.store.lookup("contact_company", rec["id"]):
            c["company_ids"].remove(rec["id"])
            self.store.put("contact", c)
        return 200, {"id": rec["id"], "object": "company", "deleted": True}

    def _visible_companies(self) -> list[dict[str, Any]]:
        """Companies with at least one contact ("only visible in Intercom when there is at least one associated
        user", spec POST /companies)."""
        return [co for co in self.store.values("company") if self._user_count(co["id"]) > 0]

    def _company_list(self, items: list[dict[str, Any]], call: Call, default: int) -> dict[str, Any]:
        per_page = self._per_page(call, default, maximum=60 if default == 15 else 150)
        page = int(call.query.get("page") or 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": per_page,
                                 "total_pages": max(1, -(-len(items) // per_page))}
        return {"type": "list", "data": [self.render_company(c) for c in chunk], "total_count": len(items),
                "pages": pages}

    def op_retrieveCompany(self, call: Call) -> tuple[int, Any]:
        """GET /companies: a lookup by company_id or name (a list of the match; 404 when none), else the list of
        visible companies (the spec's 200 is a company_list either way)."""
        q = call.query
        if q.get("company_id") or q.get("name"):
            found = [co for co in self.store.values("company")
                     if (q.get("company_id") and co["company_id"] == q["company_id"])
                     or (q.get("name") and (co.get("name") or "") == q["name"])]
            if not found:
                raise IntercomError(404, "company_not_found", "Company Not Found")
            return 200, self._company_list(found, call, 15)
        items = self._visible_companies()
        if q.get("tag_id"):
            items = [co for co in items if q["tag_id"] in co.get("tag_ids", [])]
        return 200, self._company_list(items, call, 15)

    def op_listAllCompanies(self, call: Call) -> tuple[int, Any]:
        items = self._visible_companies()
        if call.query.get("order") == "asc":
            items = sorted(items, key=lambda c: c["created_at"])
        else:
            items = sorted(items, key=lambda c: c["created_at"], reverse=True)
        return 200, self._company_list(items, call, 15)

    def op_scrollOverAllCompanies(self, call: Call) -> tuple[int, Any]:
        """One scroll open per app; it expires after ``scroll_idle_seconds`` unused and once its end is reached
        (spec GET /companies/scroll). Pages of 15."""
        scroll = self.scroll
        idle = self.knobs().scroll_idle_seconds
        if scroll and (scroll["done"] or call.now - scroll["used"] > idle):
            self.scroll = scroll = None
        param = call.query.get("scroll_param")
        if param:
            if scroll is None or scroll["param"] != param:
                raise IntercomError(404, "scroll_param_not_found",
                                    "scroll_param is unknown or has expired: restart the scroll")
        else:
            if scroll is not None:
                raise IntercomError(400, "scroll_exists", "An app can have only one scroll open at a time")
            scroll = self.scroll = {"param": str(uuid.uuid4()), "position": 0, "done": False}
        items = self._visible_companies()
        chunk = items[scroll["position"]:scroll["position"] + 15]
        scroll["position"] += len(chunk)
        scroll["used"] = call.now
        scroll["done"] = not chunk
        return 200, {"type": "list", "data": [self.render_company(c) for c in chunk], "total_count": len(items),
                     "scroll_param": scroll["param"],
                     "pages": {"type": "pages", "page": 1, "per_page": 15, "total_pages": 1}}

    def end_scroll(self) -> None:
        """A scroll that met a network error must be restarted (spec: "Please restart the scroll operation")."""
        self.scroll = None

    def op_ListAttachedContacts(self, call: Call) -> tuple[int, Any]:
        company = self._company(call.args["company_id"])
        contacts = [self.render_contact(c) for c in self.store.lookup("contact_company", company["id"])]
        return 200, {"type": "list", "data": contacts, "total_count": len(contacts),
                     "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}}

    # ----- ticket types ------------------------------------------------------------------------------------------
    def render_ticket_state(self, state_id: str, detailed: bool = False) -> dict[str, Any]:
        sid, category, internal, external = next(s for s in TICKET_STATES if s[0] == state_id)
        out: dict[str, Any] = {"type": "ticket_state", "id": sid, "category": category, "internal_label": internal,
                               "external_label": external}
        if detailed:
            out["archived"] = False
            out["ticket_types"] = {"type": "list", "data": [
                {"type": "ticket_type", "id": t["id"], "name": t["name"], "category": t["category"]}
                for t in self.store.values("ticket_type")]}
        return out

    def render_attribute(self, ticket_type: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
        input_options: dict[str, Any] = {}
        if a["data_type"] == "string":
            input_options["multiline"] = bool(a.get("multiline"))
        if a["data_type"] == "list":
            input_options["list_options"] = a["list_options"]
            input_options["allow_multiple_values"] = bool(a.get("allow_multiple_values"))
        return {"type": "ticket_type_attribute", "id": a["id"], "workspace_id": WORKSPACE_ID, "name": a["name"],
                "description": a.get("description") or "", "data_type": a["data_type"],
                "input_options": input_options, "order": a["order"],
                "required_to_create": bool(a.get("required_to_create")),
                "required_to_create_for_contacts": bool(a.get("required_to_create_for_contacts")),
                "visible_on_create": bool(a.get("visible_on_create", True)),
                "visible_to_contacts": bool(a.get("visible_to_contacts", True)), "default": bool(a.get("default")),
                "ticket_type_id": int(ticket_type["id"]), "archived": bool(a.get("archived")),
                "created_at": a["created_at"], "updated_at": a["updated_at"]}

    def render_ticket_type(self, t: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ticket_type", "id": t["id"], "category": t["category"], "name": t["name"],
                "description": t.get("description") or "", "icon": t.get("icon") or "🎟️",
                "workspace_id": WORKSPACE_ID,
                "ticket_type_attributes": {"type": "list", "ticket_type_attributes": [
                    self.render_attribute(t, a) for a in t["attributes"]]},
                "ticket_states": {"type": "list", "data": [self.render_ticket_state(s[0]) for s in TICKET_STATES]},
                "archived": bool(t.get("archived")), "created_at": t["created_at"], "updated_at": t["updated_at"]}

    def _ticket_type(self, ticket_type_id: str) -> dict[str, Any]:
        t = self.store.get("ticket_type", ticket_type_id)
        if t is None:
            raise IntercomError(404, "ticket_type_not_found", f"Ticket type {ticket_type_id} not found")
        return t

    def _new_attribute(self, t: dict[str, Any], b: dict[str, Any], now: int, default: bool = False) -> dict:
        a = {"id": str(self.store.next_id("ticket_type_attribute", 800_001)), "name": b["name"],
             "description": b.get("description") or "", "data_type": b["data_type"], "order": len(t["attributes"]),
             "default": default, "archived": False, "created_at": now, "updated_at": now}
        for key in ("required_to_create", "required_to_create_for_contacts", "visible_on_create",
                    "visible_to_contacts", "multiline", "allow_multiple_values"):
            if key in b:
                a[key] = b[key]
        if b["data_type"] == "list":
            a["list_options"] = self._list_options(b.get("list_items"), [])
        return a

    @staticmethod
    def _list_options(list_items: str | None, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        labels = [x.strip() for x in (list_items or "").split(",") if x.strip()]
        if not labels:
            raise bad("list attributes need list_items (a comma-separated string)", field_name="list_items")
        by_label = {o["label"]: o for o in current}
        out = [by_label.get(label) or {"id": str(uuid.uuid4()), "label": label, "archived": False} for label in labels]
        out += [{**o, "archived": True} for o in current if o["label"] not in labels]
        return out

    def op_listTicketTypes(self, call: Call) -> tuple[int, Any]:
        return 200, {"type": "list", "data": [self.render_ticket_type(t) for t in self.store.values("ticket_type")]}

    def op_createTicketType(self, call: Call) -> tuple[int, Any]:
        b = call.body
        for t in self.store.values("ticket_type"):
            if t["name"].lower() == b["name"].lower() and not t.get("archived"):
                raise bad(f"A ticket type named {b['name']!r} already exists", code="parameter_invalid",
                          field_name="name")
        now = int(call.now)
        t = {"id": str(self.store.next_id("ticket_type", 1)), "name": b["name"],
             "description": b.get("description") or "", "category": b.get("category") or "Customer",
             "icon": b.get("icon"), "is_internal": bool(b.get("is_internal")), "archived": False,
             "created_at": now, "updated_at": now, "attributes": []}
        # every new type gets the built-in title and description (notes §1.4)
        t["attributes"].append(self._new_attribute(t, {"name": "_default_title_", "description": "",
                                                       "data_type": "string", "required_to_create": False}, now, True))
        t["attributes"].append(self._new_attribute(t, {"name": "_default_description_", "description": "",
                                                       "data_type": "string", "multiline": True}, now, True))
        return 200, self.render_ticket_type(self.store.put("ticket_type", t))

    def op_getTicketType(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_ticket_type(self._ticket_type(call.args["ticket_type_id"]))

    def op_updateTicketType(self, call: Call) -> tuple[int, Any]:
        t = self._ticket_type(call.args["ticket_type_id"])
        for key in ("name", "description", "category", "icon", "archived", "is_internal"):
            if key in (call.body or {}):
                t[key] = call.body[key]
        t["updated_at"] = int(call.now)
        return 200, self.render_ticket_type(self.store.put("ticket_type", t))

    def op_createTicketTypeAttribute(self, call: Call) -> tuple[int, Any]:
        t = self._ticket_type(call.args["ticket_type_id"])
        b = call.body
        if any(a["name"].lower() == b["name"].lower() for a in t["attributes"]):
            raise bad(f"The ticket type already has an attribute named {b['name']!r}", field_name="name")
        a = self._new_attribute(t, b, int(call.now))
        t["attributes"].append(a)
        self.store.put("ticket_type", t)
        return 200, self.render_attribute(t, a)

    def op_updateTicketTypeAttribute(self, call: Call) -> tuple[int, Any]:
        t = self._ticket_type(call.args["ticket_type_id"])
        a = next((x for x in t["attributes"] if x["id"] == call.args["attribute_id"]), None)
        if a is None:
            raise IntercomError(404, "not_found", "Ticket type attribute not found")
        b = call.body or {}
        for key, value in b.items():
            if key == "list_items":
                if a["data_type"] != "list":
                    raise bad("list_items is only for list attributes", field_name="list_items")
                a["list_options"] = self._list_options(value, a["list_options"])
            elif key in ATTRIBUTE_FIELDS:
                a[key] = value
        a["updated_at"] = int(call.now)
        self.store.put("ticket_type", t)
        return 200, self.render_attribute(t, a)

    def op_listTicketStates(self, call: Call) -> tuple[int, Any]:
        return 200, {"type": "list", "data": [self.render_ticket_state(s[0], True) for s in TICKET_STATES]}

    # ----- parts (shared by tickets and conversations) --------------------------------------------------------
    def _part_author(self, author: dict[str, Any]) -> dict[str, Any]:
        if author["type"] == "admin":
            admin = self.store.get("admin", author["id"]) or {}
            out = {"type": "admin", "id": author["id"], "name": admin.get("name")}
            if admin.get("email"):
                out["email"] = admin["email"]
            return out
        contact = self.store.get("contact", author["id"]) or {}
        out = {"type": contact.get("role", "user"), "id": author["id"], "name": contact.get("name")}
        if contact.get("email"):
            out["email"] = contact["email"]
        return out

    def _attachments(self, b: dict[str, Any]) -> list[dict[str, Any]]:
        k = self.knobs()
        urls = b.get("attachment_urls") or []
        files = b.get("attachment_files") or []
        if len(urls) > k.attachment_max_count:
            raise bad(f"at most {k.attachment_max_count} attachment_urls per part", field_name="attachment_urls")
        if len(files) > k.attachment_max_count:
            raise bad(f"at most {k.attachment_max_count} attachment_files per part", field_name="attachment_files")
        out = []
        for i, url in enumerate(urls):
            name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "attachment"
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if k.attachment_urls_images_only and not content_type.startswith("image/"):
                raise bad(f"attachment_urls[{i}] is not an image ({content_type}): send files as attachment_files",
                          field_name="attachment_urls")
            out.append({"type": "upload", "name": name, "url": url, "content_type": content_type, "filesize": 0})
        for i, f in enumerate(files):
            for key in ("name", "content_type", "data"):
                if not f.get(key):
                    raise bad(f"attachment_files[{i}] needs {key}", field_name="attachment_files")
            try:
                raw = base64.b64decode(f["data"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise bad(f"attachment_files[{i}].data is not base64", field_name="attachment_files") from exc
            if len(raw) > k.attachment_max_bytes:
                raise bad(f"attachment_files[{i}] is {len(raw)} bytes; the limit is {k.attachment_max_bytes}",
                          field_name="attachment_files")
            token = secrets.token_hex(8)
            out.append({"type": "upload", "name": f["name"], "content_type": f["content_type"], "filesize": len(raw),
                        "url": f"{self.base_url()}/__files/{token}/{f['name']}", "sha256": _sha256(raw)})
        return out

    def _new_part(self, b: dict[str, Any], author: dict[str, Any], call: Call, part_type: str) -> dict[str, Any]:
        created = int(b["created_at"]) if b.get("created_at") is not None else int(call.now)
        return {"id": str(self.store.next_id("part", 900_001)), "part_type": part_type, "body": b.get("body"),
                "created_at": created, "updated_at": int(call.now), "author": author,
                "attachments": self._attachments(b)}

    def _reply_author(self, b: dict[str, Any], participants: list[str]) -> tuple[dict[str, Any], str]:
        """(author reference, part type) for an admin or contact reply body."""
        if b.get("type") == "admin":
            self._admin(b["admin_id"])
            part_type = b.get("message_type", "comment")
            if part_type == "note" and not self.knobs().private_notes:
                raise IntercomError(403, "forbidden", "Private notes are not available on this workspace's plan")
            return {"type": "admin", "id": str(b["admin_id"])}, part_type
        contact = None
        if b.get("intercom_user_id"):
            contact = self.store.get("contact", b["intercom_user_id"])
        elif b.get("user_id"):
            contact = next(iter(self.store.lookup("contact_external_id", b["user_id"])), None)
        elif b.get("email"):
            # several contacts may share an email (a lead and a user): the conversation's participant wins
            same = self.store.lookup("contact_email", b["email"].lower())
            contact = next((c for c in same if c["id"] in participants), same[0] if same else None)
        if contact is None:
            raise IntercomError(404, "not_found", "User Not Found")
        if contact["id"] not in participants:
            raise IntercomError(400, "parameter_invalid", "The contact is not a participant of this conversation")
        return {"type": "contact", "id": contact["id"]}, "comment"

    def _last_parts(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        """The parts an API read returns: "The maximum number of conversation parts that can be returned via the API
        is 500. If you have more than that we will return the 500 most recent" (spec GET /conversations/{id})."""
        limit = max(0, self.knobs().max_parts_returned)
        return rec["parts"][-limit:] if limit else []

    def _deliver(self, kind: str, rec: dict[str, Any], part: dict[str, Any], skip: bool) -> None:
        """Record what the contact would receive (admin comments, unless notifications are skipped; never notes)."""
        if part["author"]["type"] != "admin" or part["part_type"] != "comment" or skip:
            part["notified"] = False
            return
        part["notified"] = True
        self.store.put("delivery", {"id": str(self.store.next_id("delivery")), "object": kind,
                                    "object_id": rec["id"], "part_id": part["id"], "part_type": part["part_type"],
                                    "contact_ids": list(rec["contact_ids"]), "body": part.get("body")})

    # ----- tickets -----------------------------------------------------------------------------------------------
    def _ticket(self, ticket_id: str) -> dict[str, Any]:
        t = self.store.get("ticket", ticket_id)
        if t is None:
            raise IntercomError(404, "ticket_not_found", "Ticket not found")
        return t

    def _resolve_contact_ref(self, ref: dict[str, Any], call: Call) -> dict[str, Any]:
        if ref.get("id"):
            return self._contact(ref["id"])
        if ref.get("external_id"):
            found = next(iter(self.store.lookup("contact_external_id", ref["external_id"])), None)
            if found is None:
                raise IntercomError(404, "not_found", "User Not Found")
            return found
        found = next((c for c in self.store.lookup("contact_email", ref["email"].lower()) if c["role"] == "user"),
                     None)
        # "If a contact with this email does not exist, one will be created" (spec create_ticket_request)
        return found or self._create_contact({"email": ref["email"], "role": "user"}, call)

    def _ticket_attributes(self, t: dict[str, Any], given: dict[str, Any], creating: bool) -> dict[str, Any]:
        by_name = {a["name"]: a for a in t["attributes"] if not a.get("archived")}
        out: dict[str, Any] = {}
        for name, value in (given or {}).items():
            a = by_name.get(name)
            if a is None:
                raise bad(f"Ticket attribute {name!r} does not exist on ticket type {t['name']!r}",
                          field_name="ticket_attributes")
            out[name] = self._attribute_value(a, value)
        if creating:
            for a in by_name.values():
                if a.get("required_to_create") and out.get(a["name"]) in (None, ""):
                    raise bad(f"Ticket attribute {a['name']!r} is required to create a ticket of type "
                              f"{t['name']!r}", field_name="ticket_attributes")
        return out

    @staticmethod
    def _attribute_value(a: dict[str, Any], value: Any) -> Any:
        name, kind = a["name"], a["data_type"]
        if value is None:
            return None
        ok = {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
              "decimal": isinstance(value, (int, float)) and not isinstance(value, bool),
              "boolean": isinstance(value, bool), "datetime": isinstance(value, (int, str)) and not
              isinstance(value, bool), "files": isinstance(value, list), "list": True}[kind]
        if not ok:
            raise bad(f"Ticket attribute {name!r} is {kind}; {value!r} is not", field_name="ticket_attributes")
        if kind == "list":
            # list attributes take the list item id, not its label (spec ticket_request_custom_attributes)
            items = {o["id"]: o for o in a["list_options"] if not o.get("archived")}
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and not a.get("allow_multiple_values"):
                raise bad(f"Ticket attribute {name!r} takes one list item id", field_name="ticket_attributes")
            for v in values:
                if v not in items:
                    labels = ", ".join(f"{o['label']}={o['id']}" for o in items.values())
                    raise bad(f"Ticket attribute {name!r} takes a list item id (one of: {labels}); {v!r} is not "
                              f"one", field_name="ticket_attributes")
        return value

    def render_ticket(self, t: dict[str, Any], with_parts: bool = True) -> dict[str, Any]:
        ticket_type = self.store.get("ticket_type", t["ticket_type_id"]) or {}
        out: dict[str, Any] = {
            "type": "ticket", "id": t["id"], "ticket_id": t["ticket_id"], "category": t["category"],
            "ticket_attributes": t["ticket_attributes"], "ticket_state": self.render_ticket_state(t["state_id"]),
            "ticket_type": self.render_ticket_type(ticket_type) if ticket_type else None,
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": cid, "external_id": (self.store.get("contact", cid) or {}).get(
                    "external_id")} for cid in t["contact_ids"]]},
            "created_at": t["created_at"], "updated_at": t["updated_at"], "open": t["open"],
            "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
            "is_shared": bool(t.get("is_shared")),
            "previous_ticket_state_id": t.get("previous_state_id")}
        if t.get("admin_assignee_id"):
            out["admin_assignee_id"] = int(t["admin_assignee_id"])
        if t.get("team_assignee_id"):
            out["team_assignee_id"] = int(t["team_assignee_id"])
        if t.get("snoozed_until"):
            out["snoozed_until"] = t["snoozed_until"]
        if with_parts:
            parts = [self.render_ticket_part(p) for p in self._last_parts(t)]
            out["ticket_parts"] = {"type": "ticket_part.list", "ticket_parts": parts, "total_count": len(t["parts"])}
        return out

    def render_ticket_part(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ticket_part", "id": p["id"], "part_type": p["part_type"], "body": p.get("body"),
                "created_at": p["created_at"], "updated_at": p["updated_at"],
                "author": self._part_author(p["author"]), "attachments": [_public(a) for a in p["attachments"]],
                "redacted": False}

    def _create_ticket(self, b: dict[str, Any], call: Call) -> dict[str, Any]:
        t_type = self._ticket_type(b["ticket_type_id"])
        if len(b["contacts"]) != 1:
            raise bad("A ticket takes exactly one contact", field_name="contacts")
        contact = self._resolve_contact_ref(b["contacts"][0], call)
        if b.get("company_id"):
            self._company(b["company_id"])
        attrs = self._ticket_attributes(t_type, b.get("ticket_attributes") or {}, creating=True)
        assignment = b.get("assignment") or {}
        if assignment.get("admin_assignee_id"):
            self._admin(assignment["admin_assignee_id"], "admin_assignee_id")
        if assignment.get("team_assignee_id") and not self.store.get("team", str(assignment["team_assignee_id"])):
            raise IntercomError(404, "team_not_found", "Team not found")
        now = int(call.now)
        created = int(b["created_at"]) if b.get("created_at") is not None else now
        t = {"id": str(self.store.next_id("conversation", CONVERSATION_ID_START)),
             "ticket_id": str(self.store.next_id("ticket_number", TICKET_NUMBER_START)),
             "ticket_type_id": t_type["id"], "category": t_type["category"], "ticket_attributes": attrs,
             "state_id": "1", "open": True, "contact_ids": [contact["id"]], "company_id": b.get("company_id"),
             "admin_assignee_id": str(assignment.get("admin_assignee_id") or "") or None,
             "team_assignee_id": str(assignment.get("team_assignee_id") or "") or None,
             "created_at": created, "updated_at": now, "parts": [], "tags": {},
             "skip_notifications": bool(b.get("skip_notifications"))}
        self._stamp_index(t, call)
        self.store.put("ticket", t)
        if t_type["category"] == "Customer" and not b.get("skip_notifications"):
            # a customer ticket is announced to its contact unless notifications are skipped (spec: skip_notifications
            # "Option to disable notifications when a Ticket is created")
            self.store.put("delivery", {"id": str(self.store.next_id("delivery")), "object": "ticket",
                                        "object_id": t["id"], "part_id": None, "part_type": "ticket_created",
                                        "contact_ids": list(t["contact_ids"]), "body": attrs.get("_default_title_")})
        return t

    def op_createTicket(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_ticket(self._create_ticket(call.body, call))

    def op_enqueueCreateTicket(self, call: Call) -> tuple[int, Any]:
        t = self._create_ticket(call.body, call)
        job = {"id": str(self.store.next_id("job", 1)), "status": "success", "resource_type": "ticket",
               "resource_id": t["id"]}
        self.store.put("job", job)
        return 200, self.render_job(job) | {"status": "pending"}

    def render_job(self, job: dict[str, Any]) -> dict[str, Any]:
        return {"type": "job", "id": job["id"], "url": f"{self.base_url()}/jobs/status/{job['id']}",
                "status": job["status"], "resource_type": job["resource_type"], "resource_id": job["resource_id"],
                "resource_url": f"{self.base_url()}/tickets/{job['resource_id']}"}

    def op_jobsStatus(self, call: Call) -> tuple[int, Any]:
        job = self.store.get("job", call.args["job_id"])
        if job is None:
            raise IntercomError(404, "not_found", "Job not found")
        return 200, self.render_job(job)

    def op_getTicket(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_ticket(self._ticket(call.args["ticket_id"]))

    def op_updateTicket(self, call: Call) -> tuple[int, Any]:
        t = self._ticket(call.args["ticket_id"])
        b = call.body or {}
        t_type = self._ticket_type(t["ticket_type_id"])
        if "ticket_attributes" in b:
            t["ticket_attributes"] = {**t["ticket_attributes"],
                                      **self._ticket_attributes(t_type, b["ticket_attributes"], creating=False)}
        if "ticket_state_id" in b:
            if b["ticket_state_id"] not in {s[0] for s in TICKET_STATES}:
                raise bad(f"Ticket state {b['ticket_state_id']} does not exist", field_name="ticket_state_id")
            t["previous_state_id"] = t["state_id"]
            t["state_id"] = b["ticket_state_id"]
            if "open" not in b:  # a resolved ticket is closed, any other state is open
                t["open"] = b["ticket_state_id"] != next(s[0] for s in TICKET_STATES if s[1] == "resolved")
        if "open" in b:
            t["open"] = bool(b["open"])
        if "is_shared" in b:
            t["is_shared"] = bool(b["is_shared"])
        if "snoozed_until" in b:
            t["snoozed_until"] = b["snoozed_until"]
        if "company_id" in b:
            self._company(b["company_id"])
            t["company_id"] = b["company_id"]
        if "assignee_id" in b:
            if b.get("admin_id") is None:
                raise bad("admin_id is required to assign a ticket", code="parameter_not_found",
                          field_name="admin_id")
            self._admin(b["admin_id"])
            assignee = str(b["assignee_id"])
            if assignee == "0":
                t["admin_assignee_id"] = t["team_assignee_id"] = None
            elif self.store.get("admin", assignee):
                t["admin_assignee_id"] = assignee
            elif self.store.get("team", assignee):
                t["team_assignee_id"] = assignee
            else:
                raise IntercomError(404, "assignee_not_found", f"Assignee {assignee} not found")
        t["updated_at"] = int(call.now)
        return 200, self.render_ticket(self.store.put("ticket", t))

    def op_deleteTicket(self, call: Call) -> tuple[int, Any]:
        t = self._ticket(call.args["ticket_id"])
        self.store.delete("ticket", t["id"])
        return 200, {"id": t["id"], "object": "ticket", "deleted": True}

    def op_replyTicket(self, call: Call) -> tuple[int, Any]:
        t = self._ticket(call.args["ticket_id"])
        b = call.body
        author, part_type = self._reply_author(b, t["contact_ids"])
        part = self._new_part(b, author, call, part_type)
        self._deliver("ticket", t, part, bool(b.get("skip_notifications")))
        t["parts"].append(part)
        t["updated_at"] = int(call.now)
        self.store.put("ticket", t)
        return 200, self.render_ticket_part(part)

    def op_searchTickets(self, call: Call) -> tuple[int, Any]:
        query = call.body["query"]
        check_query(query, contact_dates=False)
        items = [t for t in self.store.values("ticket") if self._indexed(t, call) and
                 matches(query, ticket_fields(t))]
        pagination = call.body.get("pagination") or {}
        chunk, pages = self._page(items, self._per_page(call, 20), pagination.get("starting_after"))
        return 200, {"type": "ticket.list", "tickets": [self.render_ticket(t, with_parts=False) for t in chunk],
                     "total_count": len(items), "pages": pages}

    def _tag_object(self, rec: dict[str, Any], call: Call) -> dict[str, Any]:
        self._admin(call.body["admin_id"])
        tag = self._tag(call.body["id"])
        return self.render_tag(tag, self._apply_tag(rec, tag, str(call.body["admin_id"]), call))

    def op_attachTagToTicket(self, call: Call) -> tuple[int, Any]:
        t = self._ticket(call.args["ticket_id"])
        out = self._tag_object(t, call)
        self.store.put("ticket", t)
        return 200, out

    def op_detachTagFromTicket(self, call: Call) -> tuple[int, Any]:
        t = self._ticket(call.args["ticket_id"])
        self._admin(call.body["admin_id"])
        tag = self._tag(call.args["tag_id"])
        t["tags"].pop(tag["id"], None)
        self.store.put("ticket", t)
        return 200, self.render_tag(tag)

    # ----- conversations ---------------------------------------------------------------------------------------
    def _conversation(self, conversation_id: str) -> dict[str, Any]:
        c = self.store.get("conversation", conversation_id)
        if c is None:
            raise IntercomError(404, "conversation_not_found", "Resource Not Found")
        return c

    def render_conversation_part(self, p: dict[str, Any]) -> dict[str, Any]:
        out = {"type": "conversation_part", "id": p["id"], "part_type": p["part_type"], "body": p.get("body"),
               "created_at": p["created_at"], "updated_at": p["updated_at"], "notified_at": p["created_at"],
               "author": self._part_author(p["author"]), "attachments": [_public(a) for a in p["attachments"]],
               "redacted": False}
        if p.get("assigned_to"):
            out["assigned_to"] = p["assigned_to"]
        return out

    def render_conversation(self, c: dict[str, Any], with_parts: bool = True) -> dict[str, Any]:
        source_author = self._part_author(c["source"]["author"])
        out: dict[str, Any] = {
            "type": "conversation", "id": c["id"], "title": c.get("title"), "created_at": c["created_at"],
            "updated_at": c["updated_at"], "waiting_since": None, "snoozed_until": c.get("snoozed_until"),
            "open": c["state"] == "open", "state": c["state"], "read": bool(c.get("read")),
            "priority": c.get("priority", "none"),
            "tags": {"type": "tag.list", "tags": [self.render_tag(self.store.get("tag", tid), applied)
                                                  for tid, applied in c["tags"].items() if self.store.get("tag", tid)]},
            "source": {"type": "conversation", "id": c["id"], "delivered_as": "customer_initiated",
                       "subject": c["source"].get("subject") or "", "body": c["source"]["body"],
                       "author": source_author, "attachments": [_public(a) for a in c["source"]["attachments"]],
                       "url": None, "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": cid, "external_id": (self.store.get("contact", cid) or {}).get(
                    "external_id")} for cid in c["contact_ids"]]},
            "teammates": {"type": "admin.list", "teammates": [
                {"type": "admin", "id": aid} for aid in dict.fromkeys(
                    p["author"]["id"] for p in c["parts"] if p["author"]["type"] == "admin")]},
            "custom_attributes": c.get("custom_attributes") or {},
            "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
        }
        if c.get("admin_assignee_id"):
            out["admin_assignee_id"] = int(c["admin_assignee_id"])
        if c.get("team_assignee_id"):
            out["team_assignee_id"] = int(c["team_assignee_id"])
        if with_parts:
            parts = [self.render_conversation_part(p) for p in self._last_parts(c)]
            out["conversation_parts"] = {"type": "conversation_part.list", "conversation_parts": parts,
                                         "total_count": len(c["parts"])}
        return out

    def op_createConversation(self, call: Call) -> tuple[int, Any]:
        b = call.body
        sender = b["from"]
        contact = self.store.get("contact", sender.get("id", ""))
        if contact is None:
            raise IntercomError(404, "not_found", "User Not Found")
        now = int(call.now)
        created = int(b["created_at"]) if b.get("created_at") is not None else now
        cid = str(self.store.next_id("conversation", CONVERSATION_ID_START))
        c = {"id": cid, "created_at": created, "updated_at": now, "state": "open", "contact_ids": [contact["id"]],
             "source": {"body": b["body"], "subject": b.get("subject"), "author": {"type": "contact",
                                                                                     "id": contact["id"]},
                        "attachments": self._attachments({"attachment_urls": b.get("attachment_urls")})},
             "parts": [], "tags": {}, "message_id": str(self.store.next_id("message", 70_000_001))}
        self._stamp_index(c, call)
        self.store.put("conversation", c)
        return 200, {"type": "user_message", "id": c["message_id"], "created_at": created, "body": b["body"],
                     "message_type": "inapp", "conversation_id": cid}

    def op_retrieveConversation(self, call: Call) -> tuple[int, Any]:
        return 200, self.render_conversation(self._conversation(call.args["conversation_id"]))

    def op_updateConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        b = call.body or {}
        for key in ("read", "title"):
            if key in b:
                c[key] = b[key]
        if "custom_attributes" in b:
            c["custom_attributes"] = {**c.get("custom_attributes", {}), **(b["custom_attributes"] or {})}
        c["updated_at"] = int(call.now)
        return 200, self.render_conversation(self.store.put("conversation", c))

    def op_deleteConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        self.store.delete("conversation", c["id"])
        return 200, {"id": c["id"], "object": "conversation", "deleted": True}

    def op_listConversations(self, call: Call) -> tuple[int, Any]:
        items = self.store.values("conversation")
        chunk, pages = self._page(items, self._per_page(call, 20), call.query.get("starting_after"))
        return 200, {"type": "conversation.list",
                     "conversations": [self._list_item(c) for c in chunk], "total_count": len(items),
                     "pages": pages}

    def _list_item(self, c: dict[str, Any]) -> dict[str, Any]:
        out = self.render_conversation(c, with_parts=False)
        for key in ("linked_objects",):
            out.pop(key, None)
        return out

    def op_searchConversations(self, call: Call) -> tuple[int, Any]:
        query = call.body["query"]
        check_query(query, contact_dates=False)
        items = [c for c in self.store.values("conversation")
                 if self._indexed(c, call) and matches(query, conversation_fields(c))]
        pagination = call.body.get("pagination") or {}
        chunk, pages = self._page(items, self._per_page(call, 20), pagination.get("starting_after"))
        return 200, {"type": "conversation.list", "conversations": [self._list_item(c) for c in chunk],
                     "total_count": len(items), "pages": pages}

    def op_replyConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        b = call.body
        author, part_type = self._reply_author(b, c["contact_ids"])
        part = self._new_part(b, author, call, part_type)
        self._deliver("conversation", c, part, bool(b.get("skip_notifications")))
        c["parts"].append(part)
        c["updated_at"] = int(call.now)
        return 200, self.render_conversation(self.store.put("conversation", c))

    def op_manageConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        b = call.body
        self._admin(b["admin_id"])
        kind = b["message_type"]
        part = {"id": str(self.store.next_id("part", 900_001)), "part_type": kind, "body": b.get("body"),
                "created_at": int(call.now), "updated_at": int(call.now),
                "author": {"type": "admin", "id": str(b["admin_id"])}, "attachments": []}
        if kind == "close":
            c["state"] = "closed"
        elif kind == "open":
            c["state"] = "open"
            c.pop("snoozed_until", None)
        elif kind == "snoozed":
            c["state"] = "snoozed"
            c["snoozed_until"] = b["snoozed_until"]
        elif kind == "assignment":
            assignee = str(b["assignee_id"])
            if assignee == "0":
                c["admin_assignee_id"] = c["team_assignee_id"] = None
            elif b["type"] == "team":
                if not self.store.get("team", assignee):
                    raise IntercomError(404, "team_not_found", "Team not found")
                c["team_assignee_id"] = assignee
            else:
                self._admin(assignee, "assignee_id")
                c["admin_assignee_id"] = assignee
            part["assigned_to"] = {"type": b["type"], "id": assignee}
        c["parts"].append(part)
        c["updated_at"] = int(call.now)
        return 200, self.render_conversation(self.store.put("conversation", c))

    def op_attachTagToConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        out = self._tag_object(c, call)
        self.store.put("conversation", c)
        return 200, out

    def op_detachTagFromConversation(self, call: Call) -> tuple[int, Any]:
        c = self._conversation(call.args["conversation_id"])
        self._admin(call.body["admin_id"])
        tag = self._tag(call.args["tag_id"])
        c["tags"].pop(tag["id"], None)
        self.store.put("conversation", c)
        return 200, self.render_tag(tag)


# ----- search ------------------------------------------------------------------------------------------------------
DATE_FIELDS = {"created_at", "updated_at", "signed_up_at", "last_seen_at", "last_replied_at", "last_contacted_at"}
MAX_FILTERS_PER_GROUP = 15
MAX_NESTING = 2


def check_query(query: dict[str, Any], contact_dates: bool, depth: int = 0) -> None:
    """The documented query limits: at most 2 nesting levels, 15 filters per AND/OR group; in contact search,
    dates only with > and < (spec POST /contacts/search, notes §1.3)."""
    if query.get("operator") in ("AND", "OR"):
        if depth >= MAX_NESTING:
            raise bad(f"search queries nest at most {MAX_NESTING} levels", field_name="query")
        members = query.get("value") or []
        if len(members) > MAX_FILTERS_PER_GROUP:
            raise bad(f"at most {MAX_FILTERS_PER_GROUP} filters per AND/OR group", field_name="query")
        for member in members:
            check_query(member, contact_dates, depth + 1)
        return
    for key in ("field", "operator"):
        if key not in query:
            raise bad(f"a search filter needs {key!r}", field_name="query")
    if contact_dates and query["field"] in DATE_FIELDS and query["operator"] not in (">", "<", "="):
        raise bad(f"operator {query['operator']!r} is not supported on date field {query['field']!r} "
                  f"(use > or <)", field_name="query")


def matches(query: dict[str, Any], fields: dict[str, Any]) -> bool:
    op = query.get("operator")
    if op == "AND":
        return all(matches(q, fields) for q in query["value"])
    if op == "OR":
        return any(matches(q, fields) for q in query["value"])
    name, value = query["field"], query.get("value")
    have = fields.get(name)
    values = have if isinstance(have, list) else [have]
    return any(_compare(name, op, v, value) for v in values) if op not in ("!=", "NIN", "!~") else \
        all(_compare(name, op, v, value) for v in values)


def _compare(name: str, op: str, have: Any, want: Any) -> bool:
    if name in DATE_FIELDS and have is not None and isinstance(want, (int, str)) and str(want).lstrip("-").isdigit():
        # dates match by calendar day (the workspace's timezone, UTC here) (notes §1.3)
        have_day, want_day = day(have), day(int(want))
        return {"=": have_day == want_day, "!=": have_day != want_day, ">": have_day > want_day,
                "<": have_day < want_day, ">=": have_day >= want_day, "<=": have_day <= want_day}.get(op, False)
    norm = (lambda x: x.lower() if isinstance(x, str) else x)  # noqa: E731
    h = norm(have)
    if op in ("IN", "NIN"):
        inside = h in [norm(w) for w in (want or [])]
        return inside if op == "IN" else not inside
    w = norm(want)
    if op == "=":
        return h == w or (h is not None and w is not None and str(h) == str(w))
    if op == "!=":
        return not (h == w or (h is not None and w is not None and str(h) == str(w)))
    if h is None:
        return False
    if op in ("~", "!~"):
        inside = str(w) in str(h)
        return inside if op == "~" else not inside
    if op == "^":
        return str(h).startswith(str(w))
    if op == "$":
        return str(h).endswith(str(w))
    try:
        return {">": h > w, "<": h < w, ">=": h >= w, "<=": h <= w}[op]
    except TypeError:
        return False


def contact_fields(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: c.get(k) for k in ("id", "role", "name", "email", "phone", "external_id", "created_at", "updated_at",
                                 "signed_up_at", "last_seen_at", "owner_id")}
    out["email_domain"] = (c.get("email") or "").partition("@")[2]
    out["tag_id"] = list(c.get("tags", {}))
    out["company_id"] = list(c.get("company_ids", []))
    for k, v in (c.get("custom_attributes") or {}).items():
        out[f"custom_attributes.{k}"] = v
    return out


def ticket_fields(t: dict[str, Any]) -> dict[str, Any]:
    out = {"id": t["id"], "created_at": t["created_at"], "updated_at": t["updated_at"],
           "ticket_type_id": t["ticket_type_id"], "contact_ids": t["contact_ids"], "open": t["open"],
           "state": next(s[1] for s in TICKET_STATES if s[0] == t["state_id"]),
           "ticket_state_id": t["state_id"], "admin_assignee_id": t.get("admin_assignee_id"),
           "team_assignee_id": t.get("team_assignee_id"), "title": t["ticket_attributes"].get("_default_title_"),
           "description": t["ticket_attributes"].get("_default_description_"),
           "category": next((k for k, v in TICKET_SEARCH_CATEGORIES.items() if v == t["category"]), None),
           "tag_ids": list(t.get("tags", {})), "company_id": t.get("company_id")}
    for k, v in t["ticket_attributes"].items():
        out[f"ticket_attributes.{k}"] = v
    return out


def conversation_fields(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "created_at": c["created_at"], "updated_at": c["updated_at"], "state": c["state"],
            "open": c["state"] == "open", "contact_ids": c["contact_ids"],
            "source.author.id": c["source"]["author"]["id"], "source.body": c["source"]["body"],
            "source.subject": c["source"].get("subject"), "admin_assignee_id": c.get("admin_assignee_id"),
            "team_assignee_id": c.get("team_assignee_id"), "tag_ids": list(c.get("tags", {}))}


def sort_records(items: list[dict[str, Any]], sort: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not sort or not sort.get("field"):
        return items
    key = sort["field"]
    return sorted(items, key=lambda r: (r.get(key) is None, r.get(key) or 0),
                  reverse=sort.get("order") == "descending")


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _public(attachment: dict[str, Any]) -> dict[str, Any]:
    """An attachment as the API shows it (the emulator's bookkeeping keys removed)."""
    return {k: v for k, v in attachment.items() if k != "sha256"}

