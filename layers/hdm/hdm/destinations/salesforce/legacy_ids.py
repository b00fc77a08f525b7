"""Legacy IDs: what ties a Salesforce record to its source record, namespaced per migration.

Two different migrations into one org (another osTicket instance, or a new migration id) must never upsert onto,
merge into or roll back each other's records. With a namespace (the migration id) the external ID becomes
``"<namespace>/<source key>"``; the crosswalk keeps the plain source key. The same namespace separates the
Account merge key and the DeveloperName of the Queues made from departments.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional

SEPARATOR = "/"


def legacy_id(namespace: Optional[str], source_key: str) -> str:
    """The value of ``hdm_Legacy_Id__c`` for a source key (the key itself without a namespace)."""
    return f"{namespace}{SEPARATOR}{source_key}" if namespace else source_key


def is_own_legacy_id(namespace: Optional[str], value: Optional[str]) -> bool:
    """Whether a legacy ID found in the org was written by this migration (not another one's, namespaced or not)."""
    if not value:
        return False
    if namespace:
        return value.startswith(f"{namespace}{SEPARATOR}")
    return SEPARATOR not in value


def namespaced_merge_key(namespace: Optional[str], key: str) -> str:
    """``hdm_Merge_Key__c`` (unique in the org, 255 characters): organisations merge within one migration only."""
    return (f"{namespace}{SEPARATOR}{key}" if namespace else key)[:255]


def queue_developer_name(namespace: Optional[str], department_id: str) -> str:
    """A Queue's DeveloperName (letters, digits and single underscores, 80 characters, starting with a letter)."""
    dept = _dev_safe(department_id)
    if not namespace:
        return f"hdm_dept_{dept}"[:80]
    readable = _dev_safe(namespace)[:24].strip("_")
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:8]  # keeps two namespaces apart once cut short
    return "_".join(p for p in ("hdm", readable, digest, "dept", dept) if p)[:80].rstrip("_")


def _dev_safe(text: str) -> str:
    return "_".join(p for p in re.split(r"[^A-Za-z0-9]+", str(text)) if p)[:60]
