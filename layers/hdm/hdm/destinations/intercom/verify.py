"""Verification: every loaded ticket and its parts read back and compared with what was sent: ticket fields,
part order, visibility (comment or note), author and time; companies and contacts by their fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from hdm.crosswalk.base import Origin, State
from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.parts import body_text, ticket_parts
from hdm.destinations.intercom.run import Run
from hdm.http import NotFound

if TYPE_CHECKING:
    from hdm.destinations.intercom.destination import IntercomDestination


def _mismatch(key: str, dest_id: Optional[str], field: Optional[str], want: Any = None, got: Any = None,
              problem: Optional[str] = None) -> dict[str, Any]:
    out: dict[str, Any] = {"source_key": key, "dest_id": dest_id, "field": field}
    if problem:
        out["problem"] = problem
    else:
        out.update(expected=_preview(want), actual=_preview(got))
    return out


def _preview(v: Any) -> Any:
    return v[:77] + "..." if isinstance(v, str) and len(v) > 80 else v


def _same(want: Any, got: Any) -> bool:
    if want in (None, "") and got in (None, ""):
        return True
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(want) == bool(got)
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return float(want) == float(got)
    if isinstance(want, str) and isinstance(got, str):
        return " ".join(want.split()) == " ".join(got.split())
    return str(want) == str(got)


def _loaded(run: Run, rows: list[dict[str, Any]], obj: str) -> dict[str, tuple[str, dict[str, Any]]]:
    states = run.state_of((r["_source_key"] for r in rows), obj)
    out = {}
    for row in rows:
        e = states.get(row["_source_key"])
        if e is not None and e.state == State.LOADED and e.dest_id and e.origin == Origin.CREATED:
            out[row["_source_key"]] = (e.dest_id, row)
    return out


def verify_companies(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key, (cid, row) in _loaded(run, rows, P.COMPANY).items():
        try:
            got = dest.api.get_company(cid)
        except NotFound:
            out.append(_mismatch(key, cid, None, problem="not found"))
            continue
        for f in ("company_id", "name", "website", "remote_created_at"):
            if f in row and not _same(row[f], got.get(f)):
                out.append(_mismatch(key, cid, f, row[f], got.get(f)))
        have = got.get("custom_attributes") or {}
        for f, v in (row.get("custom_attributes") or {}).items():
            if not _same(v, have.get(f)):
                out.append(_mismatch(key, cid, f"custom_attributes.{f}", v, have.get(f)))
    return out


def verify_contacts(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key, (cid, row) in _loaded(run, rows, P.CONTACT).items():
        try:
            got = dest.api.get_contact(cid)
        except NotFound:
            out.append(_mismatch(key, cid, None, problem="not found"))
            continue
        for f in ("external_id", "role", "name", "phone", "signed_up_at"):
            if f in row and not _same(row[f], got.get(f)):
                out.append(_mismatch(key, cid, f, row[f], got.get(f)))
        if not _same((row.get("email") or "").casefold(), (got.get("email") or "").casefold()):
            out.append(_mismatch(key, cid, "email", row.get("email"), got.get("email")))
        have = got.get("custom_attributes") or {}
        for f, v in (row.get("custom_attributes") or {}).items():
            if not _same(v, have.get(f)):
                out.append(_mismatch(key, cid, f"custom_attributes.{f}", v, have.get(f)))
    return out


def verify_tickets(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    type_id, attributes = dest.ticket_type()
    contacts = run.resolve({(r.get("_lookups") or {}).get("contact") for r in rows} - {None}, P.CONTACT)
    for key, (tid, row) in _loaded(run, rows, P.TICKET).items():
        try:
            got = dest.api.get_ticket(tid)
        except NotFound:
            out.append(_mismatch(key, tid, None, problem="not found"))
            continue
        if row.get("created_at") is not None and not _same(row["created_at"], got.get("created_at")):
            out.append(_mismatch(key, tid, "created_at", row["created_at"], got.get("created_at")))
        have = got.get("ticket_attributes") or {}
        for name, want in (row.get("ticket_attributes") or {}).items():
            if name in attributes or name.startswith("_default_"):
                if not _same(want, have.get(name)):
                    out.append(_mismatch(key, tid, f"ticket_attributes.{name}", want, have.get(name)))
        tt = (got.get("ticket_type") or {}).get("id")
        if tt is not None and str(tt) != str(type_id):
            out.append(_mismatch(key, tid, "ticket_type", type_id, tt))
        want_contact = contacts.get((row.get("_lookups") or {}).get("contact"))
        got_contacts = [str(c.get("id")) for c in ((got.get("contacts") or {}).get("contacts") or [])]
        if want_contact and want_contact not in got_contacts:
            out.append(_mismatch(key, tid, "contacts", want_contact, got_contacts))
    return out


def verify_parts(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per ticket, one read: every loaded part is there, of the right type (a note is never a comment), by the
    right kind of author (a contact's reply by a user, an agent's by an admin), at its original time, with its
    words, and the parts in thread order."""
    out: list[dict[str, Any]] = []
    loaded = _loaded(run, rows, P.PART)
    by_ticket: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for key, (pid, row) in loaded.items():
        by_ticket.setdefault(row["_ticket"], []).append((key, pid, row))
    tickets = run.resolve(by_ticket, P.TICKET)
    requesters = run.resolve(by_ticket, P.TICKET_CONTACT)
    agents = run.resolve({r.get("_author") for _, r in loaded.values() if r.get("_author")}, P.ADMIN)
    for ticket_key, items in by_ticket.items():
        tid = tickets.get(ticket_key)
        if tid is None:
            continue
        try:
            parts = ticket_parts(dest.api.get_ticket(tid))
        except NotFound:
            out.extend(_mismatch(k, p, None, problem="ticket not found") for k, p, _ in items)
            continue
        index = {str(p.get("id")): (i, p) for i, p in enumerate(parts)}
        items.sort(key=lambda x: (x[2].get("_position") or 0, x[0]))
        last = -1
        for key, pid, row in items:
            found = index.get(str(pid))
            if found is None:
                out.append(_mismatch(key, pid, None, problem="part not found on its ticket"))
                continue
            i, part = found
            if i < last:
                out.append(_mismatch(key, pid, "order", "after the part before it in the thread", "before it"))
            last = max(last, i)
            if (part.get("part_type") or "comment") != row["message_type"]:
                out.append(_mismatch(key, pid, "part_type", row["message_type"], part.get("part_type")))
            author = (part.get("author") or {}).get("type")
            want_author = "user" if row["_author_kind"] == "contact" else "admin"
            if author is not None and (author == "admin") != (want_author == "admin"):
                out.append(_mismatch(key, pid, "author.type", want_author, author))
            # the author: the ticket's contact for a customer's reply, the matched admin (or the default admin,
            # flagged at load) for everything else
            want_id = requesters.get(ticket_key) if want_author == "user" else \
                agents.get(row.get("_author") or "") or dest.default_admin_id()
            got_id = (part.get("author") or {}).get("id")
            if want_id is not None and got_id is not None and str(got_id) != str(want_id):
                out.append(_mismatch(key, pid, "author.id", want_id, got_id))
            if row.get("created_at") is not None and not _same(row["created_at"], part.get("created_at")):
                out.append(_mismatch(key, pid, "created_at", row["created_at"], part.get("created_at")))
            want_text, got_text = body_text(row.get("body")), body_text(part.get("body"))
            if want_text not in got_text:  # a fallback author's name may precede the words
                out.append(_mismatch(key, pid, "body", want_text, got_text))
    return out


VERIFIERS = {P.COMPANIES: verify_companies, P.CONTACTS: verify_contacts, P.TICKETS: verify_tickets,
             P.PARTS: verify_parts}
