"""A small osTicket-shaped canonical dataset that exercises every Salesforce load rule, and a driver that
runs the destination's phases the way the pipeline does (transform per chunk, then load in phase order)."""

from __future__ import annotations

from typing import Any

from hdm.crosswalk.base import Origin, State
from hdm.model import (
    Agent,
    Attachment,
    Contact,
    Message,
    MessageKind,
    Organization,
    Provenance,
    Team,
    Ticket,
    Visibility,
)

USERS = [
    {"Username": "ann@helpdesk.test.sf", "Email": "ann@helpdesk.test", "LastName": "Agent", "FirstName": "Ann",
     "Alias": "ann"},
    {"Username": "owner@helpdesk.test.sf", "Email": "owner@helpdesk.test", "LastName": "Owner", "Alias": "own"},
]


def prov(obj: str, i: int) -> Provenance:
    return Provenance("osticket", obj, str(i), "1.18")


def small_dataset(stage, tickets: int = 6) -> dict[str, list]:
    """Canonical records per object type; attachment bytes are put in ``stage``."""
    agents = [
        Agent(prov("staff", 1), first_name="Ann", last_name="Agent", email="ann@helpdesk.test", queue="team:1"),
        Agent(prov("staff", 2), first_name="Ghost", last_name="Agent", email="ghost@nowhere.test",
              queue="team:1"),
    ]
    teams = [Team(prov("department", 1), name="Support", members=["agent:1", "agent:2"])]
    orgs = [
        Organization(prov("organization", 1), name="Acme Corp", website="https://acme.test"),
        Organization(prov("organization", 2), name="ACME corp"),  # same name: merged
        Organization(prov("organization", 3), name="Globex", phone="+1 555 0100"),
    ]
    contacts = [
        Contact(prov("user", 1), name="Carol Customer", email="carol@acme.test", organization="organization:1"),
        Contact(prov("user", 2), name="Dave Doe", email="dave@acme.test", organization="organization:2"),
        Contact(prov("user", 3), name="Erin Orphan", email="erin@example.test"),  # no organisation
        Contact(prov("user", 4), name="Frank", email="frank@globex.test", organization="organization:3"),
    ]
    ticket_recs, messages, attachments = [], [], []
    for i in range(1, tickets + 1):
        assignee = "agent:2" if i == 2 else ("agent:1" if i % 2 else None)
        t = Ticket(prov("ticket", i), number=f"{100000 + i}", subject=f"Printer {i} on fire",
                   status=["Open", "Closed", "Archived"][i % 3], status_state=["open", "closed", "archived"][i % 3],
                   priority=["low", "normal", "high", "emergency"][i % 4], requester=f"contact:{(i % 4) + 1}",
                   organization=None, assignee=assignee, queue="team:1", category="category:1",
                   sla_policy="sla_policy:1", channel="email", created_at=f"2023-0{(i % 9) + 1}-1{i % 10}T08:00:00Z",
                   closed_at="2023-12-01T10:00:00Z" if i % 3 else None)
        if i == tickets:
            t.parent, t.relation = "ticket:1", "merged"
        ticket_recs.append(t)
        base = i * 100
        messages.append(Message(prov("thread_entry", base + 1), ticket=t.key, position=0, kind=MessageKind.CUSTOMER,
                                author_name="Carol Customer", author_email="carol@acme.test",
                                created_at="2023-01-01T08:00:00Z", body_html="<p>It is <b>on fire</b>.</p>"))
        messages.append(Message(prov("thread_entry", base + 2), ticket=t.key, position=1, kind=MessageKind.AGENT,
                                visibility=Visibility.INTERNAL, author_name="Ann Agent",
                                author_email="ann@helpdesk.test", created_at="2023-01-01T09:00:00Z",
                                body_html="<p>internal: customer is grumpy</p>"))
        messages.append(Message(prov("thread_entry", base + 3), ticket=t.key, position=2, kind=MessageKind.AGENT,
                                author_name="Ann Agent", created_at="2023-01-01T10:00:00Z",
                                body_format="text", body_text=("We are on it. " * 700).strip() if i == 1
                                else "We are on it."))
        key, sha, size = stage.put_blob([f"file of ticket {i}".encode()])
        attachments.append(Attachment(prov("attachment", base + 1), ticket=t.key, message=f"message:{base + 1}",
                                      file_name=f"log{i}.txt", size=size, sha256=sha, blob=key))
        attachments.append(Attachment(prov("attachment", base + 2), ticket=t.key, message=f"message:{base + 2}",
                                      file_name=f"notes{i}.txt", size=size, sha256=sha, blob=key,
                                      visibility=Visibility.INTERNAL))
    attachments.append(Attachment(prov("attachment", 9999), ticket="ticket:1", message="message:101",
                                  file_name="setup.exe", size=10, blob=None))
    return {"agent": agents, "team": teams, "organization": orgs, "contact": contacts, "ticket": ticket_recs,
            "message": messages, "attachment": attachments}


def transform_all(dest, data: dict[str, list], chunk_rows: int = 10_000) -> dict[str, list[list[dict[str, Any]]]]:
    """Rows per phase, as chunks (one extract chunk of ``chunk_rows`` records → one transformed chunk)."""
    out: dict[str, list[list[dict[str, Any]]]] = {}
    for object_type, records in data.items():
        for i in range(0, len(records), chunk_rows):
            for phase, rows in dest.transform(object_type, records[i: i + chunk_rows]).items():
                if phase != "_skipped":
                    out.setdefault(phase, []).append(rows)
    return out


def load_all(dest, chunks: dict[str, list[list[dict[str, Any]]]], crosswalk, migration_id: str, run_id: str,
             phases: list[str] | None = None, chunk_attempts: int = 1) -> list:
    """Load every chunk in phase order. ``chunk_attempts`` > 1: a chunk that failed on an HTTP error (an insert
    whose fate is unknown is not retried inside the call) is run again, as the pipeline re-runs a failed chunk."""
    import requests
    from simple_salesforce.exceptions import SalesforceError

    results = []
    for phase in dest.phases():
        if phases and phase.name not in phases:
            continue
        for n, rows in enumerate(chunks.get(phase.name, [])):
            for attempt in range(1, chunk_attempts + 1):
                # the pipeline reads rows fresh from the stage for every attempt
                fresh = [dict(r, _lookups=dict(r.get("_lookups") or {})) for r in rows]
                try:
                    results.append(dest.load_chunk(phase.name, f"{phase.name}-{n}", fresh, crosswalk, migration_id,
                                                   run_id))
                    break
                except (requests.RequestException, SalesforceError):
                    if attempt == chunk_attempts:
                        raise
    return results


def rollback_all(dest, crosswalk, migration_id: str, run_id: str) -> int:
    n = 0
    for phase in reversed(dest.phases()):
        entries = [e for e in crosswalk.iter_migration(migration_id, phase=phase.name)  # as steps.rollback_phase
                   if e.origin == Origin.CREATED
                   and (e.state == State.PENDING or (e.dest_id and e.state == State.LOADED))]
        if not entries:
            continue
        done = dest.rollback(entries)
        for e in done:
            e.state = State.ROLLED_BACK
            e.run_id = run_id
        crosswalk.put_many(done)
        n += len(done)
    return n
