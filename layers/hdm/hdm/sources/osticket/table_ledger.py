"""Where the rows of every osTicket table go: the table half of the source ledger.

``TABLES`` names every table the extractor reads, with what its rows become in the canonical model (``becomes``:
a canonical object type, or ``<type>.<field>`` when the rows are folded into a record of another type, or None
when the table is only looked up) and in plain words what happens to them. Tables of the install that the
extractor does not read are listed by :func:`table_ledger` as "not read". The destination says what each
canonical target becomes on its side (``ledger_targets()``); the final report joins the two with the row counts.
"""

from __future__ import annotations

from typing import Any, Optional

# table -> (becomes, what happens to its rows)
TABLES: dict[str, tuple[Optional[str], str]] = {
    # tickets and their conversation
    "ticket": ("ticket", "one ticket record per row; merged and linked children keep their parent (ticket_pid)"),
    "ticket__cdata": ("ticket", "subject/priority fallback when a ticket has no form answer (flagged from_cdata)"),
    "thread": (None, "looked up: which ticket or task owns entries, events and collaborators ('T', 'C', 'A')"),
    "thread_entry": ("message", "one message per visible entry; superseded edits (flag 0x4) left at source, "
                                "counted"),
    "ticket_thread": ("message", "1.7-1.9 entries: one message per row"),
    "thread_entry_merge": ("message", "merge provenance of entries moved in from a merged child (merged_from)"),
    "thread_event": ("event", "one event per row (type, time, actor, details, annulled)"),
    "ticket_event": ("event", "pre-1.10 events: one event per row"),
    "event": (None, "looked up: the names of event types"),
    "thread_collaborator": ("ticket.collaborators", "one collaborator link per row (role, active, CC); rows of "
                                                    "deleted users flagged dangling_fk"),
    "ticket_collaborator": ("ticket.collaborators", "1.9 collaborators: one link per row"),
    "task": ("ticket", "tasks of tickets become ticket records of kind task under their ticket; tasks of no "
                       "ticket are counted in the discovery report (unlinked_tasks)"),
    "attachment": ("attachment", "one attachment per link of a visible entry; inline files that hold a body "
                                 "become that body (left at source, counted)"),
    "ticket_attachment": ("attachment", "pre-1.10 attachment links"),
    "file": ("attachment", "file metadata of the attachments"),
    "file_chunk": ("attachment", "the bytes of database-stored files, staged by content hash"),
    # people
    "user": ("contact", "one contact per user"),
    "user_email": ("contact", "the primary and other addresses of each contact"),
    "user_account": ("contact", "portal account state of contacts"),
    "organization": ("organization", "one organisation per row"),
    "staff": ("agent", "one agent per row"),
    "staff_dept_access": ("agent", "the departments each agent may work in"),
    "department": ("team", "one team (kind department) per row; also an automation rule (routing, inventory)"),
    "team": ("team", "one team (kind team) per row"),
    "team_member": ("team", "members of teams"),
    # custom data and configuration
    "form": ("custom_field", "forms the custom fields belong to"),
    "form_field": ("custom_field", "one custom-field definition per data field (layout-only fields left out)"),
    "form_entry": ("ticket.custom", "which form answers belong to which ticket, task, user or organisation"),
    "form_entry_values": ("ticket.custom", "the custom values of tickets, tasks, contacts and organisations"),
    "list_items": ("custom_field", "the choices of list fields"),
    "help_topic": ("help_topic", "one help topic per row; also an automation rule (routing, inventory)"),
    "sla": ("sla_policy", "one SLA policy per row; also an automation rule (inventory)"),
    "schedule": ("sla_policy", "business-hours names of SLA policies"),
    "ticket_status": ("status", "one status per row (looked up for tickets)"),
    "ticket_priority": ("priority", "one priority per row (looked up for tickets)"),
    "canned_response": ("response_template", "one response template per row (inventory only)"),
    "email_template": ("response_template", "one response template per row (inventory only)"),
    "email_template_group": ("response_template", "template groups (inventory only)"),
    "filter": ("automation_rule", "one automation rule per filter (inventory only)"),
    "filter_rule": ("automation_rule", "the rules of each filter"),
    "filter_action": ("automation_rule", "the actions of each filter"),
    "faq_category": ("kb_category", "one knowledge-base category per row"),
    "faq": ("kb_article", "one knowledge-base article per row"),
    "config": (None, "looked up: schema signature, time zone, default priority, storage backend"),
}


# tables the extractor does not read, and why their rows stay behind (anything else: a system table)
NOT_READ: dict[str, str] = {
    "thread_entry_email": "not read: Message-ID and raw mail headers of e-mailed entries are not migrated",
    "thread_referral": "not read: referrals of a thread to other agents, teams or departments are not migrated",
    "user__cdata": "not read: a cache of form answers; the answers are read from form_entry_values",
    "organization__cdata": "not read: a cache of form answers; the answers are read from form_entry_values",
    "task__cdata": "not read: a cache of form answers; the answers are read from form_entry_values",
    "help_topic_form": "not read: which forms a help topic shows (configuration)",
    "note": "not read: internal quick notes on users and organisations are not migrated",
    "list": "not read: list names; the list items are read with the fields that use them",
    "queue": "not read: saved searches and queues of the agent panel (configuration)",
    "role": "not read: agent permission roles (configuration)",
    "content": "not read: site pages and message templates (configuration)",
    "email": "not read: system mailboxes (configuration)",
    "email_account": "not read: mailbox accounts (configuration, credentials)",
}


def table_ledger(table_counts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Every table of the install: its row count, what it becomes, what happens to its rows."""
    out: dict[str, dict[str, Any]] = {}
    for table in sorted(table_counts):
        becomes, fate = TABLES.get(table, (None, None))
        out[table] = {"rows": table_counts[table], "read": table in TABLES, "becomes": becomes,
                      "fate": fate or NOT_READ.get(table) or "not read by the extractor: nothing in it is "
                                                              "migrated (system, configuration or runtime table)"}
    return out
