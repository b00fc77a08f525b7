"""osTicket's bit flags, decoded by name (values from osTicket's own class constants, see notes §2.1, §4.1, §6)."""

from __future__ import annotations

import enum


class EntryFlag(enum.IntFlag):
    """``thread_entry.flags``."""

    ORIGINAL_MESSAGE = 0x001
    EDITED = 0x002
    HIDDEN = 0x004  # superseded version of an edited entry: osTicket itself never shows it
    GUARDED = 0x008
    RESENT = 0x010
    COLLABORATOR = 0x020
    BALANCED = 0x040
    SYSTEM = 0x080
    REPLY_ALL = 0x100
    REPLY_USER = 0x200
    CHILD = 0x400  # moved in from a merged child ticket (1.14+)


class FieldFlag(enum.IntFlag):
    """``form_field.flags`` (1.10+)."""

    ENABLED = 0x00001
    EXT_STORED = 0x00002
    CLOSE_REQUIRED = 0x00004
    CLIENT_VIEW = 0x00100
    CLIENT_EDIT = 0x00200
    CLIENT_REQUIRED = 0x00400
    AGENT_VIEW = 0x01000
    AGENT_EDIT = 0x02000
    AGENT_REQUIRED = 0x04000


class TicketFlag(enum.IntFlag):
    """``ticket.flags`` (merge and link, 1.14+)."""

    COMBINE = 0x01
    SEPARATE = 0x02
    LINKED = 0x08
    PARENT = 0x10


class DeptFlag(enum.IntFlag):
    ASSIGN_MEMBERS_ONLY = 0x01
    DISABLE_AUTO_CLAIM = 0x02
    ACTIVE = 0x04
    ARCHIVED = 0x08
    ASSIGN_PRIMARY_ONLY = 0x10
    DISABLE_REOPEN_AUTO_ASSIGN = 0x20


class TopicFlag(enum.IntFlag):
    CUSTOM_NUMBERS = 0x1
    ACTIVE = 0x2
    ARCHIVED = 0x4


class SlaFlag(enum.IntFlag):
    ACTIVE = 0x1
    ESCALATE = 0x2
    NO_ALERTS = 0x4
    TRANSIENT = 0x8


class TeamFlag(enum.IntFlag):
    ENABLED = 0x1
    NO_ALERTS = 0x2


class FormFlag(enum.IntFlag):
    DELETABLE = 0x1
    DELETED = 0x2


class UserStatus(enum.IntFlag):
    PRIMARY_ORG_CONTACT = 0x1


class CollaboratorFlag(enum.IntFlag):
    """``thread_collaborator.flags`` (1.11+; before that ``isactive``), osTicket's ``Collaborator`` constants."""

    ACTIVE = 0x1  # still copied on the thread
    CC = 0x2  # added as a CC (not only as a participant)


class TaskFlag(enum.IntFlag):
    OPEN = 0x1
    OVERDUE = 0x2


def has(value: int | None, flag: int) -> bool:
    return bool((value or 0) & flag)


def names(value: int | None, flag_type: type[enum.IntFlag]) -> list[str]:
    """The names of the bits set in ``value`` (unknown bits are reported as hex)."""
    v = int(value or 0)
    out = [m.name.lower() for m in flag_type if m.value & v and m.name]
    unknown = v & ~sum(m.value for m in flag_type)
    if unknown:
        out.append(hex(unknown))
    return out
