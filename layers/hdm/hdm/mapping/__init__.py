"""Mappings as data: one versioned YAML per source/destination pair, validated by a JSON schema,
with per-customer overrides merged over the default. Field definitions belong to the destination
(:mod:`hdm.mapping.fields`); :mod:`hdm.mapping.engine` applies a mapping to canonical records."""

from hdm.mapping.loader import MappingError, load_document, load_mapping, merge, validate
from hdm.mapping.model import FieldMap, MappedValue, Mapping, ObjectMap, ValueMap

__all__ = [
    "FieldMap", "MappedValue", "Mapping", "MappingError", "ObjectMap", "ValueMap",
    "load_document", "load_mapping", "merge", "validate",
]
