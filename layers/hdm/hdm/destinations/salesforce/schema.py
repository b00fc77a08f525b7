"""Schema preparation: the custom fields the mapping needs, created through the Tooling API and verified
with describe; and a list of what only an admin can do (picklist values, audit-field permission,
validation rules to bypass during the load). Idempotent: fields already there are verified, not re-created.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simple_salesforce.exceptions import SalesforceError

from hdm.destinations.salesforce.api import SalesforceApi
from hdm.mapping.model import FieldDef, Mapping

# objects that take custom fields (CaseComment does not: its loads use pending markers instead)
CUSTOM_FIELD_OBJECTS = frozenset({"Account", "Contact", "Case", "ContentVersion", "User"})

_TYPE_ATTRS = {
    "Text": lambda f: {"length": f.length or 255},
    "TextArea": lambda f: {},
    "LongTextArea": lambda f: {"length": f.length or 32768, "visibleLines": f.visible_lines or 5},
    "Number": lambda f: {"precision": f.precision or 18, "scale": f.scale or 0},
    "Checkbox": lambda f: {"defaultValue": "false"},
    "MultiselectPicklist": lambda f: {"visibleLines": f.visible_lines or 4},
}


def field_metadata(f: FieldDef) -> dict[str, Any]:
    meta: dict[str, Any] = {"label": f.label or f.name.removesuffix("__c"), "type": f.type}
    meta.update(_TYPE_ATTRS.get(f.type, lambda _f: {})(f))
    if f.external_id:
        meta["externalId"] = True
    if f.unique:
        meta["unique"] = True
    if f.description:
        meta["description"] = f.description
    if f.type in ("Picklist", "MultiselectPicklist"):
        meta["valueSet"] = {"restricted": False, "valueSetDefinition": {
            "sorted": False, "value": [{"fullName": v, "label": v, "default": False} for v in f.picklist_values]}}
    return meta


def audit_fields_allowed(describe: dict[str, Any]) -> bool:
    """The org lets this user set CreatedDate on insert ("Set Audit Fields upon Record Creation")."""
    for f in describe.get("fields", []):
        if f.get("name") == "CreatedDate":
            return bool(f.get("createable"))
    return False


def prepare_schema(api: SalesforceApi, mapping: Mapping, extra_fields: Iterable[FieldDef] = ()) -> dict[str, Any]:
    wanted = [f for f in [*mapping.schema_fields, *extra_fields]]
    report: dict[str, Any] = {"created": [], "verified": [], "failed": [], "needs_admin": [], "objects": {}}
    objects = sorted({f.object for f in wanted} | {om.target for om in mapping.objects.values()})
    describes: dict[str, dict[str, Any]] = {}
    for obj in objects:
        try:
            describes[obj] = api.describe(obj)
        except SalesforceError as exc:
            report["failed"].append({"object": obj, "reason": f"describe failed: HTTP {exc.status}"})
    for f in wanted:
        if f.object not in CUSTOM_FIELD_OBJECTS:
            report["failed"].append({"field": f"{f.object}.{f.name}", "reason": "object takes no custom fields"})
            continue
        names = {x["name"] for x in describes.get(f.object, {}).get("fields", [])}
        if f.name in names:
            report["verified"].append(f"{f.object}.{f.name}")
            continue
        try:
            api.tooling("sobjects/CustomField", method="POST",
                        data={"FullName": f"{f.object}.{f.name}", "Metadata": field_metadata(f)})
        except SalesforceError as exc:
            report["failed"].append({"field": f"{f.object}.{f.name}", "reason": f"HTTP {exc.status}: "
                                     f"{_first_message(exc)}"})
            continue
        report["created"].append(f"{f.object}.{f.name}")
    # verify what was created with a fresh describe
    for obj in sorted({c.split(".")[0] for c in report["created"]}):
        describes[obj] = api.describe(obj)
        names = {x["name"] for x in describes[obj].get("fields", [])}
        for c in [c for c in report["created"] if c.startswith(obj + ".")]:
            if c.split(".", 1)[1] not in names:
                report["failed"].append({"field": c, "reason": "created but not visible in describe (field-level "
                                         "security for the integration user?)"})
    case = describes.get("Case", {})
    report["audit_fields_allowed"] = audit_fields_allowed(case)
    if case and not report["audit_fields_allowed"]:
        report["needs_admin"].append({
            "what": "audit fields", "why": "CreatedDate is not createable: original dates go to "
            "hdm_Original_Created_At__c/hdm_Original_Closed_At__c. To keep them in CreatedDate, enable 'Set Audit "
            "Fields upon Record Creation' and grant the permission to the integration user, then re-run prepare."})
    report["needs_admin"].extend(_picklist_gaps(mapping, describes))
    report["needs_admin"].extend(_validation_rules(api, ["Account", "Contact", "Case"]))
    report["objects"] = {o: bool(d) for o, d in describes.items()}
    return report


def _first_message(exc: SalesforceError) -> str:
    c = exc.content
    if isinstance(c, list) and c and isinstance(c[0], dict):
        return f"{c[0].get('errorCode', '')} {c[0].get('message', '')}".strip()
    return str(c)[:200]


def _picklist_gaps(mapping: Mapping, describes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for om in mapping.objects.values():
        desc = describes.get(om.target) or {}
        fields = {f["name"]: f for f in desc.get("fields", [])}
        for fm in om.fields:
            if not fm.value_map or fm.to not in fields:
                continue
            allowed = {p.get("value") for p in fields[fm.to].get("picklistValues") or [] if p.get("active", True)}
            targets = {e.get("to") for e in mapping.value_maps[fm.value_map].values.values()}
            default = mapping.value_maps[fm.value_map].default
            if default:
                targets.add(default.get("to"))
            missing = sorted(t for t in targets if t and t not in allowed)
            if missing and allowed:
                out.append({"what": f"picklist values {om.target}.{fm.to}", "missing": missing,
                            "why": "the value map writes values the org's picklist does not have: add them, or "
                                   "change the mapping"})
    return out


def _validation_rules(api: SalesforceApi, objects: list[str]) -> list[dict[str, Any]]:
    names = ",".join(f"'{o}'" for o in objects)
    soql = ("SELECT Id, ValidationName, Active, EntityDefinition.QualifiedApiName FROM ValidationRule "
            f"WHERE EntityDefinition.QualifiedApiName IN ({names})")
    try:
        res = api.tooling(f"query/?q={soql.replace(' ', '+')}")
    except SalesforceError as exc:
        return [{"what": "validation rules", "why": f"could not list them (HTTP {exc.status}): ask the admin to "
                 "bypass active Account/Contact/Case validation rules for the integration user during the load"}]
    rules = [r for r in (res.get("records", []) if isinstance(res, dict) else []) if r.get("Active")]
    if not rules:
        return []
    return [{"what": "validation rules", "why": "active rules can reject migrated records: bypass them for the "
             "integration user during the load", "rules": [
                 f"{(r.get('EntityDefinition') or {}).get('QualifiedApiName', '?')}.{r.get('ValidationName')}"
                 for r in rules]}]
