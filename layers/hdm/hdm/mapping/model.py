"""The mapping as typed data: objects, field maps, value maps, custom field targets and policies.

Field definitions (what the destination creates: names, types, lengths, picklists) belong to the destination:
``Mapping.fields`` holds them as its field vocabulary types them (see :mod:`hdm.mapping.fields`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.mapping.fields import FieldVocabulary, vocabulary_for


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
        present = [c.value if isinstance(c, enum.Enum) else c for c in candidates if c not in (None, "")]
        if not present:
            return None
        for i, c in enumerate(present):
            entry = self._index.get(self._norm(c))
            if entry is not None and i == 0:
                return MappedValue(entry.get("to"), bool(entry.get("lossy")), entry.get("note"), present[0])
            if entry is not None:  # the first candidate (e.g. a custom status name) is unknown: a later one decided
                note = f"not in value map {self.name}; mapped by {c!r}"
                return MappedValue(entry.get("to"), True, note, present[0])
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


@dataclass
class Mapping:
    version: str
    source: str
    destination: str
    objects: dict[str, ObjectMap]
    value_maps: dict[str, ValueMap]
    custom_targets: dict[str, str]
    custom_prefix: str
    custom_overrides: dict[str, dict[str, Any]]
    policies: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict, repr=False)
    fields: Any = None  # the destination's field definitions, typed by its vocabulary
    vocabulary: Optional[FieldVocabulary] = field(default=None, repr=False)

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
        vocabulary = vocabulary_for(doc["pair"]["destination"])
        return cls(
            version=doc["version"], source=doc["pair"]["source"], destination=doc["pair"]["destination"],
            objects=objects, value_maps=value_maps, custom_targets=dict(cf.get("targets") or {}),
            custom_prefix=cf.get("prefix", ""), custom_overrides=dict(cf.get("fields") or {}),
            policies=dict(doc.get("policies") or {}), document=doc, fields=vocabulary.definitions(doc),
            vocabulary=vocabulary,
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
        if override.get("to"):
            return override["to"]
        vocabulary = self.vocabulary or vocabulary_for(self.destination)
        return vocabulary.field_name(self.custom_prefix, name)

    def custom_field_def(self, owner: str, name: str, canonical_type: str, label: str = "",
                         choices: list[dict[str, str]] | None = None) -> Any:
        """The destination's definition of the field a source custom field becomes (``None`` when skipped)."""
        if not hasattr(self.fields, "custom_field_def"):
            raise NotImplementedError(f"the destination {self.destination!r} defines no custom field types")
        return self.fields.custom_field_def(self, owner, name, canonical_type, label, choices)

    # -- the destination's field definitions ---------------------------------------------------------------------
    @property
    def schema_fields(self) -> list[Any]:
        """Fields prepare creates on the destination's objects (``schema``)."""
        return getattr(self.fields, "schema_fields", None) or []

    @property
    def custom_objects(self) -> dict[str, Any]:
        """Objects prepare creates (``custom_objects``)."""
        return getattr(self.fields, "custom_objects", None) or {}

    def fields_for(self, dest_object: str) -> list[Any]:
        return [f for f in self.schema_fields if f.object == dest_object]
