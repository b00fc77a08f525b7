"""Display names of referenced records (categories, SLA plans, queues, agents) for Case fields.

A ticket chunk carries only keys ("category:3"). The names come from the option
``reference_names`` or, when a stage is given, from the staged extract chunks of those object types
(``extract/<type>/*.jsonl.gz``), read once per process.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

REFERENCE_TYPES = ("category", "sla_policy", "team", "agent", "ticket_type", "brand", "kb_category", "tag")
PATH_MAX_DEPTH = 50  # a category chain longer than this (or a cycle) is cut
# picklist kinds (mapping ``picklist_from``) -> the key prefix of the records whose names are the values
LEGACY_CATEGORY_PREFIX = "help_topic:"  # the v1 key of a category in option reference_names
PICKLIST_KINDS = {"category": "category:", "sla_policy": "sla_policy:", "queue": "team:", "tag": "tag:"}


class ReferenceNames:
    def __init__(self, names: Optional[dict[str, str]] = None, stage: Any = None):
        self._names: dict[str, str] = {}
        for ref, name in (names or {}).items():  # a config written for model v1 named categories help topics
            if ref.startswith(LEGACY_CATEGORY_PREFIX):
                self._names.setdefault("category:" + ref.removeprefix(LEGACY_CATEGORY_PREFIX), name)
            self._names[ref] = name
        self._stage = stage
        self._loaded = stage is None
        self._lock = threading.Lock()
        self._not_queues: set[str] = set()  # team keys of groups (not queues)
        self._parents: dict[str, str] = {}  # hierarchical records (kb categories): key -> parent key
        self._article_files: dict[str, str] = {}  # attachment key -> the knowledge-base article it belongs to
        self._articles_loaded = stage is None

    def add_article_files(self, article: str, attachments: list[str]) -> None:
        for a in attachments:
            self._article_files.setdefault(a, article)

    def article_of(self, attachment: str) -> Optional[str]:
        """The knowledge-base article an attachment belongs to (from the staged articles), if any."""
        if attachment not in self._article_files and not self._articles_loaded:
            with self._lock:
                if not self._articles_loaded:
                    for skey in self._stage.list("extract/kb_article/"):
                        if skey.endswith(".jsonl.gz"):
                            for row in self._stage.read_records(skey):
                                ref = f"{row.get('_type', 'kb_article')}:{row['provenance']['id']}"
                                for a in row.get("attachments") or []:
                                    self._article_files.setdefault(a, ref)
                    self._articles_loaded = True
        return self._article_files.get(attachment)

    def add(self, key: str, name: str, parent: Optional[str] = None) -> None:
        self._names[key] = name
        if parent:
            self._parents[key] = parent

    def path(self, key: str) -> list[str]:
        """The names from the root down to ``key`` (a name that is not known reads as its key)."""
        if not self._loaded:
            self._load_from_stage()
        out: list[str] = []
        seen: set[str] = set()
        cur: Optional[str] = key
        while cur and cur not in seen and len(out) < PATH_MAX_DEPTH:
            seen.add(cur)
            out.append(self._names.get(cur) or cur)
            cur = self._parents.get(cur)
        return out[::-1]

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
                        if object_type == "team" and row.get("kind", "queue") != "queue":
                            self._not_queues.add(ref)
                        if name and ref not in self._names:
                            self._names[ref] = name
                        if object_type in ("kb_category", "category") and row.get("parent"):
                            self._parents.setdefault(ref, row["parent"])
            self._loaded = True

    def picklist_values(self, kind: str) -> list[str]:
        """The distinct names of one kind of referenced record (categories, SLA plans, queues), exactly as
        the source spells them, in source order."""
        prefix = PICKLIST_KINDS[kind]
        if not self._loaded:
            self._load_from_stage()
        names = (n for k, n in self._names.items() if k.startswith(prefix) and k not in self._not_queues)
        return list(dict.fromkeys(n for n in names if n))

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
