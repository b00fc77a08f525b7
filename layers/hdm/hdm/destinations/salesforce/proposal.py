"""The mapping proposer's view of the org (``proposal_fields`` capability): each object's describe as the generic
target fields of :mod:`hdm.mapping.propose` (writable, required, type, length, picklist values)."""

from __future__ import annotations

from typing import Any

TYPES = {"string": "text", "textarea": "memo", "boolean": "bool", "int": "integer", "double": "decimal",
         "currency": "decimal", "percent": "decimal", "date": "date", "datetime": "datetime", "picklist": "choice",
         "multipicklist": "multichoice", "phone": "phone", "email": "email", "url": "url", "reference": "reference",
         "id": "reference", "combobox": "choice"}
SYSTEM = {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
          "LastActivityDate", "LastViewedDate", "LastReferencedDate", "OwnerId", "RecordTypeId"}


def proposal_fields(describes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    objects: dict[str, list[dict[str, Any]]] = {}
    for name, describe in sorted(describes.items()):
        out = []
        for f in describe.get("fields") or []:
            system = f["name"] in SYSTEM or f.get("calculated") or f.get("autoNumber")
            out.append({
                "name": f["name"], "label": f.get("label") or "", "type": TYPES.get(f.get("type"), "other"),
                "length": f.get("length") or 0, "custom": bool(f.get("custom")),
                "writable": bool(f.get("createable")) and not system,
                "required": bool(f.get("createable")) and not f.get("nillable", True)
                and not f.get("defaultedOnCreate") and f.get("type") != "boolean",
                "picklist": [v["value"] for v in f.get("picklistValues") or [] if v.get("active", True)],
                "restricted": bool(f.get("restrictedPicklist")), "default": f.get("defaultValue"),
            })
        objects[name] = out
    return {"objects": objects}
