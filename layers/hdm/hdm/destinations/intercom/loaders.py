"""The phase loaders. Each writes a crosswalk entry for every row: loaded (created or matched), rejected with
Intercom's reason, or held with why. Writes that Intercom cannot make idempotent (a ticket, a reply) are
preceded by a *pending* marker; a re-run that finds one reads Intercom back before sending anything again.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from hdm.crosswalk.base import CrosswalkEntry, Origin, State, content_hash
from hdm.destinations.intercom import phases as P
from hdm.destinations.intercom.api import existing_contact_id
from hdm.destinations.intercom.options import (
    MAX_FILES_PER_PART,
    PLACEHOLDER_CONTACT_KEY,
    PLACEHOLDER_CONTACT_NAME,
    legacy_id,
)
from hdm.destinations.intercom.parts import find_sent, ticket_parts
from hdm.destinations.intercom.run import Run, payload_of
from hdm.http import AuthFailed, NotFound, Rejected, Transient

if TYPE_CHECKING:
    from hdm.destinations.intercom.destination import IntercomDestination

LEGACY_ATTRIBUTE = "hdm legacy id"
ADOPTED = "adopted: found in Intercom by its legacy id"  # a ticket entry whose parts may be in Intercom already
# a write that failed in a way that may have happened (5xx, reset connection) is looked for, then sent again, at
# most this many times in one run; after that the Transient stops the chunk and the next run resumes it
WRITE_ATTEMPTS = 3


# -- admins and teams: matched, never created ------------------------------------------------------------------
def load_admins(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    admins = dest.admins_by_email()
    policy = dest.options.unmatched_agent_policy
    for row in rows:
        key = row["_source_key"]
        email = (row.get("_email") or "").casefold()
        admin = admins.get(email) if email else None
        if admin is None:
            then = ("their tickets and replies go to the default admin, flagged" if policy == "default_admin" else
                    "their tickets are held (policy block)")
            reason = (f"no Intercom admin has this agent's email; {then} (reconciliation list: add the teammate in "
                      "Intercom and run again)") if email else \
                f"the agent has no email to match an Intercom admin; {then} (reconciliation list)"
            run.flag(key, "unmatched_agent", reason, "email")
            run.hold(key, P.ADMIN, reason, "UNMATCHED_AGENT", Origin.MATCHED)
            continue
        run.outcome(key, P.ADMIN, "matched", str(admin["id"]))
        run.put(key, P.ADMIN, State.LOADED, Origin.MATCHED, str(admin["id"]))


def load_teams(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    teams = {(t.get("name") or "").strip().casefold(): t for t in dest.api.teams()}
    for row in rows:
        key, name = row["_source_key"], row.get("_name") or ""
        team = teams.get(name.casefold()) if name else None
        if team is None:
            reason = (f"no Intercom team is named {name!r} (teams cannot be created through the API): create it "
                      "in Intercom and run again; meanwhile its tickets are not assigned to a team")
            run.flag(key, "team_not_found", reason, "name")
            run.hold(key, P.TEAM, reason, "TEAM_NOT_FOUND", Origin.MATCHED)
            continue
        run.outcome(key, P.TEAM, "matched", str(team["id"]))
        run.put(key, P.TEAM, State.LOADED, Origin.MATCHED, str(team["id"]))


def _prepared_only(dest: IntercomDestination, run: Run, model: str, key: str, payload: dict[str, Any]) -> None:
    """Custom attributes the workspace does not have are left out, flagged (one bad value never costs the record)."""
    custom = payload.get("custom_attributes")
    if not custom:
        return
    known = dest.data_attribute_names(model)
    for name in [n for n in custom if n not in known]:
        custom.pop(name)
        run.flag(key, "attribute_not_prepared", f"{model} attribute {name!r} does not exist in Intercom (no "
                 "definition in the source, or prepare could not create it): value not loaded", name)
    if not custom:
        payload.pop("custom_attributes")


# -- companies: create-or-update by company_id -------------------------------------------------------------------
def load_companies(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    for row in rows:
        key = row["_source_key"]
        before = run.entry_of(prior, key, P.COMPANY)
        payload = payload_of(row)
        if _unchanged(before, row):
            run.outcome(key, P.COMPANY, "unchanged", before.dest_id)
            continue
        _prepared_only(dest, run, "company", key, payload)
        try:
            company = dest.api.upsert_company(payload)
        except Rejected as exc:
            run.reject(key, P.COMPANY, exc)
            continue
        status = "updated" if before is not None and before.state == State.LOADED else "created"
        run.outcome(key, P.COMPANY, status, str(company["id"]))
        run.put(key, P.COMPANY, State.LOADED, Origin.CREATED, str(company["id"]), row=row)


# -- contacts: external_id = legacy id; a 409 means it exists ----------------------------------------------------
def load_contacts(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    companies = run.resolve({c for r in rows for c in r.get("_companies") or []}, P.COMPANY)
    for row in rows:
        key = row["_source_key"]
        before = run.entry_of(prior, key, P.CONTACT)
        if _unchanged(before, row):
            run.outcome(key, P.CONTACT, "unchanged", before.dest_id)
            continue
        payload = payload_of(row)
        _prepared_only(dest, run, "contact", key, payload)
        origin = Origin.CREATED
        try:
            if before is not None and before.state == State.LOADED and before.dest_id:
                contact_id = before.dest_id
                origin = before.origin
                if origin == Origin.CREATED:
                    dest.api.update_contact(contact_id, payload)
                status = "updated"
            else:
                contact_id, origin = _create_contact(dest, run, key, payload)
                status = "created" if origin == Origin.CREATED else "matched"
        except Rejected as exc:
            run.reject(key, P.CONTACT, exc)
            continue
        for company_key in row.get("_companies") or []:
            company_id = companies.get(company_key)
            if company_id is None:
                run.flag(key, "company_not_linked", f"{company_key} was not loaded: the contact is not attached to "
                         "it", "companies")
                continue
            try:
                dest.api.attach_company(contact_id, company_id)
            except Rejected as exc:
                run.flag(key, "company_not_linked", f"attaching {company_key} was refused: {exc}", "companies")
        run.outcome(key, P.CONTACT, status, contact_id)
        run.put(key, P.CONTACT, State.LOADED, origin, contact_id, row=row)


def _create_contact(dest: IntercomDestination, run: Run, key: str, payload: dict[str, Any]) -> tuple[str, Origin]:
    """Create; on 409 find the contact that exists: ours (a killed run created it: same external_id) or one that
    was there before (matched, linked, flagged)."""
    ours = payload.get("external_id")
    existing_id = None
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return str(dest.api.create_contact(payload)["id"]), Origin.CREATED
        except Transient:  # it may have been created: sending again answers 409 naming it
            if attempt == WRITE_ATTEMPTS - 1:
                raise
        except Rejected as exc:
            if exc.status != 409:
                raise
            existing_id = existing_contact_id(exc)
            break
    contact = None
    if existing_id:
        try:
            contact = dest.api.get_contact(existing_id)
        except NotFound:
            contact = None
    if contact is None and ours:
        contact = dest.api.contact_by_external_id(ours)
    if contact is None and payload.get("email"):
        found = dest.api.search_contacts("email", payload["email"])
        contact = found[0] if found else None
    if contact is None:
        raise Rejected("Intercom says the contact exists (409) but it cannot be found", status=409)
    if ours and contact.get("external_id") == ours:
        return str(contact["id"]), Origin.CREATED
    run.flag(key, "contact_exists", "a contact with this email already existed in Intercom: linked to it, not "
             "changed (409 handled as exists)", "email", "info")
    return str(contact["id"]), Origin.MATCHED


def _placeholder_contact(dest: IntercomDestination, run: Run) -> Optional[str]:
    """The one contact this migration makes for its tickets without a requester (config no_requester_contact:
    placeholder): no email (nothing is ever sent to anyone), external_id = the migration's legacy id of
    PLACEHOLDER_CONTACT_KEY. Created once: a re-run finds it in the crosswalk, a killed run's (or a parallel chunk's)
    by the 409 on its external_id; recorded as created, so rollback deletes it."""
    key = PLACEHOLDER_CONTACT_KEY
    before = run.entry_of(run.existing([key]), key, P.CONTACT)
    if before is not None and before.state == State.LOADED and before.dest_id:
        return before.dest_id
    payload = {"role": "user", "external_id": dest.legacy(key), "name": PLACEHOLDER_CONTACT_NAME}
    run.put(key, P.CONTACT, State.PENDING, Origin.CREATED)  # rollback finds it by its external_id if we stop here
    try:
        contact_id, origin = _create_contact(dest, run, key, payload)
    except Rejected as exc:
        run.put(key, P.CONTACT, State.REJECTED, Origin.CREATED, reason=f"the placeholder contact was refused: {exc}")
        return None  # its tickets are held (REQUESTER_NOT_LOADED), never dropped
    run.put(key, P.CONTACT, State.LOADED, origin, contact_id)
    return contact_id


# -- tickets -----------------------------------------------------------------------------------------------------
def load_tickets(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    type_id, attributes = dest.ticket_type()
    prior = run.existing(r["_source_key"] for r in rows)
    looks = [r.get("_lookups") or {} for r in rows]
    contacts = run.resolve({x["contact"] for x in looks if x.get("contact")}, P.CONTACT)
    if any(x.get("contact") == PLACEHOLDER_CONTACT_KEY for x in looks) and PLACEHOLDER_CONTACT_KEY not in contacts:
        placeholder = _placeholder_contact(dest, run)
        if placeholder:
            contacts[PLACEHOLDER_CONTACT_KEY] = placeholder
    companies = run.resolve({x["company"] for x in looks if x.get("company")}, P.COMPANY)
    admins = run.resolve({x["admin"] for x in looks if x.get("admin")}, P.ADMIN)
    teams = run.resolve({x["team"] for x in looks if x.get("team")}, P.TEAM)
    # tickets the crosswalk has never seen may exist all the same (a fresh state folder, a lost crosswalk): one
    # search per chunk finds them by their legacy id, and they are adopted instead of created twice
    unseen = [r for r in rows if not prior.get(r["_source_key"]) and not r.get("_hold")
              and contacts.get((r.get("_lookups") or {}).get("contact"))]
    adopted = dest.tickets_by_legacy(
        [contacts[r["_lookups"]["contact"]] for r in unseen],
        {(r.get("ticket_attributes") or {}).get(LEGACY_ATTRIBUTE) for r in unseen} - {None})
    for row in rows:
        key = row["_source_key"]
        look = row.get("_lookups") or {}
        before = run.entry_of(prior, key, P.TICKET)
        legacy = (row.get("ticket_attributes") or {}).get(LEGACY_ATTRIBUTE)
        if before is None and legacy in adopted and contacts.get(look.get("contact")):
            ticket_id = adopted[legacy]
            run.flag(key, "adopted", "the ticket was already in Intercom (loaded by an earlier run whose state this "
                     "one does not have): found by its legacy id, not created again", "id", "info")
            if row.get("_tag"):  # the run that made it may have stopped before tagging it (tagging is idempotent)
                _tag(dest, run, key, ticket_id, row["_tag"])
            run.outcome(key, P.TICKET, "unchanged", ticket_id)
            run.put(key, P.TICKET_CONTACT, State.LOADED, Origin.MATCHED, contacts[look["contact"]])
            run.put(key, P.TICKET, State.LOADED, Origin.CREATED, ticket_id, reason=ADOPTED, row=row)
            continue
        if before is not None and before.state == State.LOADED and before.dest_id:
            if _unchanged(before, row):
                run.outcome(key, P.TICKET, "unchanged", before.dest_id)
                continue
            # a delta run: the source ticket changed since it was loaded; its attributes are updated in place
            attrs = {n: v for n, v in (row.get("ticket_attributes") or {}).items()
                     if n in attributes or n.startswith("_default_")}
            try:
                dest.api.update_ticket(before.dest_id, {"ticket_attributes": attrs, "skip_notifications": True})
            except Rejected as exc:
                run.reject(key, P.TICKET, exc, before.dest_id)
                continue
            run.outcome(key, P.TICKET, "updated", before.dest_id)
            run.put(key, P.TICKET, State.LOADED, before.origin, before.dest_id, row=row)
            continue
        if row.get("_hold"):
            run.hold(key, P.TICKET, row["_hold"], "NO_REQUESTER")
            continue
        contact_id = contacts.get(look.get("contact"))
        if contact_id is None:
            run.hold(key, P.TICKET, f"its requester {look.get('contact')} was not loaded as a contact (see the "
                     "contacts phase): an Intercom ticket needs one", "REQUESTER_NOT_LOADED")
            continue
        payload = payload_of(row)
        payload["ticket_type_id"] = type_id
        payload["contacts"] = [{"id": contact_id}]
        payload["skip_notifications"] = True
        if payload.get("created_at") is None:
            payload.pop("created_at", None)
            run.flag(key, "no_created_at", "no creation time in the source: Intercom sets the load time",
                     "created_at")
        attrs = {}
        for name, value in (payload.get("ticket_attributes") or {}).items():
            if name in attributes or name.startswith("_default_"):
                attrs[name] = value
            elif value not in (None, ""):
                run.flag(key, "attribute_not_prepared", f"ticket attribute {name!r} is not on the ticket type "
                         "(prepare could not create it): value not loaded", name)
        payload["ticket_attributes"] = attrs
        company = look.get("company")
        if company and companies.get(company):
            payload["company_id"] = companies[company]
        elif company:
            run.flag(key, "company_not_linked", f"{company} was not loaded: the ticket has no company", "company_id")
        assignment: dict[str, Any] = {}
        agent = look.get("admin")
        if agent:
            admin_id = admins.get(agent)
            if admin_id is None:
                if dest.options.unmatched_agent_policy == "block":
                    run.hold(key, P.TICKET, f"its agent {agent} has no Intercom admin (policy block)",
                             "UNMATCHED_AGENT")
                    continue
                admin_id = dest.default_admin_id()
                run.flag(key, "owner_fallback", f"its agent {agent} has no Intercom admin: assigned to the default "
                         "admin", "admin_assignee_id")
            assignment["admin_assignee_id"] = admin_id
        team = look.get("team")
        if team and teams.get(team):
            assignment["team_assignee_id"] = teams[team]
        elif team:
            run.flag(key, "team_not_assigned", f"{team} matched no Intercom team: not assigned to a team",
                     "team_assignee_id")
        if assignment:
            payload["assignment"] = assignment
        try:
            ticket_id = _find_or_create_ticket(dest, run, key, before, payload, contact_id)
        except Rejected as exc:
            run.reject(key, P.TICKET, exc)
            continue
        if row.get("_tag"):
            _tag(dest, run, key, ticket_id, row["_tag"])
        status = "created" if before is None or before.dest_id is None else "updated"
        run.outcome(key, P.TICKET, status, ticket_id)
        # matched, not created: rollback never deletes the contact through this entry
        run.put(key, P.TICKET_CONTACT, State.LOADED, Origin.MATCHED, contact_id)
        run.put(key, P.TICKET, State.LOADED, Origin.CREATED, ticket_id, row=row)


def _tag(dest: IntercomDestination, run: Run, key: str, ticket_id: str, tag: str) -> None:
    """The category's tag on the ticket (Intercom needs an admin to tag: the default admin)."""
    try:
        dest.api.tag_ticket(ticket_id, dest.tag_id(tag), dest.default_admin_id())
    except Rejected as exc:
        run.flag(key, "tag_not_applied", f"the category tag {tag!r} was refused: {exc}", "tags")


def _find_or_create_ticket(dest: IntercomDestination, run: Run, key: str, before: Optional[CrosswalkEntry],
                           payload: dict[str, Any], contact_id: str) -> str:
    if before is not None and before.state == State.PENDING:
        if before.dest_id:
            return before.dest_id  # created, then interrupted before the tag or the final entry
        found = dest.find_ticket(contact_id, payload["ticket_attributes"].get(LEGACY_ATTRIBUTE))
        if found:
            run.flag(key, "found_after_interruption", "an earlier run created this ticket before it was "
                     "interrupted: found by its legacy id, not created again", "id", "info")
            run.put(key, P.TICKET, State.PENDING, Origin.CREATED, found)
            return found
    run.put(key, P.TICKET, State.PENDING, Origin.CREATED)  # the marker: a re-run looks before sending again
    for attempt in range(WRITE_ATTEMPTS):
        try:
            ticket_id = str(dest.api.create_ticket(payload)["id"])
            break
        except Transient:  # it may have been created: look for it before sending again
            found = dest.find_ticket(contact_id, payload["ticket_attributes"].get(LEGACY_ATTRIBUTE))
            if found:
                ticket_id = found
                break
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    run.put(key, P.TICKET, State.PENDING, Origin.CREATED, ticket_id)
    return ticket_id


# -- parts, in thread order, with their files ----------------------------------------------------------------------
def load_parts(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    by_ticket: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("_hold"):
            run.hold(row["_source_key"], P.PART, row["_hold"], "NO_TICKET")
            continue
        by_ticket.setdefault(row["_ticket"], []).append(row)
    ticket_entries = run.state_of(by_ticket, P.TICKET)
    tickets = {k: e.dest_id for k, e in ticket_entries.items() if e.state == State.LOADED and e.dest_id}
    adopted = {k for k, e in ticket_entries.items() if (e.reason or "").startswith(ADOPTED)}
    agents = run.resolve({r["_author"] for r in rows if r.get("_author") and r["_author_kind"] == "admin"}, P.ADMIN)
    people = run.resolve({r["_author"] for r in rows if r.get("_author")}, P.CONTACT)
    requesters = run.resolve(by_ticket, P.TICKET_CONTACT)
    for ticket_key, group in by_ticket.items():
        group.sort(key=lambda r: (r.get("_position") or 0, r["_source_key"]))
        ticket_id = tickets.get(ticket_key)
        if ticket_id is None:
            for row in group:
                run.hold(row["_source_key"], P.PART, f"its ticket {ticket_key} was not loaded", "TICKET_NOT_LOADED")
                _hold_files(run, row, f"its message's ticket {ticket_key} was not loaded")
            continue
        sender = _PartSender(dest, run, ticket_id, [r["_source_key"] for r in group], requesters.get(ticket_key),
                             look_first=ticket_key in adopted)
        for row in group:
            sender.send_row(row, agents, people)


class _PartSender:
    """Sends the parts of one ticket; ``keys`` are the source keys of its parts this chunk loads (the parts
    already linked to them are never taken for another one)."""

    def __init__(self, dest: IntercomDestination, run: Run, ticket_id: str, keys: list[str],
                 contact: Optional[str] = None, look_first: bool = False):
        self.dest, self.run, self.ticket_id, self.keys = dest, run, ticket_id, keys
        self.look_first = look_first  # an adopted ticket: its parts may be there already, unknown to the crosswalk
        self._parts: Optional[list[dict[str, Any]]] = None
        self._claimed: Optional[set[str]] = None
        self._contact: Optional[str] = contact

    def _read_back(self) -> tuple[list[dict[str, Any]], set[str]]:
        if self._parts is None:
            ticket = self.dest.api.get_ticket(self.ticket_id)
            self._parts = ticket_parts(ticket)
            contacts = ((ticket.get("contacts") or {}).get("contacts") or []) if isinstance(
                ticket.get("contacts"), dict) else []
            if contacts and self._contact is None:
                self._contact = str(contacts[0].get("id"))
            extra = [f"{k}#files{i or ''}" for k in self.keys for i in range(3)] + [f"{k}#note" for k in self.keys]
            found = self.run.existing([*self.keys, *extra])
            self._claimed = {e.dest_id for es in found.values() for e in es
                             if e.dest_id and e.state == State.LOADED and e.dest_object in (P.PART, P.FILES_NOTE)}
        return self._parts, self._claimed  # type: ignore[return-value]

    def ticket_contact(self) -> Optional[str]:
        if self._contact is None:
            self._read_back()
        return self._contact

    def send(self, key: str, payload: dict[str, Any], before: Optional[CrosswalkEntry]) -> tuple[str, bool]:
        """(part id, created now). A pending marker first; a pending marker found means: read the ticket's parts
        back and take the part that matches instead of sending again."""
        if (before is not None and before.state == State.PENDING) or (before is None and self.look_first):
            if before is not None and before.dest_id:
                return before.dest_id, False
            parts, claimed = self._read_back()
            found = find_sent(parts, payload, claimed)
            if found is not None:
                claimed.add(found)
                self.run.flag(key, "found_after_interruption", "an earlier run sent this part before it was "
                              "interrupted: found by reading the ticket back, not sent again", "id", "info")
                return found, False
        self.run.put(key, P.FILES_NOTE if "#" in key else P.PART, State.PENDING, Origin.CREATED)
        for attempt in range(WRITE_ATTEMPTS):
            try:
                part_id = str(self.dest.api.reply(self.ticket_id, payload).get("id"))
                break
            except Transient:  # it may have landed: read the ticket back before sending again
                self._parts = None
                parts, claimed = self._read_back()
                found = find_sent(parts, payload, claimed)
                if found is not None:
                    claimed.add(found)
                    return found, False
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
        if self._claimed is not None:
            self._claimed.add(part_id)
        return part_id, True

    def send_row(self, row: dict[str, Any], agents: dict[str, str], people: dict[str, str]) -> None:
        run, key = self.run, row["_source_key"]
        prior = run.existing([key, f"{key}#files"])
        before = run.entry_of(prior, key, P.PART)
        if before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(key, P.PART, "unchanged", before.dest_id)
            return
        if row["message_type"] == "note" and not self.dest.options.private_notes_available:
            reason = ("the workspace's plan has no private notes (config private_notes_available: false): this "
                      "internal note is held, never sent as a reply")
            run.flag(key, "private_notes_unavailable", reason, "message_type", "error")
            run.hold(key, P.PART, reason, "PRIVATE_NOTES_UNAVAILABLE")
            _hold_files(run, row, reason)
            return
        payload: dict[str, Any] = {"message_type": row["message_type"], "body": row["body"],
                                   "skip_notifications": True}
        if row.get("created_at") is not None:
            payload["created_at"] = row["created_at"]
        files = list(row.get("_files") or [])
        on_note: list[dict[str, Any]] = []
        if row["_author_kind"] == "contact":
            contact_id = people.get(row.get("_author") or "")
            ticket_contact = self.ticket_contact()
            if contact_id is None or (ticket_contact is not None and contact_id != ticket_contact):
                why = "has no Intercom contact" if contact_id is None else \
                    "is not the ticket's contact (Intercom takes replies on a ticket from its contact only)"
                contact_id = ticket_contact
                run.flag(key, "author_fallback", f"the customer who wrote it ({row.get('_author') or 'unknown'}) "
                         f"{why}: sent as the ticket's contact", "intercom_user_id")
            payload.update(type="user", intercom_user_id=contact_id)
            on_note = files  # a contact reply on a ticket takes image URLs only, never files
            files = []
        else:
            admin_id = agents.get(row.get("_author") or "")
            if admin_id is None:
                admin_id = self.dest.default_admin_id()
                who = row.get("_author_name") or row.get("_author") or "the helpdesk"
                run.flag(key, "author_fallback", f"written by {who}, who has no Intercom admin: sent as the default "
                         "admin, the original author named in the body", "admin_id")
                payload["body"] = f"<p><em>Originally written by {_esc(who)}</em></p>{payload['body']}"
            payload.update(type="admin", admin_id=admin_id)
            if len(files) > MAX_FILES_PER_PART:
                on_note, files = files[MAX_FILES_PER_PART:], files[:MAX_FILES_PER_PART]
            if files:
                payload["attachment_files"] = [self._file(f) for f in files]
        try:
            part_id, created = self.send(key, payload, before)
        except Rejected as exc:
            run.reject(key, P.PART, exc)
            _hold_files(run, row, f"its message was refused by Intercom: {exc}")
            return
        except AuthFailed as exc:
            if exc.status != 403 or payload["message_type"] != "note":
                raise
            # the workspace's plan has no private notes: the note waits for a person, never goes out as a reply
            reason = ("the workspace refuses private notes (its plan has none): this internal note is held, never "
                      "sent as a reply")
            run.flag(key, "private_notes_unavailable", reason, "message_type", "error")
            run.hold(key, P.PART, reason, "PRIVATE_NOTES_UNAVAILABLE")
            _hold_files(run, row, reason)
            return
        for f in files:  # written with the next part's pending marker (or at the chunk's end): one transaction
            run.put_later(f["key"], P.PART_ATTACHMENT, State.LOADED, Origin.CREATED, part_id)
        for held in row.get("_held_files") or []:
            run.put_later(held["key"], P.PART_ATTACHMENT, State.HELD, Origin.CREATED, reason=held["reason"])
        if on_note:
            self._files_note(key, row, on_note, run.entry_of(prior, f"{key}#files", P.FILES_NOTE))
        run.outcome(key, P.PART, "created" if created else "updated", part_id)
        run.put_later(key, P.PART, State.LOADED, Origin.CREATED, part_id, row=row)

    def _files_note(self, key: str, row: dict[str, Any], files: list[dict[str, Any]],
                    before: Optional[CrosswalkEntry]) -> None:
        """Files a part cannot carry (a customer's reply; more than 10) go on an internal note right after it."""
        run = self.run
        names = ", ".join(_esc(f["name"]) for f in files)
        for i in range(0, len(files), MAX_FILES_PER_PART):
            batch = files[i:i + MAX_FILES_PER_PART]
            note_key = f"{key}#files" if i == 0 else f"{key}#files{i // MAX_FILES_PER_PART}"
            payload = {"message_type": "note", "type": "admin", "admin_id": self.dest.default_admin_id(),
                       "body": f"<p>Files attached to the message above in the original conversation: {names}</p>",
                       "attachment_files": [self._file(f) for f in batch], "skip_notifications": True}
            if row.get("created_at") is not None:
                payload["created_at"] = row["created_at"]
            prior = before if i == 0 else run.entry_of(run.existing([note_key]), note_key, P.FILES_NOTE)
            if prior is not None and prior.state == State.LOADED and prior.dest_id:
                note_id = prior.dest_id
            elif not self.dest.options.private_notes_available:  # no note can carry them: held, not sent
                reason = ("the internal note that would carry it cannot be written: the workspace's plan has no "
                          "private notes (config private_notes_available: false)")
                for f in batch:
                    run.put(f["key"], P.PART_ATTACHMENT, State.HELD, Origin.CREATED, reason=reason)
                run.put(note_key, P.FILES_NOTE, State.HELD, Origin.CREATED, reason=reason)
                continue
            else:
                try:
                    note_id, _ = self.send(note_key, payload, prior)
                except (Rejected, AuthFailed) as exc:
                    if isinstance(exc, AuthFailed) and exc.status != 403:
                        raise
                    state = State.HELD if isinstance(exc, AuthFailed) else State.REJECTED
                    for f in batch:
                        run.put(f["key"], P.PART_ATTACHMENT, state, Origin.CREATED,
                                reason=f"the internal note that would carry it was refused: {exc}")
                    run.put(note_key, P.FILES_NOTE, state, Origin.CREATED, reason=str(exc))
                    continue
                run.put(note_key, P.FILES_NOTE, State.LOADED, Origin.CREATED, note_id)
            for f in batch:
                run.put(f["key"], P.PART_ATTACHMENT, State.LOADED, Origin.CREATED, note_id)
            run.flag(key, "attachment_on_note", f"{len(batch)} file(s) could not go on the part itself (a contact "
                     "reply on a ticket takes no files, or more than 10): put on an internal note right after it",
                     "attachment_files")

    def _file(self, f: dict[str, Any]) -> dict[str, Any]:
        data = self.dest.blob(f["blob"])
        return {"name": f["name"], "content_type": f["content_type"], "data": base64.b64encode(data).decode()}


def _hold_files(run: Run, row: dict[str, Any], reason: str) -> None:
    for f in [*(row.get("_files") or []), *(row.get("_held_files") or [])]:
        run.put(f["key"], P.PART_ATTACHMENT, State.HELD, Origin.CREATED, reason=f.get("reason") or reason)


def _esc(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


# -- attachments: accounted for (sent with their part), or put on a note of their ticket ----------------------------
def load_attachments(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    entries = run.state_of((r["_source_key"] for r in rows), P.PART_ATTACHMENT)
    tickets = run.resolve({r["_ticket"] for r in rows if r.get("_ticket")}, P.TICKET)
    for row in rows:
        key = row["_source_key"]
        e = entries.get(key)
        # the parts phase wrote what happened to the file; recorded again under this phase, which accounts for it
        if e is not None and e.state == State.LOADED:
            if e.phase != P.ATTACHMENTS:
                run.put(key, P.PART_ATTACHMENT, State.LOADED, Origin.CREATED, e.dest_id)
            run.outcome(key, P.PART_ATTACHMENT, "created", e.dest_id, message="sent with its part")
            continue
        if e is not None and e.state in (State.HELD, State.REJECTED):
            if e.phase != P.ATTACHMENTS:
                run.put(key, P.PART_ATTACHMENT, e.state, Origin.CREATED, reason=e.reason)
            run.outcome(key, P.PART_ATTACHMENT, e.state.value if e.state == State.HELD else "rejected", None,
                        "FILE_NOT_SENT", e.reason)
            run.flag(key, "file_held", e.reason or "not sent", "attachment_files")
            continue
        if row.get("_hold"):
            run.hold(key, P.PART_ATTACHMENT, row["_hold"], "FILE_HELD")
            continue
        ticket_id = tickets.get(row.get("_ticket") or "")
        if ticket_id is None:
            run.hold(key, P.PART_ATTACHMENT, f"neither its message nor its ticket {row.get('_ticket')} carries it "
                     "(not loaded)", "TICKET_NOT_LOADED")
            continue
        # its message did not list it (or was loaded before this file was staged): a note on the ticket carries it
        sender = _PartSender(dest, run, ticket_id, [key])
        name = row.get("_name") or key
        payload = {"message_type": "note", "type": "admin", "admin_id": dest.default_admin_id(),
                   "body": f"<p>File from the original conversation: {_esc(name)}</p>",
                   "attachment_files": [sender._file({"name": name, "blob": row["_blob"],
                                                      "content_type": row.get("_content_type")
                                                      or "application/octet-stream"})],
                   "skip_notifications": True}
        try:
            note_id, _ = sender.send(f"{key}#note", payload, run.entry_of(run.existing([f"{key}#note"]),
                                                                          f"{key}#note", P.FILES_NOTE))
        except Rejected as exc:
            run.reject(key, P.PART_ATTACHMENT, exc)
            continue
        except AuthFailed as exc:
            if exc.status != 403:
                raise
            run.hold(key, P.PART_ATTACHMENT, f"the internal note that would carry it was refused: {exc}",
                     "PRIVATE_NOTES_UNAVAILABLE")
            continue
        run.put(f"{key}#note", P.FILES_NOTE, State.LOADED, Origin.CREATED, note_id)
        run.flag(key, "attachment_on_note", "its message did not carry it: put on an internal note of its ticket",
                 "attachment_files")
        run.outcome(key, P.PART_ATTACHMENT, "created", note_id)
        run.put(key, P.PART_ATTACHMENT, State.LOADED, Origin.CREATED, note_id)


# -- ticket states, once the parts are in ---------------------------------------------------------------------------
def load_ticket_states(dest: IntercomDestination, run: Run, rows: list[dict[str, Any]]) -> None:
    tickets = run.state_of((r["_source_key"] for r in rows), P.TICKET)
    prior = run.state_of((r["_source_key"] for r in rows), P.TICKET_STATE)
    for row in rows:
        key, category = row["_source_key"], row.get("_state") or "submitted"
        t = tickets.get(key)
        if t is None or t.state != State.LOADED or not t.dest_id:
            reason = f"the ticket was not loaded ({t.state.value if t else 'no entry'}): no state to set"
            run.outcome(key, P.TICKET_STATE, "skipped", None, "TICKET_NOT_LOADED", reason)
            run.put(key, P.TICKET_STATE, State.SKIPPED, Origin.CREATED, reason=reason)
            continue
        before = prior.get(key)
        if _unchanged(before, row):
            run.outcome(key, P.TICKET_STATE, "unchanged", t.dest_id)
            continue
        state_id = dest.state_id(category)
        if category != "submitted":
            if state_id is None:
                reason = f"the ticket type has no {category!r} state: left in its first state"
                run.flag(key, "state_not_set", reason, "ticket_state_id")
            else:
                body: dict[str, Any] = {"ticket_state_id": state_id, "skip_notifications": True}
                if category == "resolved":
                    body["open"] = False
                try:
                    dest.api.update_ticket(t.dest_id, body)
                except Rejected as exc:
                    run.reject(key, P.TICKET_STATE, exc, t.dest_id)
                    continue
        run.outcome(key, P.TICKET_STATE, "updated", t.dest_id)
        run.put(key, P.TICKET_STATE, State.LOADED, Origin.CREATED, t.dest_id, row=row)


def _unchanged(before: Optional[CrosswalkEntry], row: dict[str, Any]) -> bool:
    return before is not None and before.state == State.LOADED and bool(before.dest_id) and \
        before.content_hash == content_hash(payload_of(row))


LOADERS: dict[str, Callable[[Any, Run, list[dict[str, Any]]], None]] = {
    P.ADMINS: load_admins, P.TEAMS: load_teams, P.COMPANIES: load_companies, P.CONTACTS: load_contacts,
    P.TICKETS: load_tickets, P.PARTS: load_parts, P.ATTACHMENTS: load_attachments,
    P.TICKET_STATES: load_ticket_states,
}

__all__ = ["LOADERS", "LEGACY_ATTRIBUTE", "legacy_id"]
