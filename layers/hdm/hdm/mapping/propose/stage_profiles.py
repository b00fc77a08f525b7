"""Field profiles from a migration's staged canonical records (``extract/<object>/`` chunks): works for every
source, since every source stages the same canonical model. A source's ``field_profiles`` capability, when it
offers one, takes precedence (it may see fields no record carries)."""

from __future__ import annotations

import enum
from collections import defaultdict
from typing import Any

from hdm.model import record_from_dict

OBJECTS = ("ticket", "contact", "organization")
REFERENCED = ("category", "queue", "sla_policy", "ticket_type", "brand")  # a key whose name is the value
CHOICES = {"status", "priority", "channel", "kind", "role", "lifecycle"}
SKIP = {"provenance", "flags", "extra", "external_ids", "custom", "collaborators", "collaborator_details", "tags",
        "organizations", "requester", "organization", "assignee", "assignee_group", "parent", "status_state",
        "priority_urgency", "message_count"}
MAX_VALUES = 5000  # per field: a bounded profile of a large source


def _type_of(name: str, values: list[Any]) -> str:
    present = [v for v in values if v not in (None, "")]
    if name in CHOICES or name in REFERENCED:
        return "choice"
    if name.endswith("_at"):
        return "datetime"
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "integer"
    if name == "email":
        return "email"
    if name == "phone":
        return "phone"
    return "memo" if any(len(str(v)) > 255 for v in present) else "text"


def profiles_from_stage(stage: Any, objects: tuple[str, ...] = OBJECTS) -> dict[str, Any]:
    names: dict[str, str] = {}  # record key -> its name (for referenced objects)
    defs: dict[tuple[str, str], dict[str, Any]] = {}
    for ref in (*REFERENCED, "custom_field"):
        for key in stage.list(f"extract/{ref}/"):
            for raw in stage.read_records(key):
                rec = record_from_dict(raw)
                if ref == "custom_field":
                    defs[(rec.target, rec.name)] = {"label": rec.label, "type": rec.type}
                else:
                    names[rec.key] = getattr(rec, "name", None) or rec.key
    out: dict[str, Any] = {}
    for obj in objects:
        values: dict[str, list[Any]] = defaultdict(list)
        custom: dict[str, list[Any]] = defaultdict(list)
        hints: dict[str, str] = {}
        for key in stage.list(f"extract/{obj}/"):
            for raw in stage.read_records(key):
                rec = record_from_dict(raw)
                for name in rec.__struct_fields__:
                    if name in SKIP or len(values[name]) >= MAX_VALUES:
                        continue
                    v = getattr(rec, name)
                    v = v.value if isinstance(v, enum.Enum) else v
                    if isinstance(v, (list, dict)):
                        continue
                    if name in REFERENCED and v is not None:
                        v = names.get(v, v)
                    values[name].append(v)
                state = getattr(rec, "status_state", None)
                if getattr(rec, "status", None) and state is not None:
                    hints[rec.status] = state.value if isinstance(state, enum.Enum) else str(state)
                for name, v in (getattr(rec, "custom", None) or {}).items():
                    if len(custom[name]) < MAX_VALUES:
                        custom[name].append(v if not isinstance(v, (list, dict)) else _joined(v))
        fields = []
        for name, vals in sorted(values.items()):
            entry = {"name": name, "label": name.replace("_", " "), "type": _type_of(name, vals), "custom": False,
                     "values": [v if v is None or isinstance(v, (str, int, float, bool)) else str(v) for v in vals]}
            if name == "status" and hints:
                entry["hints"] = dict(sorted(hints.items()))
            fields.append(entry)
        for name, vals in sorted(custom.items()):
            d = defs.get((obj, name), {})
            fields.append({"name": name, "label": d.get("label") or name, "type": d.get("type") or "text",
                           "custom": True, "values": vals})
        if fields:
            out[obj] = {"fields": fields}
    return {"objects": out}


def _joined(v: Any) -> str:
    import json

    if isinstance(v, list):
        return json.dumps({str(i): str(x) for i, x in enumerate(v)}, ensure_ascii=False)
    return json.dumps(v, ensure_ascii=False, default=str)
