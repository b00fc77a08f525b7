"""Loading a mapping: the pair's default YAML, validated by the JSON schema, with per-customer overrides.

A pair may start from another pair (``extends: <source>-<destination>``, e.g. a source whose records need no
mapping of their own): that pair's document, then this one merged over it, the same way as an override.

Overrides are merged key by key over the default (dicts merge recursively, anything else replaces), and a
``null`` field mapping removes the default one. The merged document is validated again, so a bad override
fails with a message naming the path that is wrong.
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import jsonschema
import yaml

from hdm.mapping.engine import GENERIC_TRANSFORMS
from hdm.mapping.fields import transform_names, vocabulary_for
from hdm.mapping.model import Mapping


class MappingError(ValueError):
    """A mapping document is not valid; the message names the place and the problem."""


def _schema() -> dict[str, Any]:
    text = resources.files("hdm.mapping").joinpath("mapping.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def default_mapping_path(source: str, destination: str) -> Path:
    path = Path(str(resources.files("hdm.mapping").joinpath("pairs", f"{source}-{destination}.yaml")))
    if not path.is_file():
        raise MappingError(f"no default mapping for the pair {source} -> {destination}")
    return path


def merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: dicts merge recursively; lists and scalars replace."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base[k], v) if k in base and isinstance(base[k], dict) and isinstance(v, dict) else v
        return out
    return copy.deepcopy(override)


def validate(document: Any, origin: str = "mapping") -> None:
    """The generic format (``mapping.schema.json``), the destination's field definitions (its vocabulary's
    schema) and the transforms field maps name (generic or the vocabulary's), reported together, ordered by
    path."""
    errors = list(jsonschema.Draft202012Validator(_schema()).iter_errors(document))
    destination = ((document.get("pair") or {}).get("destination") if isinstance(document, dict) else None)
    transforms = set(GENERIC_TRANSFORMS)
    if isinstance(destination, str):
        vocabulary = vocabulary_for(destination)
        errors += jsonschema.Draft202012Validator(vocabulary.schema()).iter_errors(document)
        transforms |= set(transform_names(vocabulary))
    errors += jsonschema.Draft202012Validator(_transforms_schema(sorted(transforms))).iter_errors(document)
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [f"{origin}: {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors[:10]]
        raise MappingError("invalid mapping:\n  " + "\n  ".join(lines))
    _check_references(document, origin)


def _transforms_schema(names: list[str]) -> dict[str, Any]:
    """A field map's ``transform`` is a generic one or one the destination's vocabulary declares."""
    field_map = {"if": {"type": "object"}, "then": {"properties": {"transform": {"enum": names}}}}
    fields = {"type": "object", "additionalProperties": field_map}
    return {"properties": {"objects": {"type": "object", "additionalProperties": {
        "if": {"type": "object"}, "then": {"properties": {"fields": fields}}}}}}


def _check_references(document: dict[str, Any], origin: str) -> None:
    maps = set((document.get("value_maps") or {}).keys())
    for obj, spec in (document.get("objects") or {}).items():
        for field, fmap in (spec.get("fields") or {}).items():
            if fmap and fmap.get("value_map") and fmap["value_map"] not in maps:
                raise MappingError(
                    f"{origin}: objects/{obj}/fields/{field}: value map {fmap['value_map']!r} is not defined"
                )


def _read_yaml(path: str | Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc.strerror}") from exc


_PAIR_NAME = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+$")
MAX_EXTENDS = 3


def _read_pair(path: Path, depth: int = 0) -> Any:
    """A pair's document with what it ``extends`` merged under it (bounded: no cycle can loop)."""
    document = _read_yaml(path)
    if not isinstance(document, dict) or "extends" not in document:
        return document
    parent = document["extends"]
    if not isinstance(parent, str) or not _PAIR_NAME.match(parent):
        raise MappingError(f"{path.name}: extends must name a pair as <source>-<destination>")
    if depth >= MAX_EXTENDS:
        raise MappingError(f"{path.name}: more than {MAX_EXTENDS} levels of extends")
    source, _, destination = parent.partition("-")
    base = _read_pair(default_mapping_path(source, destination), depth + 1)
    if not isinstance(base, dict):
        raise MappingError(f"{path.name}: the pair it extends ({parent}) is not a mapping document")
    return merge(base, {k: v for k, v in document.items() if k != "extends"})


def load_document(
    source: Optional[str] = None, destination: Optional[str] = None,
    override: Optional[str | Path | dict[str, Any]] = None, base: Optional[str | Path] = None,
) -> dict[str, Any]:
    """The merged, validated mapping document (plain data): the pair ``source``-``destination`` (both named:
    there is no default pair), or the document at ``base``."""
    if not base and not (source and destination):
        raise MappingError("name the mapping pair (source and destination) or give a mapping file")
    base_path = Path(base) if base else default_mapping_path(str(source), str(destination))
    document = _read_pair(base_path)
    validate(document, str(base_path.name))
    if override is not None:
        extra = override if isinstance(override, dict) else _read_yaml(override)
        if not isinstance(extra, dict):
            raise MappingError(f"override {override}: must be a mapping at the top level")
        document = merge(document, extra)
        validate(document, "merged mapping")
    _drop_removed_fields(document)
    return document


def _drop_removed_fields(document: dict[str, Any]) -> None:
    for spec in (document.get("objects") or {}).values():
        fields = spec.get("fields") or {}
        for name in [k for k, v in fields.items() if v is None]:
            del fields[name]


def load_mapping(
    source: Optional[str] = None, destination: Optional[str] = None,
    override: Optional[str | Path | dict[str, Any]] = None, base: Optional[str | Path] = None,
) -> Mapping:
    """The pair's mapping, with an optional per-customer override (a YAML path or a dict)."""
    return Mapping.from_document(load_document(source, destination, override, base))
