"""Mappings as data: one versioned YAML per source/destination pair, validated by a JSON schema,
with per-customer overrides merged over the default."""

from hdm.mapping.loader import MappingError, load_document, load_mapping, merge, validate
from hdm.mapping.model import FieldDef, FieldMap, MappedValue, Mapping, ObjectMap, ValueMap, api_field_name

__all__ = [
    "FieldDef", "FieldMap", "MappedValue", "Mapping", "MappingError", "ObjectMap", "ValueMap", "api_field_name",
    "load_document", "load_mapping", "merge", "validate",
]
