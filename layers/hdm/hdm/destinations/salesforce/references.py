"""Display names of referenced records (help topics, SLA plans, departments, agents) for Case fields.

A ticket chunk carries only keys ("help_topic:3"). The names come from the option
``reference_names`` or, when a stage is given, from the staged extract chunks of those object types
(``extract/<type>/*.jsonl.gz``), read once per process.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

REFERENCE_TYPES = ("help_topic", "sla_policy", "team", "agent")


class ReferenceNames:
    def __init__(self, names: Optional[dict[str, str]] = None, stage: Any = None):
        self._names = dict(names or {})
        self._stage = stage
        self._loaded = stage is None
        self._lock = threading.Lock()

    def add(self, key: str, name: str) -> None:
        self._names[key] = name

    def _load_from_stage(self) -> None:
        with self._lock:
            if self._loaded:
                return
            for object_type in REFERENCE_TYPES:
                for skey in self._stage.list(f"extract/{object_type}/"):
                    if not skey.endswith(".jsonl.gz"):
                        continue
                    for row in self._stage.read_records(skey):
                        name = display_name(row)
                        ref = f"{row.get('_type', object_type)}:{row['provenance']['id']}"
                        if name and ref not in self._names:
                            self._names[ref] = name
            self._loaded = True

    def get(self, key: Optional[str]) -> Optional[str]:
        if not key:
            return None
        if key not in self._names and not self._loaded:
            self._load_from_stage()
        return self._names.get(key)


def display_name(row: dict[str, Any]) -> Optional[str]:
    """The name a person knows a referenced record by (agents: "First Last <email>")."""
    if row.get("_type") == "agent" or ("first_name" in row and "last_name" in row):
        name = " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p) or row.get("username") or ""
        email = row.get("email")
        return f"{name} <{email}>" if email else (name or None)
    return row.get("name") or None
