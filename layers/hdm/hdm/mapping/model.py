"""The mapping as typed data: objects, field maps, value maps, custom field targets, schema fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class MappedValue:
    """The result of a value map lookup: the destination value and whether something was lost."""

    value: Optional[str]
    lossy: bool = False
    note: Optional[str] = None
    source_value: Any = None
    matched: bool = True  # False when the default entry was used


@dataclass
class ValueMap:
    name: str
    values: dict[str, dict[str, Any]]
    default: Optional[dict[str, Any]] = None
    case_sensitive: bool = False

    def _norm(self, v: Any) -> str:
        text = str(v).strip()
        return text if self.case_sensitive else text.casefold()

    def lookup(self, candidates: list[Any]) -> Optional[MappedValue]:
        """The first candidate found in the map; else the default; ``None`` when every candidate is empty."""
        present = [c for c in candidates if c not in (None, "")]
        if not present:
            return None
        for c in present:
            entry = self._index.get(self._norm(c))
            if entry is not None:
                return MappedValue(entry.get("to"), bool(entry.get("lossy")), entry.get("note"), present[0])
        if self.default is not None:
            d = self.default
            return MappedValue(d.get("to"), bool(d.get("lossy", True)), d.get("note"), present[0], matched=False)
        return MappedValue(None, True, f"value not in value map {self.name}", present[0], matched=False)

    def __post_init__(self) -> None:
        self._index = {self._norm(k): v for k, v in self.values.items()}


@dataclass(frozen=True)
class FieldMap:
    to: str
    sources: tuple[str, ...]
    value_map: Optional[str] = None
    transform: str = "text"
    max_length: Optional[int] = None
    required: bool = False
    default: Any = None
    when_audit_fields: Optional[str] = None


@dataclass(frozen=True)
class ObjectMap:
    source: str  # canonical object type
    target: str
    external_id: Optional[str]
    fields: tuple[FieldMap, ...]


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
    picklist_from: Optional[str] = None  # help_topic | sla_policy | department: values are those staged names
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


@dataclass
class Mapping:
    version: str
    source: str
    destination: str
    objects: dict[str, ObjectMap]
    value_maps: dict[str, ValueMap]
    custom_targets: dict[str, str]
    custom_prefix: str
    custom_types: dict[str, dict[str, Any]]
    custom_overrides: dict[str, dict[str, Any]]
    schema_fields: list[FieldDef]
    policies: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict, repr=False)
    custom_objects: dict[str, CustomObjectDef] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A hash of the merged mapping document: a changed mapping makes earlier transforms stale."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.document, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Mapping:
        objects: dict[str, ObjectMap] = {}
        for src, spec in doc["objects"].items():
            fields = []
            for to, f in (spec.get("fields") or {}).items():
                if f is None:
                    continue
                sources = (f["from"],) if isinstance(f["from"], str) else tuple(f["from"])
                fields.append(FieldMap(
                    to=to, sources=sources, value_map=f.get("value_map"), transform=f.get("transform", "text"),
                    max_length=f.get("max_length"), required=bool(f.get("required")), default=f.get("default"),
                    when_audit_fields=f.get("when_audit_fields"),
                ))
            objects[src] = ObjectMap(src, spec["target"], spec.get("external_id"), tuple(fields))
        value_maps = {}
        for name, vm in (doc.get("value_maps") or {}).items():
            values = {k: (v if isinstance(v, dict) else {"to": v}) for k, v in vm["values"].items()}
            value_maps[name] = ValueMap(name, values, vm.get("default"), bool(vm.get("case_sensitive")))
        cf = doc.get("custom_fields") or {}
        schema_fields = []
        for obj, fields in (doc.get("schema") or {}).items():
            for fname, d in fields.items():
                schema_fields.append(_field_def(obj, fname, d))
        custom_objects = {}
        for obj, spec in (doc.get("custom_objects") or {}).items():
            custom_objects[obj] = CustomObjectDef(
                name=obj, label=spec["label"], plural_label=spec["plural_label"],
                fields=tuple(_field_def(obj, fname, d) for fname, d in (spec.get("fields") or {}).items()),
                name_field=dict(spec.get("name_field") or {"label": "Name", "type": "Text"}),
                sharing_model=spec.get("sharing_model") or "ReadWrite", description=spec.get("description"))
        return cls(
            version=doc["version"], source=doc["pair"]["source"], destination=doc["pair"]["destination"],
            objects=objects, value_maps=value_maps, custom_targets=dict(cf.get("targets") or {}),
            custom_prefix=cf.get("prefix", ""), custom_types=dict(cf.get("types") or {}),
            custom_overrides=dict(cf.get("fields") or {}), schema_fields=schema_fields,
            policies=dict(doc.get("policies") or {}), document=doc, custom_objects=custom_objects,
        )

    def object_map(self, canonical: str) -> ObjectMap:
        try:
            return self.objects[canonical]
        except KeyError as exc:
            raise KeyError(f"the mapping has no target for canonical object {canonical!r}") from exc

    def target_of(self, canonical: str) -> Optional[str]:
        om = self.objects.get(canonical)
        return om.target if om else None

    def map_value(self, map_name: str, candidates: list[Any]) -> Optional[MappedValue]:
        return self.value_maps[map_name].lookup(candidates)

    # -- custom fields ------------------------------------------------------------------------
    def custom_field_name(self, owner: str, name: str) -> Optional[str]:
        """The destination field for a source custom field, or ``None`` when it is skipped/unmapped."""
        if owner not in self.custom_targets:
            return None
        override = self.custom_overrides.get(f"{owner}.{name}") or {}
        if override.get("skip"):
            return None
        return override.get("to") or api_field_name(self.custom_prefix, name)

    def custom_field_def(self, owner: str, name: str, canonical_type: str, label: str = "",
                         choices: list[dict[str, str]] | None = None) -> Optional[FieldDef]:
        api_name = self.custom_field_name(owner, name)
        if api_name is None:
            return None
        override = self.custom_overrides.get(f"{owner}.{name}") or {}
        d = dict(override.get("type") or self.custom_types.get(canonical_type) or self.custom_types.get("other")
                 or {"type": "Text", "length": 255})
        d.setdefault("label", (label or name)[:40])
        fd = _field_def(self.custom_targets[owner], api_name, d)
        if fd.type in ("Picklist", "MultiselectPicklist"):
            values = tuple(str(c.get("label") or c.get("key")) for c in (choices or [])
                           if c.get("label") or c.get("key"))
            fd = FieldDef(**{**fd.__dict__, "picklist_values": values})
        return fd

    def fields_for(self, dest_object: str) -> list[FieldDef]:
        return [f for f in self.schema_fields if f.object == dest_object]


def _field_def(obj: str, name: str, d: dict[str, Any]) -> FieldDef:
    return FieldDef(
        object=obj, name=name, type=d["type"], label=d.get("label") or name.removesuffix("__c")[:40],
        length=d.get("length"), precision=d.get("precision"), scale=d.get("scale"),
        visible_lines=d.get("visible_lines"), external_id=bool(d.get("external_id")), unique=bool(d.get("unique")),
        description=d.get("description"), picklist_from=d.get("picklist_from"), restricted=bool(d.get("restricted")),
        reference_to=d.get("reference_to"), relationship_name=d.get("relationship_name"),
    )
