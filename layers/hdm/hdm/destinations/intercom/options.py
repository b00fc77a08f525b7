"""The Intercom destination's options (from its config, plus what the pipeline gives: stage, namespace)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

MAX_FILES_PER_PART = 10  # attachment_files on a reply (spec: maxItems 10)


@dataclass
class IntercomOptions:
    stage: Any = None
    legacy_namespace: Optional[str] = None  # the migration id: another migration's records are never touched
    unmatched_agent_policy: str = "default_admin"  # or "block"
    default_admin_email: Optional[str] = None
    ticket_type_name: str = "Migrated ticket"
    max_attachment_bytes: int = 20 * 1024 * 1024
    verify_after_load: bool = True
    private_notes_available: bool = True  # the workspace's plan has private notes (config; no API tells)
    no_requester_contact: str = "placeholder"  # or "hold": a ticket without a requester (config no_requester_contact)
    names: dict[str, str] = field(default_factory=dict)  # reference names given directly (tests)

    @classmethod
    def from_any(cls, value: Any) -> IntercomOptions:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(value).items() if k in known})


# the source key of the one contact a migration makes for tickets without a requester (its external_id is the
# migration's legacy id of this key: found again by it on a re-run, and swept by rollback with the others)
PLACEHOLDER_CONTACT_KEY = "hdm:no-requester"
PLACEHOLDER_CONTACT_NAME = "No requester (migrated)"


def legacy_id(namespace: Optional[str], source_key: str) -> str:
    """The id a record carries in Intercom (company_id, contact external_id, the ticket's hdm legacy id
    attribute): the source key under the migration's namespace."""
    return f"hdm:{namespace}:{source_key}" if namespace else f"hdm:{source_key}"
