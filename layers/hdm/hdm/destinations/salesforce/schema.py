"""Schema preparation: the custom fields the mapping needs, created through the Tooling API and verified
with describe; and a list of what only an admin can do (picklist values, audit-field permission,
validation rules to bypass during the load). Idempotent: fields already there are verified, not re-created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Optional

from simple_salesforce.exceptions import SalesforceError

from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.fields import FieldDef
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.mapping.model import Mapping

# objects that take custom fields (CaseComment does not: its loads use pending markers instead)
CUSTOM_FIELD_OBJECTS = frozenset({"Account", "Contact", "Case", "ContentVersion", "User"})

_TYPE_ATTRS = {
    "Text": lambda f: {"length": f.length or 255},
    "TextArea": lambda f: {},
    "LongTextArea": lambda f: {"length": f.length or 32768, "visibleLines": f.visible_lines or 5},
    "Number": lambda f: {"precision": f.precision or 18, "scale": f.scale or 0},
    "Checkbox": lambda f: {"defaultValue": "false"},
    "Html": lambda f: {"length": f.length or 32768, "visibleLines": f.visible_lines or 10},
    "Currency": lambda f: {"precision": f.precision or 18, "scale": f.scale if f.scale is not None else 2},
    "Percent": lambda f: {"precision": f.precision or 5, "scale": f.scale if f.scale is not None else 2},
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
        meta["valueSet"] = {"restricted": f.restricted, "valueSetDefinition": {
            "sorted": False, "value": [{"fullName": v, "label": v, "default": False} for v in f.picklist_values]}}
    return meta


def audit_fields_allowed(describe: dict[str, Any]) -> bool:
    """The org lets this user set CreatedDate on insert ("Set Audit Fields upon Record Creation")."""
    for f in describe.get("fields", []):
        if f.get("name") == "CreatedDate":
            return bool(f.get("createable"))
    return False


MAX_PICKLIST_VALUES = 1000
MAX_PICKLIST_VALUE_LENGTH = 255


def resolve_picklists(fields: Iterable[FieldDef], names: Optional[ReferenceNames]) -> tuple[list[FieldDef],
                                                                                          list[dict[str, Any]]]:
    """Picklist values filled in (``picklist_from``: the staged names, kept exactly); a picklist that would
    have no valid value is created as a text field instead, with a note for the report."""
    out: list[FieldDef] = []
    notes: list[dict[str, Any]] = []
    for f in fields:
        if f.type not in ("Picklist", "MultiselectPicklist"):
            out.append(f)
            continue
        values = list(f.picklist_values)
        if f.picklist_from:
            values = names.picklist_values(f.picklist_from) if names is not None else []
        kept, seen, left_out = [], set(), []
        for v in values:
            fits = 0 < len(v) <= MAX_PICKLIST_VALUE_LENGTH and not (f.type == "MultiselectPicklist" and ";" in v)
            if not fits:
                left_out.append(v[:60])
            elif v.casefold() not in seen:
                seen.add(v.casefold())
                kept.append(v)
        if left_out:
            notes.append({"field": f"{f.object}.{f.name}", "what": "picklist values left out of the value set",
                          "values": left_out, "why": f"longer than {MAX_PICKLIST_VALUE_LENGTH} characters or a ';' in "
                          "a multi-select value; the field is unrestricted, so records still keep them"})
        if not kept or len(kept) > MAX_PICKLIST_VALUES:
            why = "no values" if not kept else f"{len(kept)} values (over {MAX_PICKLIST_VALUES})"
            notes.append({"field": f"{f.object}.{f.name}", "what": "created as text, not as a picklist",
                          "why": f"the source gives {why}"})
            out.append(replace(f, type="Text", length=255, picklist_values=(), visible_lines=None))
            continue
        out.append(replace(f, picklist_values=tuple(kept)))
    return out, notes


def prepare_schema(api: SalesforceApi, mapping: Mapping, extra_fields: Iterable[FieldDef] = (),
                   names: Optional[ReferenceNames] = None) -> dict[str, Any]:
    """Create the fields the load writes that the org lacks, verify them with a fresh describe, and list in
    ``not_ready`` every field the load would write that the org does not take (missing or not createable)."""
    wanted, picklist_notes = resolve_picklists([*mapping.schema_fields, *extra_fields], names)
    report: dict[str, Any] = {"created": [], "verified": [], "failed": [], "needs_admin": [], "objects": {},
                              "notes": picklist_notes}
    objects = sorted({f.object for f in wanted} | {om.target for om in mapping.objects.values()})
    describes: dict[str, dict[str, Any]] = {}
    for obj in objects:
        try:
            describes[obj] = api.describe(obj)
        except SalesforceError as exc:
            report["failed"].append({"object": obj, "reason": f"describe failed: HTTP {exc.status}"})
    failed_reason: dict[str, str] = {}
    for f in wanted:
        full = f"{f.object}.{f.name}"
        if f.object not in CUSTOM_FIELD_OBJECTS:
            failed_reason[full] = "object takes no custom fields"
            report["failed"].append({"field": full, "reason": failed_reason[full]})
            continue
        if f.object not in describes:
            failed_reason[full] = "its object could not be described"
            continue
        names_there = {x["name"] for x in describes[f.object].get("fields", [])}
        if f.name in names_there:
            report["verified"].append(full)
            continue
        try:
            api.tooling("sobjects/CustomField", method="POST",
                        data={"FullName": full, "Metadata": field_metadata(f)})
        except SalesforceError as exc:
            failed_reason[full] = f"HTTP {exc.status}: {first_error_message(exc)}"
            report["failed"].append({"field": full, "reason": failed_reason[full]})
            continue
        report["created"].append(full)
    # verify what was created with a fresh describe
    for obj in sorted({c.split(".")[0] for c in report["created"]}):
        describes[obj] = api.describe(obj)
        names_there = {x["name"] for x in describes[obj].get("fields", [])}
        for c in [c for c in report["created"] if c.startswith(obj + ".")]:
            if c.split(".", 1)[1] not in names_there:
                failed_reason[c] = "created but not visible in describe (field-level security for the " \
                                   "integration user?)"
                report["failed"].append({"field": c, "reason": failed_reason[c]})
    report["not_ready"] = unready_fields(mapping, wanted, describes, failed_reason)
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


def written_fields(mapping: Mapping, wanted: Iterable[FieldDef]) -> dict[str, set[str]]:
    """Destination object -> the fields the load writes on it (audit fields, decided at load time, left out)."""
    out: dict[str, set[str]] = {}
    for om in mapping.objects.values():
        names = out.setdefault(om.target, set())
        names.update(fm.to for fm in om.fields if not fm.when_audit_fields)
        if om.external_id:
            names.add(om.external_id)
    for f in wanted:
        out.setdefault(f.object, set()).add(f.name)
    return out


def unready_fields(mapping: Mapping, wanted: Iterable[FieldDef], describes: dict[str, dict[str, Any]],
                   failed_reason: dict[str, str]) -> list[dict[str, str]]:
    """Every field the load writes that the org would refuse, with the reason."""
    out = []
    for obj, names in sorted(written_fields(mapping, wanted).items()):
        desc = describes.get(obj)
        fields = {f["name"]: f for f in (desc or {}).get("fields", [])}
        for name in sorted(names):
            full = f"{obj}.{name}"
            if not desc:
                out.append({"field": full, "reason": failed_reason.get(full) or f"{obj} could not be described"})
            elif name not in fields:
                out.append({"field": full, "reason": failed_reason.get(full) or "not in the org"})
            elif not (fields[name].get("createable") or fields[name].get("updateable")):
                out.append({"field": full, "reason": "not writable for the integration user (field-level security)"})
    return out


def first_error_message(exc: SalesforceError) -> str:
    """The first error's code and message of a refused Salesforce call (short, for a report line)."""
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
