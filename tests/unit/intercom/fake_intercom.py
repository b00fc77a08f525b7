"""An in-memory stand-in for the Intercom API object the destination calls (same method names as
hdm.destinations.intercom.api.IntercomApi), for fast loader tests: 409 on a duplicate contact, company upsert by
company_id, ticket parts with their created_at, and a kill switch that raises right after a write landed (a run
killed before the crosswalk heard of it). The HTTP behaviour is tested against the emulator."""

from __future__ import annotations

import itertools
from typing import Any, Optional

from hdm.http import AuthFailed, NotFound, Rejected, Transient


class Killed(Exception):
    """The injected crash."""


class _Calls:
    def __init__(self):
        self.total = 0
        self.by: dict[str, int] = {}

    def snapshot(self):
        return dict(self.by)


class FakeIntercom:
    def __init__(self, admins: list[dict[str, Any]], teams: list[dict[str, Any]]):
        self._ids = itertools.count(1000)
        self.admins_ = admins
        self.teams_ = teams
        self.companies: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.tags_: dict[str, dict[str, Any]] = {}
        self.types: dict[str, dict[str, Any]] = {}
        self.data_attrs: dict[str, list[dict[str, Any]]] = {"contact": [], "company": []}
        self.calls = _Calls()
        self.kill_at: Optional[tuple[str, int]] = None  # (operation, nth write): raise after that write landed
        self.kill_with: type[Exception] = Killed
        self.private_notes = True  # the plan: False refuses notes with 403
        self.lost_answer_at: Optional[tuple[str, int]] = None  # (operation, nth write): a 5xx after it landed
        self._writes: dict[str, int] = {}
        self.limiter = type("L", (), {"snapshot": lambda self: {}})()

    def _id(self) -> str:
        return str(next(self._ids))

    def _count(self, op: str) -> None:
        self.calls.total += 1
        self.calls.by[op] = self.calls.by.get(op, 0) + 1

    def _wrote(self, op: str) -> None:
        self._writes[op] = self._writes.get(op, 0) + 1
        if self.kill_at == (op, self._writes[op]):
            self.kill_at = None
            raise self.kill_with(f"killed after {op} #{self._writes[op]}")
        if self.lost_answer_at == (op, self._writes[op]):
            self.lost_answer_at = None
            raise Transient("server error", status=503)

    def state(self) -> dict[str, Any]:
        """What a person would see: everything but ids."""
        return {
            "companies": sorted((c["company_id"], c["name"]) for c in self.companies.values()),
            "contacts": sorted((c.get("external_id") or "", c.get("email") or "", tuple(sorted(c["companies"])))
                               for c in self.contacts.values()),
            "tickets": sorted((t["ticket_attributes"].get("hdm legacy id") or "", t["state"], tuple(t["tags"]),
                               tuple((p["part_type"], p["author"]["type"], p["created_at"], p["body"],
                                      len(p["attachments"])) for p in t["parts"]))
                              for t in self.tickets.values()),
        }

    # admins, teams
    def me(self):
        self._count("me")
        return self.admins_[0]

    def admins(self):
        self._count("admins")
        return list(self.admins_)

    def teams(self):
        self._count("teams")
        return list(self.teams_)

    # companies
    def company_by_company_id(self, company_id):
        self._count("company_by")
        return next((c for c in self.companies.values() if c["company_id"] == company_id), None)

    def upsert_company(self, payload):
        self._count("upsert_company")
        c = self.company_by_company_id(payload["company_id"])
        if c is None:
            c = {"id": self._id(), "type": "company"}
            self.companies[c["id"]] = c
        c.update(payload)
        self._wrote("company")
        return dict(c)

    def get_company(self, cid):
        self._count("get_company")
        if cid not in self.companies:
            raise NotFound("not found", status=404)
        return dict(self.companies[cid])

    def delete_company(self, cid):
        self._count("delete_company")
        if self.companies.pop(cid, None) is None:
            raise NotFound("not found", status=404)

    # contacts
    def create_contact(self, payload):
        self._count("create_contact")
        for c in self.contacts.values():
            if (payload.get("email") and (c.get("email") or "").casefold() == payload["email"].casefold()) or (
                    payload.get("external_id") and c.get("external_id") == payload["external_id"]):
                text = f"A contact matching those details already exists with id={c['id']}"
                raise Rejected("request rejected", status=409, errors=[{"code": "conflict", "message": text}])
        c = {"id": self._id(), "type": "contact", "companies": [], **payload}
        self.contacts[c["id"]] = c
        self._wrote("contact")
        return dict(c)

    def update_contact(self, cid, payload):
        self._count("update_contact")
        self.contacts[cid].update(payload)
        return dict(self.contacts[cid])

    def get_contact(self, cid):
        self._count("get_contact")
        if cid not in self.contacts:
            raise NotFound("not found", status=404)
        return dict(self.contacts[cid])

    def delete_contact(self, cid):
        self._count("delete_contact")
        if self.contacts.pop(cid, None) is None:
            raise NotFound("not found", status=404)

    def contact_by_external_id(self, ext):
        self._count("contact_by_external_id")
        return next((dict(c) for c in self.contacts.values() if c.get("external_id") == ext), None)

    def search_contacts(self, field, value, limit_pages=5, operator="="):
        self._count("search_contacts")
        hit = (lambda v: str(v or "").startswith(value)) if operator == "^" else (lambda v: v == value)
        return [{**c, "companies": {"data": [{"id": x} for x in c["companies"]]}}
                for c in self.contacts.values() if hit(c.get(field))]

    def attach_company(self, cid, company_id):
        self._count("attach_company")
        if company_id not in self.contacts[cid]["companies"]:
            self.contacts[cid]["companies"].append(company_id)
        return {}

    # attributes, tags, types
    def data_attributes(self, model):
        self._count("data_attributes")
        return list(self.data_attrs[model])

    def create_data_attribute(self, payload):
        self._count("create_data_attribute")
        self.data_attrs[payload["model"]].append(dict(payload))
        return payload

    def tags(self):
        self._count("tags")
        return list(self.tags_.values())

    def create_tag(self, name):
        self._count("create_tag")
        tag = self.tags_.setdefault(name.casefold(), {"id": self._id(), "name": name})
        return tag

    def ticket_types(self):
        self._count("ticket_types")
        return [{"id": t["id"], "name": t["name"]} for t in self.types.values()]

    def get_ticket_type(self, tid):
        self._count("get_ticket_type")
        t = self.types[tid]
        return {"id": tid, "name": t["name"], "ticket_type_attributes": {"ticket_type_attributes": t["attrs"]},
                "ticket_states": {"data": [{"id": f"s-{c}", "category": c} for c in (
                    "submitted", "in_progress", "waiting_on_customer", "resolved")]}}

    def create_ticket_type(self, payload):
        self._count("create_ticket_type")
        t = {"id": self._id(), "name": payload["name"], "attrs": [
            {"id": self._id(), "name": "_default_title_"}, {"id": self._id(), "name": "_default_description_"}]}
        self.types[t["id"]] = t
        return {"id": t["id"], "name": t["name"]}

    def create_ticket_type_attribute(self, tid, payload):
        self._count("create_ticket_type_attribute")
        self.types[tid]["attrs"].append({"id": self._id(), **payload})
        return payload

    def ticket_states(self):
        self._count("ticket_states")
        return []

    # tickets
    def create_ticket(self, payload):
        self._count("create_ticket")
        known = {a["name"] for a in self.types[payload["ticket_type_id"]]["attrs"]}
        unknown = set(payload["ticket_attributes"]) - known
        if unknown:
            raise Rejected("request rejected", status=400, vendor_message=f"unknown attributes {sorted(unknown)}")
        t = {"id": self._id(), "type": "ticket", "ticket_attributes": dict(payload["ticket_attributes"]),
             "created_at": payload.get("created_at"), "contacts": {"contacts": [dict(c) for c in payload["contacts"]]},
             "ticket_type": {"id": payload["ticket_type_id"]}, "state": "submitted", "tags": [], "parts": [],
             "assignment": payload.get("assignment")}
        self.tickets[t["id"]] = t
        self._wrote("ticket")
        return {k: v for k, v in t.items() if k != "parts"}

    def get_ticket(self, tid):
        self._count("get_ticket")
        if tid not in self.tickets:
            raise NotFound("not found", status=404)
        t = self.tickets[tid]
        parts = [dict(p) for p in t["parts"]]
        return {**{k: v for k, v in t.items() if k != "parts"}, "ticket_parts": {"ticket_parts": parts}}

    def update_ticket(self, tid, payload):
        self._count("update_ticket")
        self.tickets[tid]["state"] = payload.get("ticket_state_id") or self.tickets[tid]["state"]
        self.tickets[tid]["ticket_attributes"].update(payload.get("ticket_attributes") or {})
        return {}

    def delete_ticket(self, tid):
        self._count("delete_ticket")
        if self.tickets.pop(tid, None) is None:
            raise NotFound("not found", status=404)

    def reply(self, tid, payload):
        self._count("reply")
        if payload["type"] == "user" and payload.get("message_type") != "comment":
            raise Rejected("request rejected", status=400, vendor_message="a contact reply cannot be a note")
        if payload["type"] == "user" and payload.get("attachment_files"):
            raise Rejected("request rejected", status=400, vendor_message="contact replies take no files")
        if payload["type"] == "user" and payload.get("intercom_user_id") not in [
                c["id"] for c in self.tickets[tid]["contacts"]["contacts"]]:
            raise Rejected("request rejected", status=400, vendor_message="not a participant")
        if payload["message_type"] == "note" and not self.private_notes:
            raise AuthFailed("not authorised", status=403, vendor_message="Private notes are not available")
        author = {"type": "user", "id": payload["intercom_user_id"]} if payload["type"] == "user" else \
            {"type": "admin", "id": str(payload["admin_id"])}
        p = {"id": self._id(), "part_type": payload["message_type"], "body": payload["body"],
             "created_at": payload.get("created_at"), "author": author,
             "attachments": [{"name": f["name"]} for f in payload.get("attachment_files") or []]}
        self.tickets[tid]["parts"].append(p)
        self._wrote("reply")
        return dict(p)

    def tag_ticket(self, tid, tag_id, admin_id):
        self._count("tag_ticket")
        assert admin_id
        if tag_id not in self.tickets[tid]["tags"]:
            self.tickets[tid]["tags"].append(tag_id)
        return {}

    def search_tickets(self, query, limit_pages=5):
        self._count("search_tickets")
        want = {q["field"]: q["value"] for q in (query["value"] if query.get("operator") == "AND" else [query])}
        contacts = want.get("contact_ids")
        contacts = set(contacts) if isinstance(contacts, list) else {contacts}
        for t in self.tickets.values():
            if (contacts == {None} or contacts & {c["id"] for c in t["contacts"]["contacts"]}) and \
                    want.get("ticket_type_id") in (None, t["ticket_type"]["id"]):
                yield {k: v for k, v in t.items() if k != "parts"}
