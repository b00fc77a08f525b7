"""Salesforce's field vocabulary for mappings: the field definitions a mapping carries for Salesforce (fields
prepare creates, custom objects, the Salesforce types of source custom fields), their JSON schema
(``fields.schema.json``) and custom field API names (``__c``).

The generic mapping format (:mod:`hdm.mapping`) carries these parts without knowing them; the destination's
registration declares this vocabulary (``field_vocabulary`` in ``connector.py``, see :mod:`hdm.mapping.fields`),
with the transforms Salesforce provides besides the generic ones (:data:`TRANSFORMS`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from hdm.mapping.model import Mapping


@dataclass(frozen=True)
class FieldDef:
    """A destination custom field the load needs."""

    object: str
    name: str
    type: str
    label: str = ""
    length: Optional[int] = None
    precision: Optional[int] = None
    scale: Optional[int] = None
    visible_lines: Optional[int] = None
    external_id: bool = False
    unique: bool = False
    description: Optional[str] = None
    picklist_values: tuple[str, ...] = ()
    picklist_from: Optional[str] = None  # category | sla_policy | queue: values are those staged names
    restricted: bool = False  # a restricted picklist refuses values it does not list
    reference_to: Optional[str] = None  # Lookup: the parent object
    relationship_name: Optional[str] = None  # Lookup: the child relationship name on the parent


@dataclass(frozen=True)
class CustomObjectDef:
    """A destination custom object the load needs (created by prepare before its fields)."""

    name: str
    label: str
    plural_label: str
    fields: tuple[FieldDef, ...]
    name_field: dict[str, Any] = field(default_factory=lambda: {"label": "Name", "type": "Text"})
    sharing_model: str = "ReadWrite"
    description: Optional[str] = None


_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def api_field_name(prefix: str, name: str, max_len: int = 40) -> str:
    """A Salesforce custom field API name for a source field name: letters, digits, single underscores.

    Salesforce allows 40 characters before ``__c``; no double underscores, no trailing underscore, must
    start with a letter.
    """
    stem = _NON_ALNUM.sub("_", f"{prefix}{name}").strip("_")
    stem = re.sub(r"_+", "_", stem) or "field"
    if not stem[0].isalpha():
        stem = "f_" + stem
    stem = stem[:max_len].rstrip("_")
    return f"{stem}__c"


def field_def(obj: str, name: str, d: dict[str, Any]) -> FieldDef:
    return FieldDef(
        object=obj, name=name, type=d["type"], label=d.get("label") or name.removesuffix("__c")[:40],
        length=d.get("length"), precision=d.get("precision"), scale=d.get("scale"),
        visible_lines=d.get("visible_lines"), external_id=bool(d.get("external_id")), unique=bool(d.get("unique")),
        description=d.get("description"), picklist_from=d.get("picklist_from"), restricted=bool(d.get("restricted")),
        reference_to=d.get("reference_to"), relationship_name=d.get("relationship_name"),
    )


@dataclass
class SalesforceFields:
    """The typed Salesforce field definitions of one mapping document."""

    schema_fields: list[FieldDef]
    custom_objects: dict[str, CustomObjectDef]
    custom_types: dict[str, dict[str, Any]]

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> SalesforceFields:
        schema_fields = [field_def(obj, fname, d) for obj, fields in (doc.get("schema") or {}).items()
                         for fname, d in fields.items()]
        custom_objects = {}
        for obj, spec in (doc.get("custom_objects") or {}).items():
            custom_objects[obj] = CustomObjectDef(
                name=obj, label=spec["label"], plural_label=spec["plural_label"],
                fields=tuple(field_def(obj, fname, d) for fname, d in (spec.get("fields") or {}).items()),
                name_field=dict(spec.get("name_field") or {"label": "Name", "type": "Text"}),
                sharing_model=spec.get("sharing_model") or "ReadWrite", description=spec.get("description"))
        cf = doc.get("custom_fields") or {}
        return cls(schema_fields, custom_objects, dict(cf.get("types") or {}))

    def custom_field_def(self, mapping: Mapping, owner: str, name: str, canonical_type: str, label: str = "",
                         choices: list[dict[str, str]] | None = None) -> Optional[FieldDef]:
        """The Salesforce field a source custom field becomes (``None`` when the mapping skips it)."""
        api_name = mapping.custom_field_name(owner, name)
        if api_name is None:
            return None
        override = mapping.custom_overrides.get(f"{owner}.{name}") or {}
        d = dict(override.get("type") or self.custom_types.get(canonical_type) or self.custom_types.get("other")
                 or {"type": "Text", "length": 255})
        d.setdefault("label", (label or name)[:40])
        fd = field_def(mapping.custom_targets[owner], api_name, d)
        if fd.type in ("Picklist", "MultiselectPicklist"):
            values = tuple(str(c.get("label") or c.get("key")) for c in (choices or [])
                           if c.get("label") or c.get("key"))
            fd = FieldDef(**{**fd.__dict__, "picklist_values": values})
        return fd

    def fields_for(self, dest_object: str) -> list[FieldDef]:
        return [f for f in self.schema_fields if f.object == dest_object]


class SalesforceVocabulary:
    """What :mod:`hdm.mapping.fields` asks of a destination."""

    def schema(self) -> dict[str, Any]:
        text = resources.files("hdm.destinations.salesforce").joinpath("fields.schema.json").read_text(
            encoding="utf-8")
        return json.loads(text)

    def field_name(self, prefix: str, name: str) -> str:
        return api_field_name(prefix, name)

    def definitions(self, document: dict[str, Any]) -> SalesforceFields:
        return SalesforceFields.from_document(document)

    def transforms(self) -> tuple[str, ...]:
        """How Salesforce writes dates and a record's reference by name (transform.py provides them)."""
        return TRANSFORMS


TRANSFORMS = ("datetime", "date", "reference_name")
VOCABULARY = SalesforceVocabulary()
