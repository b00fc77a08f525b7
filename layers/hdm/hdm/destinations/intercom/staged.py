"""What the transform reads from the stage besides its own chunk, once per process: display names of
referenced records (categories, SLA plans, queues, agents) and the attachments of every message (a message
chunk carries only attachment keys; the part that carries a file needs its name, type, size and bytes' key).
"""

from __future__ import annotations

import threading
from typing import Any, Optional

REFERENCE_TYPES = ("category", "sla_policy", "team", "agent")


def display_name(row: dict[str, Any]) -> Optional[str]:
    if row.get("_type") == "agent" or ("first_name" in row and "last_name" in row):
        name = " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p) or row.get("username") or ""
        return name or row.get("email") or None
    return row.get("name") or None


class StagedLookups:
    def __init__(self, stage: Any = None, names: Optional[dict[str, str]] = None,
                 attachments: Optional[dict[str, dict[str, Any]]] = None):
        self._stage = stage
        self._names: dict[str, str] = dict(names or {})
        self._attachments: dict[str, dict[str, Any]] = dict(attachments or {})
        self._names_loaded = stage is None
        self._files_loaded = stage is None
        self._lock = threading.Lock()

    def _rows(self, object_type: str):
        for skey in self._stage.list(f"extract/{object_type}/"):
            if skey.endswith(".jsonl.gz"):
                yield from self._stage.read_records(skey)

    def name(self, key: Optional[str]) -> Optional[str]:
        if not key:
            return None
        if key not in self._names and not self._names_loaded:
            with self._lock:
                if not self._names_loaded:
                    for object_type in REFERENCE_TYPES:
                        for row in self._rows(object_type):
                            ref = f"{row.get('_type', object_type)}:{row['provenance']['id']}"
                            found = display_name(row)
                            if found:
                                self._names.setdefault(ref, found)
                    self._names_loaded = True
        return self._names.get(key)

    def names_of(self, prefix: str) -> list[str]:
        self.name(f"{prefix}:__probe__")  # loads
        return list(dict.fromkeys(n for k, n in self._names.items() if k.startswith(prefix + ":") and n))

    def attachment(self, key: str) -> Optional[dict[str, Any]]:
        if key not in self._attachments and not self._files_loaded:
            with self._lock:
                if not self._files_loaded:
                    for row in self._rows("attachment"):
                        self._attachments.setdefault(f"attachment:{row['provenance']['id']}", {
                            "key": f"attachment:{row['provenance']['id']}", "file_name": row.get("file_name") or "",
                            "content_type": row.get("content_type"), "size": row.get("size"),
                            "blob": row.get("blob"), "sha256": row.get("sha256"), "inline": bool(row.get("inline")),
                            "visibility": row.get("visibility") or "public",
                            "flags": [f for f in row.get("flags") or [] if f.get("field") == "blob"],
                        })
                    self._files_loaded = True
        return self._attachments.get(key)
