"""The mapping review page: per object and field the source, target, types, confidence, reasons, sample values and
what they become, value maps side by side; conflicts (a target more than one source wants) and lossy rows
highlighted. One self-contained HTML file (Jinja2, autoescape on: every value is escaped)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hdm import templates


def build_mapping_review(data: dict[str, Any]) -> str:
    objects = []
    rows = accepted = 0
    for name, obj in sorted(data["objects"].items()):
        # a conflict: the chosen target is also another field's best candidate (a person should look)
        wanted = Counter(f["candidates"][0]["target"] for f in obj["fields"] if f["candidates"])
        fields = []
        for f in obj["fields"]:
            conflict = bool(f["target"]) and wanted.get(f["target"], 0) > 1
            fields.append({**f, "conflict": conflict, "target_type": f.get("target_type"),
                           "value_map": f.get("value_map")})
            rows += 1
            accepted += bool(f.get("pre_accepted"))
        objects.append({"name": name, "target": obj["target"], "fields": fields,
                        "required_unmapped": obj.get("required_unmapped") or []})
    return templates.render("mapping_review.html.j2", pair=data["pair"], objects=objects, rows=rows,
                            accepted=accepted, decisions=data["decisions"], hash=data.get("hash", ""))
