"""osTicket's install-time data (what the web installer writes after the schema), as plain Python data.

Facts come from /work/shared/reference/notes/osticket.md (§0 config keys and signatures, §2.5 event names, §4.1 form
types, field names and flags, §7 statuses and priorities). Values the notes do not give (colours, composed field flags
other than subject/priority, descriptions) are plausible choices made here and marked so.
"""

from __future__ import annotations

import hashlib
import json

INSTALL_TIME = "2015-01-05 09:00:00"  # fixed so that generated databases are identical per seed

# Only the first 8 hex digits of each signature are documented (notes §0). The rest is a deterministic filler
# (md5 of the prefix) so the column holds a 32-char MD5-shaped value; match signatures by their 8-char prefix.
SIGNATURE_PREFIX = {"1.18": "5fb92bef", "1.14": "4bd47d94", "legacy-1.9": "b26f29a6"}
VERSIONS = tuple(SIGNATURE_PREFIX)


def schema_signature(version: str) -> str:
    prefix = SIGNATURE_PREFIX[version]
    return prefix + hashlib.md5(prefix.encode()).hexdigest()[8:]


def config_rows(version: str, timezone: str) -> list[tuple[str, str, str]]:
    """(namespace, key, value) rows. The install SQL inserts 4 keys itself; these are the rest and the updates."""
    return [
        ("core", "schema_signature", schema_signature(version)),
        ("core", "db_timezone", timezone),
        ("core", "default_timezone", timezone),
        ("core", "default_priority_id", "2"),
        ("core", "default_ticket_status_id", "1"),
        ("core", "default_dept_id", "1"),
        ("core", "default_sla_id", "1"),
        ("core", "default_template_id", "1"),
        ("core", "default_storage_bk", "D"),
        ("core", "enable_richtext", "1"),
        ("core", "hide_staff_name", "0"),
        ("core", "helpdesk_url", "https://support.example.test/"),
        ("core", "helpdesk_title", "Example Support"),
        ("core", "admin_email", "admin@example.test"),
        ("core", "ticket_number_format", "######"),
        ("core", "ticket_sequence_id", "0"),
    ]


# ticket_status defaults (notes §7): id, name, state, mode, sort, properties
TICKET_STATUSES: list[tuple[int, str, str, int, int, dict[str, object]]] = [
    (1, "Open", "open", 3, 1, {"description": "Open tickets."}),
    (2, "Resolved", "closed", 1, 2, {"allowreopen": True, "reopenstatus": 0, "description": "Resolved tickets"}),
    (3, "Closed", "closed", 3, 3, {"allowreopen": True, "reopenstatus": 0, "description": "Closed tickets."}),
    (4, "Archived", "archived", 3, 4, {"description": "Tickets only administratively available"}),
    (5, "Deleted", "deleted", 3, 5, {"description": "Tickets queued for deletion."}),
]

# ticket_priority defaults (notes §7): id, key, label, colour (colour chosen here), urgency, public
TICKET_PRIORITIES = [
    (1, "low", "Low", "#DDFFDD", 4, 1),
    (2, "normal", "Normal", "#FFFFF0", 3, 1),
    (3, "high", "High", "#FEE7E7", 2, 1),
    (4, "emergency", "Emergency", "#FEE7E7", 1, 1),
]

# event names 1..21 (notes §2.5)
EVENT_NAMES = [
    "created", "closed", "reopened", "assigned", "released", "transferred", "referred", "overdue", "edited", "viewed",
    "error", "collab", "resent", "deleted", "merged", "unlinked", "linked", "login", "logout", "message", "note",
]
EVENT_ID = {name: index + 1 for index, name in enumerate(EVENT_NAMES)}

# form_field flag bits (notes §4.1)
FLAG_ENABLED = 0x1
FLAG_EXT_STORED = 0x2
FLAG_CLOSE_REQUIRED = 0x4
FLAG_CLIENT_VIEW = 0x100
FLAG_CLIENT_EDIT = 0x200
FLAG_CLIENT_REQUIRED = 0x400
FLAG_AGENT_VIEW = 0x1000
FLAG_AGENT_EDIT = 0x2000
FLAG_AGENT_REQUIRED = 0x4000
MASKS = 0x70030  # composed: cannot delete/rename/change (chosen here for core fields)

SUBJECT_FLAGS = 0x77731  # notes §4.1 (required for client and agent)
PRIORITY_FLAGS = 0x430B1  # notes §4.1 (agent-only, optional)
_BOTH_EDIT = FLAG_ENABLED | FLAG_CLIENT_VIEW | FLAG_CLIENT_EDIT | FLAG_AGENT_VIEW | FLAG_AGENT_EDIT
_BOTH_REQUIRED = _BOTH_EDIT | FLAG_CLIENT_REQUIRED | FLAG_AGENT_REQUIRED

# Core forms (ids as in osTicket's form.yaml order): id, type, title
FORM_USER, FORM_TICKET, FORM_COMPANY, FORM_ORG, FORM_TASK = 1, 2, 3, 4, 5
CORE_FORMS = [
    (FORM_USER, "U", "Contact Information"),
    (FORM_TICKET, "T", "Ticket Details"),
    (FORM_COMPANY, "C", "Company Information"),
    (FORM_ORG, "O", "Organization Information"),
    (FORM_TASK, "A", "Task Details"),
]


def _cfg(**values: object) -> str:
    return json.dumps(values)


# Core fields: (form_id, type, label, name, flags, configuration, sort)
CORE_FIELDS: list[tuple[int, str, str, str, int, str | None, int]] = [
    (FORM_USER, "text", "Email Address", "email", _BOTH_REQUIRED | FLAG_EXT_STORED | MASKS,
     _cfg(size=40, length=64, validator="email"), 1),
    (FORM_USER, "text", "Full Name", "name", _BOTH_REQUIRED | FLAG_EXT_STORED | MASKS, _cfg(size=40, length=64), 2),
    (FORM_USER, "phone", "Phone Number", "phone", _BOTH_EDIT, None, 3),
    (FORM_USER, "memo", "Internal Notes", "notes", FLAG_ENABLED | FLAG_AGENT_VIEW | FLAG_AGENT_EDIT,
     _cfg(rows=4, cols=40), 4),
    (FORM_TICKET, "text", "Issue Summary", "subject", SUBJECT_FLAGS, _cfg(size=40, length=50), 1),
    (FORM_TICKET, "thread", "Issue Details", "message", _BOTH_REQUIRED | FLAG_EXT_STORED | MASKS, None, 2),
    (FORM_TICKET, "priority", "Priority Level", "priority", PRIORITY_FLAGS, None, 3),
    (FORM_COMPANY, "text", "Company Name", "name", _BOTH_REQUIRED | MASKS, _cfg(size=40, length=64), 1),
    (FORM_ORG, "text", "Name", "name", _BOTH_REQUIRED | FLAG_EXT_STORED | MASKS, _cfg(size=40, length=64), 1),
    (FORM_ORG, "memo", "Address", "address", _BOTH_EDIT, _cfg(rows=2, cols=40), 2),
    (FORM_ORG, "phone", "Phone", "phone", _BOTH_EDIT, None, 3),
    (FORM_ORG, "text", "Website", "website", _BOTH_EDIT, _cfg(size=40, length=64), 4),
    (FORM_ORG, "memo", "Internal Notes", "notes", FLAG_ENABLED | FLAG_AGENT_VIEW | FLAG_AGENT_EDIT,
     _cfg(rows=4, cols=40), 5),
    (FORM_TASK, "text", "Title", "title", _BOTH_REQUIRED | MASKS, _cfg(size=40, length=50), 1),
    (FORM_TASK, "thread", "Description", "description", _BOTH_EDIT | FLAG_EXT_STORED | MASKS, None, 2),
]
