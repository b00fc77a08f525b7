"""The Intercom load order: what each phase writes and which canonical records it is made from.

Intercom has no API to create admins or teams: agents are matched to admins by email and queues (osTicket
departments) to teams by name; both are never created. Companies come before contacts (a contact is attached
to its company), tickets after both, their conversation parts after the tickets (in thread order), each
attachment on its part, and the ticket's final state last (a reply must not reopen a closed ticket).
"""

from __future__ import annotations

from hdm.destinations.base import LoadPhase, PhaseGraph

ADMINS = "admins"  # agents -> existing admins, matched by email (never created)
TEAMS = "teams"  # queues (osTicket departments) -> existing teams, matched by name (never created)
COMPANIES = "companies"  # organisations -> companies (company_id = legacy id, remote_created_at)
CONTACTS = "contacts"  # users -> contacts (role user, external_id = legacy id, 409 = exists)
TICKETS = "tickets"  # tickets -> tickets of the migration's ticket type (+ category tag)
PARTS = "parts"  # thread entries -> ticket parts: contact replies, admin comments, internal notes as notes
ATTACHMENTS = "attachments"  # files: sent with their part; accounted here (a file its part could not carry
#                              goes on an internal note right after it, flagged)
TICKET_STATES = "ticket_states"  # the ticket's state, set once its parts are in

# an internal note hdm adds to carry files a part could not (a customer's reply takes no file; over 10 files)
FILES_NOTE = "files_note"
# the contact a ticket was created with (the only contact Intercom lets reply on it), kept beside the ticket
TICKET_CONTACT = "ticket_contact"

# the crosswalk object of each phase (its first dest object)
ADMIN, TEAM, COMPANY, CONTACT, TICKET, PART, PART_ATTACHMENT, TICKET_STATE = (
    "admin", "team", "company", "contact", "ticket", "ticket_part", "part_attachment", "ticket_state")

PHASES: tuple[LoadPhase, ...] = (
    LoadPhase(ADMINS, (ADMIN,), ("agent",), max_concurrency=1, verified=False, rolled_back=False),
    LoadPhase(TEAMS, (TEAM,), ("team",), max_concurrency=1, verified=False, rolled_back=False),
    LoadPhase(COMPANIES, (COMPANY,), ("organization",), max_concurrency=2),
    LoadPhase(CONTACTS, (CONTACT,), ("contact",), max_concurrency=2, after=(COMPANIES,)),
    LoadPhase(TICKETS, (TICKET,), ("ticket",), max_concurrency=2, after=(ADMINS, TEAMS, COMPANIES, CONTACTS)),
    # one chunk at a time: not every source keeps a ticket's messages in one chunk (the export bundle's file slices
    # split a thread across two), and two chunks at once interleave such a ticket's parts at random. This alone does
    # not order them (the plan lists chunks by name, not by thread position): a ticket split over chunks needs
    # ticket-scoped chunks from its source. The parallelism is within the chunk: whole tickets on TICKET_WORKERS.
    LoadPhase(PARTS, (PART,), ("message",), max_concurrency=1, after=(TICKETS, ADMINS, CONTACTS),
              rolled_back=False),  # Intercom deletes no part: they go with their ticket
    LoadPhase(ATTACHMENTS, (PART_ATTACHMENT,), ("attachment",), max_concurrency=2, after=(PARTS,),
              verified=False, rolled_back=False),
    LoadPhase(TICKET_STATES, (TICKET_STATE,), ("ticket",), max_concurrency=2, after=(PARTS, ATTACHMENTS),
              verified=False, rolled_back=False),
)

# Within one chunk, these phases send the rows of different tickets from this many threads at once (all rows of
# one ticket stay on one thread, in order: a ticket's parts are never sent out of order). A chunk holds up to
# ``chunk_rows`` tickets, so chunk-level concurrency alone leaves one or two workers for a whole run; one call
# takes a few milliseconds, and at 10,000 calls a minute (167/s) two sequential workers cannot keep up.
TICKET_WORKERS = 8
# the phases fanned out by ticket, and the row field naming each row's ticket
TICKET_SCOPED = {TICKETS: "_source_key", PARTS: "_ticket", TICKET_STATES: "_source_key"}

TRANSFORM_OUTPUTS = (ADMINS, TEAMS, COMPANIES, CONTACTS, TICKETS, PARTS, ATTACHMENTS, TICKET_STATES)

GRAPH = PhaseGraph(PHASES, outputs=TRANSFORM_OUTPUTS)
PHASE_BY_NAME = GRAPH.by_name
PRIMARY_OBJECT = {p.name: p.primary_object for p in PHASES}
