"""Which source custom fields become Salesforce custom fields: the plan prepare creates and the transform writes.

The source lists a form field once per form it sits on, so the same name can come several times (osTicket
has two organisation forms that both carry ``name``). A field becomes a custom field only when:
- its owner has a custom field target in the mapping and the mapping does not skip it;
- it is enabled and holds data (presentation-only types - section breaks, information text, the thread
  box - and disabled fields are not created);
- its value is not already carried by a standard field the mapping fills (``name``, ``email``,
  ``subject``, ``priority`` …) or by a field the mapping prepares itself.
Definitions repeated across forms are merged by (destination object, API name): picklist values are joined;
different types become one text field able to hold every value, reported as a conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from hdm.destinations.salesforce.fields import FieldDef
from hdm.mapping.model import Mapping
from hdm.model import CustomFieldDef, decode_records

PRESENTATION_TYPES = frozenset({"break", "info", "thread", "section", "sectionbreak", "html"})
TEXT_FALLBACK = {"type": "Text", "length": 255}
LONG_TEXT_FALLBACK = {"type": "LongTextArea", "length": 32768, "visible_lines": 5}


@dataclass(frozen=True)
class Exclusion:
    code: str  # not_mapped | disabled | presentation | standard_field | prepared_field
    reason: str

    @property
    def loses_data(self) -> bool:
        """A value of such a field goes nowhere (versus: it is carried by a standard field)."""
        return self.code in ("not_mapped", "disabled", "presentation")


@dataclass
class CustomFieldPlan:
    fields: list[FieldDef] = field(default_factory=list)
    api_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (owner, source name) -> API name
    excluded: dict[tuple[str, str], Exclusion] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def api_name(self, owner: str, name: str) -> Optional[str]:
        return self.api_names.get((owner, name))

    def report(self) -> dict[str, Any]:
        return {
            "custom_fields": [f"{f.object}.{f.name}" for f in self.fields],
            "not_created": [{"field": f"{o}.{n}", "code": e.code, "reason": e.reason}
                            for (o, n), e in sorted(self.excluded.items())],
            "conflicts": self.conflicts,
        }


def _is_presentation(d: CustomFieldDef) -> bool:
    return str(d.type).lower() in PRESENTATION_TYPES or str(d.source_type or "").lower() in PRESENTATION_TYPES


def _standard_targets(mapping: Mapping, owner: str) -> dict[str, str]:
    """Canonical field -> the destination field the mapping fills from it, for one owner object."""
    om = mapping.objects.get(owner)
    out: dict[str, list[str]] = {}
    for fm in om.fields if om else ():
        for s in fm.sources:
            out.setdefault(s, []).append(fm.to)
    return {s: ", ".join(dict.fromkeys(targets)) for s, targets in out.items()}


def _exclusion(mapping: Mapping, group: list[CustomFieldDef], prepared: set[tuple[str, str]]
               ) -> tuple[Optional[Exclusion], list[CustomFieldDef]]:
    """Why a group of same-named definitions is not created (or None), and its definitions that count."""
    first = group[0]
    owner, name = first.target, first.name
    api = mapping.custom_field_name(owner, name)
    if api is None:
        return Exclusion("not_mapped", f"{owner} custom fields have no destination in the mapping (or the mapping "
                                       "skips this one)"), []
    standard = _standard_targets(mapping, owner).get(name)
    if standard:
        return Exclusion("standard_field", f"carried by the standard field(s) {standard}"), []
    if any(f.code == "core_field" for d in group for f in d.flags):
        return Exclusion("standard_field", "a core source field, carried by a standard field"), []
    if (mapping.custom_targets[owner], api) in prepared:
        return Exclusion("prepared_field", f"{api} is a field the mapping prepares itself"), []
    live = [d for d in group if d.enabled and not _is_presentation(d)]
    if not live:
        if all(_is_presentation(d) for d in group):
            return Exclusion("presentation", "presentation only (section break, information text or thread "
                                             "box): holds no data"), []
        return Exclusion("disabled", "disabled in the source: not created, its values are not migrated"), []
    return None, live


def plan_custom_fields(mapping: Mapping, defs: Iterable[CustomFieldDef]) -> CustomFieldPlan:
    plan = CustomFieldPlan()
    prepared = {(f.object, f.name) for f in mapping.schema_fields}
    groups: dict[tuple[str, str], list[CustomFieldDef]] = {}
    for d in defs:
        groups.setdefault((d.target, d.name), []).append(d)
    by_api: dict[tuple[str, str], FieldDef] = {}
    sources_of: dict[tuple[str, str], list[str]] = {}
    for (owner, name), group in groups.items():
        why, live = _exclusion(mapping, group, prepared)
        if why is not None:
            plan.excluded[(owner, name)] = why
            continue
        for d in live:
            fd = mapping.custom_field_def(d.target, d.name, d.type, d.label, d.choices)
            if fd is None:
                continue
            key = (fd.object, fd.name)
            plan.api_names[(owner, name)] = fd.name
            where = f"{d.form or '(no form)'}: {d.type}"
            if key not in by_api:
                by_api[key] = fd
                sources_of[key] = [where]
                continue
            sources_of[key].append(where)
            by_api[key] = _merge(by_api[key], fd, plan, sources_of[key])
    plan.fields = list(by_api.values())
    return plan


def _merge(kept: FieldDef, other: FieldDef, plan: CustomFieldPlan, sources: list[str]) -> FieldDef:
    if kept.type == other.type:
        values = tuple(dict.fromkeys([*kept.picklist_values, *other.picklist_values]))
        return replace(kept, picklist_values=values, length=max(kept.length or 0, other.length or 0) or None)
    long_text = "LongTextArea" in (kept.type, other.type)
    wide = LONG_TEXT_FALLBACK if long_text else TEXT_FALLBACK
    merged = replace(kept, type=wide["type"], length=wide["length"], visible_lines=wide.get("visible_lines"),
                     precision=None, scale=None, picklist_values=())
    existing = next((c for c in plan.conflicts if c["field"] == f"{kept.object}.{kept.name}"), None)
    if existing is None:
        plan.conflicts.append({"field": f"{kept.object}.{kept.name}", "definitions": sources,
                               "created_as": merged.type, "why": "the same field name has different types on "
                               "different forms: created as text so every value fits"})
    else:
        existing["created_as"] = merged.type
    return merged


class CustomFieldCatalog:
    """The source's custom field definitions (given, or read once from the stage's extract chunks) and the
    plan made from them; shared by prepare and the transform of one process."""

    def __init__(self, mapping: Mapping, stage: Any = None, defs: Optional[list[CustomFieldDef]] = None):
        self.mapping = mapping
        self.stage = stage
        self._defs = defs
        self._plan: Optional[CustomFieldPlan] = None
        self._lock = threading.Lock()

    def defs(self) -> Optional[list[CustomFieldDef]]:
        """The definitions, or None when there is neither a list nor a stage to read them from."""
        if self._defs is None and self.stage is not None:
            keys = [k for k in self.stage.list("extract/custom_field/") if k.endswith(".jsonl.gz")]
            if not keys:  # the source extracts no field definitions: nothing to plan from
                return None
            found: list[CustomFieldDef] = []
            for key in keys:
                found.extend(r for r in decode_records(self.stage.read_lines(key))
                             if isinstance(r, CustomFieldDef))
            self._defs = found
        return self._defs

    def plan(self) -> Optional[CustomFieldPlan]:
        with self._lock:
            if self._plan is None:
                defs = self.defs()
                if defs is None:
                    return None
                self._plan = plan_custom_fields(self.mapping, defs)
            return self._plan
