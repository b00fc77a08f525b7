"""Custom fields created through the Tooling API: Metadata in, a describe field entry out.

A real org checks the Metadata of a CustomField before it creates it (length within the type's bounds,
visibleLines for long text and multi-select picklists, a value set for picklists, precision and scale for
numbers) and describes the new field the way it describes standard ones: Number as ``double``,
LongTextArea/Html as ``textarea`` (``extraTypeInfo`` plaintextarea/richtextarea), MultiselectPicklist as
``multipicklist`` with its ``picklistValues`` and ``restrictedPicklist``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schema import field_describe


class MetadataError(Exception):
    """Metadata the org refuses (HTTP 400 FIELD_INTEGRITY_EXCEPTION)."""


@dataclass(frozen=True)
class FieldType:
    describe_type: str  # the describe ``type``
    default_length: int = 0
    min_length: int = 0  # 0: the length is fixed by the type
    max_length: int = 0
    needs_visible_lines: bool = False
    extra_type_info: str | None = None
    html: bool = False


TYPES: dict[str, FieldType] = {
    "Text": FieldType("string", 255, 1, 255),
    "TextArea": FieldType("textarea", 255, extra_type_info="plaintextarea"),
    "LongTextArea": FieldType("textarea", 32768, 256, 131072, needs_visible_lines=True,
                              extra_type_info="plaintextarea"),
    "Html": FieldType("textarea", 32768, 256, 131072, needs_visible_lines=True, extra_type_info="richtextarea",
                      html=True),
    "EncryptedText": FieldType("encryptedstring", 175, 1, 175),
    "Email": FieldType("email", 80),
    "Phone": FieldType("phone", 40),
    "Url": FieldType("url", 255),
    "Number": FieldType("double"),
    "Currency": FieldType("currency"),
    "Percent": FieldType("percent"),
    "Checkbox": FieldType("boolean"),
    "Date": FieldType("date"),
    "DateTime": FieldType("datetime"),
    "Time": FieldType("time"),
    "Picklist": FieldType("picklist", 255),
    "MultiselectPicklist": FieldType("multipicklist", 4099, needs_visible_lines=True),
    "Lookup": FieldType("reference", 18),
}
MAX_PICKLIST_VALUES = 1000
MAX_PICKLIST_VALUE_LENGTH = 255


def picklist_values(metadata: dict[str, Any], multi: bool) -> tuple[tuple[str, ...], str | None, bool]:
    """(values, default value, restricted) of a picklist's ``valueSet``; refuses empty or duplicate values, and
    semicolons in multi-select values (the separator of selected values)."""
    value_set = metadata.get("valueSet")
    if not isinstance(value_set, dict):
        raise MetadataError("Picklist fields need a valueSet")
    definition = value_set.get("valueSetDefinition") or {}
    entries = definition.get("value") if isinstance(definition, dict) else None
    if not isinstance(entries, list) or not entries:
        raise MetadataError("Picklist fields need at least one value in valueSet.valueSetDefinition.value")
    if len(entries) > MAX_PICKLIST_VALUES:
        raise MetadataError(f"A picklist holds at most {MAX_PICKLIST_VALUES} values")
    values: list[str] = []
    seen: set[str] = set()
    default = None
    for entry in entries:
        name = str((entry or {}).get("fullName") or (entry or {}).get("label") or "").strip()
        if not name:
            raise MetadataError("Picklist value: a value needs a fullName")
        if len(name) > MAX_PICKLIST_VALUE_LENGTH:
            raise MetadataError(f"Picklist value: {name[:40]}... is longer than {MAX_PICKLIST_VALUE_LENGTH} "
                                "characters")
        if multi and ";" in name:
            raise MetadataError(f"Picklist value: {name[:40]} may not contain a semicolon")
        if name.casefold() in seen:
            raise MetadataError(f"Duplicate picklist value: {name[:40]}")
        seen.add(name.casefold())
        values.append(name)
        if entry.get("default"):
            default = name
    return tuple(values), default, bool(value_set.get("restricted"))


def _int(metadata: dict[str, Any], key: str, default: int) -> int:
    value = metadata.get(key, default)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MetadataError(f"{key}: not a number: {value!r}") from None


def describe_entry(field_name: str, metadata: dict[str, Any], reference_to: tuple[str, ...] = (),
                   relationship_name: str | None = None) -> dict[str, Any]:
    """The describe entry of a new custom field, after the checks the org makes on its Metadata."""
    ftype = metadata.get("type")
    spec = TYPES.get(str(ftype))
    if spec is None:
        raise MetadataError(f"Unsupported custom field type: {ftype}")
    length = spec.default_length
    if spec.min_length:
        length = _int(metadata, "length", spec.default_length)
        if not spec.min_length <= length <= spec.max_length:
            raise MetadataError(f"Length: {ftype} fields take a length between {spec.min_length} and "
                                f"{spec.max_length}")
    if spec.needs_visible_lines:
        lines = _int(metadata, "visibleLines", 0)
        bounds = (3, 10) if ftype == "MultiselectPicklist" else (2, 50)
        if not bounds[0] <= lines <= bounds[1]:
            raise MetadataError(f"Visible Lines: {ftype} fields need visibleLines between {bounds[0]} and "
                                f"{bounds[1]}")
    picklist: tuple[str, ...] = ()
    default_value = None
    restricted = False
    if spec.describe_type in ("picklist", "multipicklist"):
        picklist, default_value, restricted = picklist_values(metadata, spec.describe_type == "multipicklist")
    boolean = spec.describe_type == "boolean"
    raw = field_describe(
        field_name, spec.describe_type, length, label=metadata.get("label") or field_name[:-3],
        nillable=not bool(metadata.get("required")) and not boolean, external_id=bool(metadata.get("externalId")),
        unique=bool(metadata.get("unique")), custom=True, picklist=picklist, picklist_default=default_value,
        restricted=restricted, reference_to=reference_to, relationship_name=relationship_name, html=spec.html,
        defaulted=boolean or default_value is not None,
        default=(str(metadata.get("defaultValue", "false")).lower() == "true") if boolean else None,
    )
    if spec.extra_type_info:
        raw["extraTypeInfo"] = spec.extra_type_info
    if spec.describe_type == "multipicklist":
        raw["sortable"] = raw["groupable"] = False
    if spec.describe_type in ("double", "currency", "percent"):
        precision = _int(metadata, "precision", 18)
        scale = _int(metadata, "scale", 0)
        if not 1 <= precision <= 18 or not 0 <= scale <= precision:
            raise MetadataError("Precision/Scale: precision must be 1-18 and scale between 0 and the precision")
        raw["precision"] = precision
        raw["scale"] = scale
    if raw["externalId"]:
        if spec.describe_type not in ("string", "email", "double"):
            raise MetadataError(f"External ID: {ftype} fields cannot be external IDs")
        raw["filterable"] = True
        raw["idLookup"] = True
    return raw
