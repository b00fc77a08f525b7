"""Field definitions belong to the destination: the generic mapping format carries them (``schema``,
``custom_objects``, ``custom_fields.types`` and an override's ``type``) without knowing their vocabulary.

A destination that defines fields offers a *field vocabulary* in its package, ``hdm.destinations.<name>.fields``,
as a module-level ``VOCABULARY`` with:

- ``schema()``: a JSON schema the whole mapping document must also satisfy (it constrains only those parts);
- ``field_name(prefix, name)``: the destination field name for a source custom field name;
- ``definitions(document)``: the typed definitions the destination's prepare and checks read.

A destination without one takes :class:`PlainFields`: names are ``prefix + name`` and no field definitions are
allowed (a document that has some is refused, naming the module the destination lacks).
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

OWNED_SECTIONS = ("schema", "custom_objects")


class FieldVocabulary(Protocol):
    def schema(self) -> dict[str, Any]: ...

    def field_name(self, prefix: str, name: str) -> str: ...

    def definitions(self, document: dict[str, Any]) -> Any: ...


class PlainFields:
    """The vocabulary of a destination that defines no fields of its own."""

    def __init__(self, destination: str):
        self.destination = destination

    def schema(self) -> dict[str, Any]:
        refused = {"not": {}, "description": f"{self.destination} has no field vocabulary "
                                             f"(hdm.destinations.{self.destination}.fields)"}
        return {"type": "object", "properties": {**{k: refused for k in OWNED_SECTIONS},
                                                 "custom_fields": {"properties": {"types": refused}}}}

    def field_name(self, prefix: str, name: str) -> str:
        return f"{prefix}{name}"

    def definitions(self, document: dict[str, Any]) -> None:
        return None


def vocabulary_for(destination: str) -> FieldVocabulary:
    """The destination's field vocabulary (its package's ``fields`` module), else :class:`PlainFields`."""
    if not destination.isidentifier():
        return PlainFields(destination)
    module_name = f"hdm.destinations.{destination}.fields"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):  # the module itself is absent
            return PlainFields(destination)
        raise
    return module.VOCABULARY
