"""Field definitions and transforms belong to the destination: the generic mapping format carries them
(``schema``, ``custom_objects``, ``custom_fields.types``, an override's ``type``, and a field map's
``transform``) without knowing their vocabulary.

A destination that has a vocabulary declares it in its registration (:mod:`hdm.registry`), as the capability
``field_vocabulary`` (:data:`hdm.registry.FIELD_VOCABULARY`): a function returning an object with

- ``schema()``: a JSON schema the whole mapping document must also satisfy (it constrains only those parts);
- ``field_name(prefix, name)``: the destination field name for a source custom field name;
- ``definitions(document)``: the typed definitions the destination's prepare and checks read;
- ``transforms()``: the names of the transforms the destination provides besides the generic ones
  (:data:`hdm.mapping.engine.GENERIC_TRANSFORMS`); a field map may name only those. The destination passes
  their functions to :class:`hdm.mapping.engine.MappingEngine`.

For example, in ``hdm/destinations/<name>/connector.py``::

    def field_vocabulary():
        from hdm.destinations.<name>.fields import VOCABULARY
        return VOCABULARY

    registry.register_destination("<name>", Config, build,
                                  capabilities={registry.FIELD_VOCABULARY: field_vocabulary})

A destination without one (or a name no connector is registered under) takes :class:`PlainFields`: names are
``prefix + name``, no field definitions are allowed (a document that has some is refused) and only the generic
transforms.
"""

from __future__ import annotations

from typing import Any, Protocol

OWNED_SECTIONS = ("schema", "custom_objects")


class FieldVocabulary(Protocol):
    def schema(self) -> dict[str, Any]: ...

    def field_name(self, prefix: str, name: str) -> str: ...

    def definitions(self, document: dict[str, Any]) -> Any: ...

    def transforms(self) -> tuple[str, ...]: ...


class PlainFields:
    """The vocabulary of a destination that defines no fields of its own."""

    def __init__(self, destination: str):
        self.destination = destination

    def schema(self) -> dict[str, Any]:
        refused = {"not": {}, "description": f"{self.destination} declares no field vocabulary "
                                             "(its registration's field_vocabulary capability)"}
        return {"type": "object", "properties": {**{k: refused for k in OWNED_SECTIONS},
                                                 "custom_fields": {"properties": {"types": refused}}}}

    def field_name(self, prefix: str, name: str) -> str:
        return f"{prefix}{name}"

    def definitions(self, document: dict[str, Any]) -> None:
        return None

    def transforms(self) -> tuple[str, ...]:
        return ()


def vocabulary_for(destination: str) -> FieldVocabulary:
    """The field vocabulary the destination's registration declares (:data:`hdm.registry.FIELD_VOCABULARY`), else
    :class:`PlainFields`. A destination whose connector failed to load raises
    :class:`hdm.registry.ConnectorUnavailable` (its mapping must not be read as if it had no vocabulary)."""
    from hdm import registry

    try:
        connector = registry.destination(destination)
    except registry.ConnectorUnavailable:
        raise
    except registry.UnknownConnector:
        return PlainFields(destination)
    offer = connector.capability(registry.FIELD_VOCABULARY)
    return offer() if offer is not None else PlainFields(destination)


def transform_names(vocabulary: Any) -> tuple[str, ...]:
    """The transforms a vocabulary declares (none when it declares no ``transforms``)."""
    declared = getattr(vocabulary, "transforms", None)
    return tuple(declared()) if callable(declared) else ()
