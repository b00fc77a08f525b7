"""Intercom's field vocabulary for mappings (found by :func:`hdm.mapping.fields.vocabulary_for`).

What a mapping declares for Intercom:

- ``schema``: the attributes prepare makes, per Intercom object: ``ticket`` (attributes of the migration's
  ticket type: ``data_type`` ∈ string, list, integer, decimal, boolean, datetime), ``contact`` and ``company``
  (data attributes: ``data_type`` ∈ string, integer, float, boolean, datetime, date);
- ``custom_fields.types``: the attribute type a source custom field of each canonical type becomes
  (``{data_type: …, multiline: …}``; for contacts and companies ``decimal`` is written ``float``);
- field map targets: a ticket attribute name (``_default_title_``, ``_default_description_`` or one of
  ``schema.ticket``), a contact/company field (``name``, ``email`` …) or ``custom_attributes.<name>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

TICKET_TYPES = ("string", "list", "integer", "decimal", "boolean", "datetime")
DATA_TYPES = ("string", "integer", "float", "boolean", "datetime", "date")
OWNERS = ("ticket", "contact", "company")
CANONICAL_OWNER = {"ticket": "ticket", "contact": "contact", "organization": "company"}

_ATTRIBUTE = {
    "type": "object",
    "required": ["data_type"],
    "additionalProperties": False,
    "properties": {
        "data_type": {"enum": sorted(set(TICKET_TYPES) | set(DATA_TYPES))},
        "description": {"type": "string", "maxLength": 255},
        "multiline": {"type": "boolean"},
        "visible_to_contacts": {"type": "boolean"},
        "label": {"type": "string"},
    },
}

_NAME = re.compile(r"[^A-Za-z0-9_ ]+")


def attribute_name(prefix: str, name: str, max_len: int = 190) -> str:
    """An Intercom attribute name for a source field name: letters, digits, spaces and underscores (Intercom
    refuses ``.``, ``$`` and brackets in custom attribute names)."""
    stem = " ".join(_NAME.sub("_", f"{prefix}{name}").split()).strip("_ ") or "field"
    return stem[:max_len]


@dataclass(frozen=True)
class AttributeDef:
    owner: str  # ticket | contact | company
    name: str
    data_type: str
    description: str = ""
    multiline: bool = False
    visible_to_contacts: bool = False

    def for_owner(self) -> AttributeDef:
        """The type the owner's API takes (data attributes have ``float``, ticket attributes ``decimal``)."""
        dt = self.data_type
        if self.owner == "ticket":
            dt = {"float": "decimal", "date": "datetime"}.get(dt, dt)
        else:
            # a data attribute of type datetime reads back as "date" (the 2.16 spec's data_attribute enum has no
            # "datetime"; Intercom's dates are Unix times either way): ask for "date"
            dt = {"decimal": "float", "list": "string", "datetime": "date"}.get(dt, dt)
            if self.owner == "company":
                dt = "string"  # the 2.16 spec types company custom attribute values as strings
        return AttributeDef(self.owner, self.name, dt, self.description, self.multiline, self.visible_to_contacts)


@dataclass
class IntercomFields:
    attributes: dict[str, dict[str, AttributeDef]] = field(default_factory=dict)  # owner -> name -> def
    custom_types: dict[str, dict[str, Any]] = field(default_factory=dict)  # canonical type -> {data_type, ...}

    def custom_attribute(self, owner: str, name: str, canonical_type: str, label: str = "") -> AttributeDef:
        spec = self.custom_types.get(canonical_type) or self.custom_types.get("other") or {"data_type": "string"}
        return AttributeDef(owner, name, spec.get("data_type", "string"), (label or "")[:255],
                            bool(spec.get("multiline"))).for_owner()


class IntercomVocabulary:
    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "schema": {"type": "object", "additionalProperties": False,
                           "properties": {o: {"type": "object", "additionalProperties": _ATTRIBUTE} for o in OWNERS}},
                "custom_objects": {"not": {}, "description": "Intercom custom objects are not written by hdm"},
                "custom_fields": {"properties": {
                    "types": {"type": "object", "additionalProperties": _ATTRIBUTE},
                    "targets": {"type": "object", "additionalProperties": {"enum": list(OWNERS)}},
                    "fields": {"type": "object", "additionalProperties": {
                        "properties": {"type": _ATTRIBUTE}}},
                }},
            },
        }

    def field_name(self, prefix: str, name: str) -> str:
        return attribute_name(prefix, name)

    def transforms(self) -> tuple[str, ...]:
        """The transforms Intercom's transform provides besides the generic ones (times as Unix seconds)."""
        return ("datetime", "date", "reference_name")

    def definitions(self, document: dict[str, Any]) -> IntercomFields:
        out = IntercomFields()
        for owner, attrs in (document.get("schema") or {}).items():
            out.attributes[owner] = {n: AttributeDef(owner, n, d["data_type"], d.get("description", ""),
                                                     bool(d.get("multiline")),
                                                     bool(d.get("visible_to_contacts"))).for_owner()
                                     for n, d in (attrs or {}).items()}
        out.custom_types = dict((document.get("custom_fields") or {}).get("types") or {})
        return out


def owner_of(canonical: str) -> Optional[str]:
    return CANONICAL_OWNER.get(canonical)


VOCABULARY = IntercomVocabulary()
