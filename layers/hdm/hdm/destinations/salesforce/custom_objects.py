"""Custom objects the load writes (``custom_objects`` in the mapping, e.g. ``hdm_Case_Event__c``): created in
prepare, before the fields of standard objects, then their fields, each verified with a fresh describe.

The object is created through the Tooling API (``POST tooling/sobjects/CustomObject`` with ``FullName`` and
``Metadata``: label, pluralLabel, nameField, deploymentStatus, sharingModel), the same route hdm uses for custom
fields. Salesforce documents Tooling ``CustomObject`` as query/retrieve only; the Metadata API
(``createMetadata``) is the documented route. When the org refuses the Tooling call, prepare names the exact
Metadata for the admin to deploy and the phase's fields show up in ``not_ready`` (the load stops before any write
under ``unprepared_fields: stop``, or drops that phase's rows with a flag under ``drop``).

Also checked here: the ``CaseContactRole.Role`` values the collaborator rows write (an admin adds them to the
"Contact Roles on Cases" picklist; the picklist is unrestricted, so the rows load meanwhile).
"""

from __future__ import annotations

from typing import Any

from simple_salesforce.exceptions import SalesforceError

from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.fields import CustomObjectDef, FieldDef
from hdm.destinations.salesforce.schema import field_metadata, first_error_message
from hdm.mapping.model import Mapping


def object_metadata(obj: CustomObjectDef) -> dict[str, Any]:
    name_field: dict[str, Any] = {"label": obj.name_field.get("label") or "Name",
                                  "type": obj.name_field.get("type") or "Text"}
    if name_field["type"] == "AutoNumber":
        name_field["displayFormat"] = obj.name_field.get("display_format") or "{00000000}"
    meta = {"label": obj.label, "pluralLabel": obj.plural_label, "nameField": name_field,
            "deploymentStatus": "Deployed", "sharingModel": obj.sharing_model}
    if obj.description:
        meta["description"] = obj.description
    return meta


def custom_field_metadata(f: FieldDef) -> dict[str, Any]:
    meta = field_metadata(f)
    if f.type == "Lookup":
        meta.update({"referenceTo": f.reference_to, "relationshipName": f.relationship_name
                     or f.name.removesuffix("__c"), "relationshipLabel": f.label or f.name,
                     "deleteConstraint": "SetNull"})
    return meta


def _describe(api: SalesforceApi, name: str) -> dict[str, Any] | None:
    try:
        return api.describe(name)
    except SalesforceError as exc:
        if exc.status == 404:
            return None
        raise


def prepare_custom_objects(api: SalesforceApi, mapping: Mapping) -> dict[str, Any]:
    """Create (or verify) every custom object of the mapping and its fields. Idempotent."""
    report: dict[str, Any] = {"created": [], "verified": [], "failed": [], "needs_admin": []}
    for obj in mapping.custom_objects.values():
        try:
            desc = _describe(api, obj.name)
        except SalesforceError as exc:
            report["failed"].append({"object": obj.name, "reason": f"describe failed: HTTP {exc.status}"})
            continue
        if desc is None:
            meta = object_metadata(obj)
            try:
                api.tooling("sobjects/CustomObject", method="POST", data={"FullName": obj.name, "Metadata": meta})
            except SalesforceError as exc:
                reason = f"HTTP {exc.status}: {first_error_message(exc)}"
                report["failed"].append({"object": obj.name, "reason": reason})
                report["needs_admin"].append({
                    "what": f"custom object {obj.name}", "why": f"the org refused to create it ({reason}): deploy "
                    "it (Metadata API CustomObject) with the metadata below and its fields, then re-run prepare",
                    "metadata": meta, "fields": {f.name: custom_field_metadata(f) for f in obj.fields}})
                continue
            report["created"].append(obj.name)
            desc = _describe(api, obj.name)
            if desc is None:
                report["failed"].append({"object": obj.name, "reason": "created but not visible in describe "
                                         "(object permissions for the integration user?)"})
                continue
        else:
            report["verified"].append(obj.name)
        there = {x["name"] for x in desc.get("fields", [])}
        made = []
        for f in obj.fields:
            full = f"{obj.name}.{f.name}"
            if f.name in there:
                report["verified"].append(full)
                continue
            try:
                api.tooling("sobjects/CustomField", method="POST",
                            data={"FullName": full, "Metadata": custom_field_metadata(f)})
            except SalesforceError as exc:
                report["failed"].append({"field": full, "reason": f"HTTP {exc.status}: {first_error_message(exc)}"})
                continue
            made.append(full)
        if made:
            there = {x["name"] for x in (_describe(api, obj.name) or {}).get("fields", [])}
            for full in made:
                if full.split(".", 1)[1] in there:
                    report["created"].append(full)
                else:
                    report["failed"].append({"field": full, "reason": "created but not visible in describe "
                                             "(field-level security for the integration user?)"})
    report["needs_admin"].extend(_role_values(api, mapping))
    return report


def _role_values(api: SalesforceApi, mapping: Mapping) -> list[dict[str, Any]]:
    vm = mapping.value_maps.get("collaborator_role")
    if vm is None:
        return []
    wanted = sorted({e.get("to") for e in vm.values.values() if e.get("to")})
    try:
        desc = api.describe("CaseContactRole")
    except SalesforceError as exc:
        return [{"what": "CaseContactRole", "why": f"not available to the integration user (HTTP {exc.status}): "
                 "collaborators cannot be carried"}]
    role = next((f for f in desc.get("fields", []) if f.get("name") == "Role"), None)
    if role is None:
        return []
    have = {p.get("value") for p in role.get("picklistValues") or [] if p.get("active", True)}
    missing = [w for w in wanted if w not in have]
    if not missing:
        return []
    restricted = bool(role.get("restrictedPicklist"))
    return [{"what": "picklist values CaseContactRole.Role", "missing": missing,
             "why": "collaborators (CCs) are carried as Case contact roles with these roles: add them under Setup > "
                    "Contact Roles on Cases" + (" (the picklist is restricted: until then the rows are rejected)"
                                                if restricted else " (the rows load meanwhile; the UI shows the "
                                                "value once it is in the picklist)")}]
