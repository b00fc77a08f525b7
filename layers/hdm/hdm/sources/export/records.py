"""One bundle line → one canonical record, leniently: a bad value costs that value, never the record.

A line is refused (an error naming the file and line) only when it cannot be a record of its file at all: not a
JSON object, another ``_type`` than the file holds, no usable provenance (system, object, id). Any other field whose
value does not fit the model's type for it (a number for a date, an unknown enum value, a string for a list) is left
at its default and the record carries a ``bad_value`` flag naming the field; a field the model does not know is
dropped with an ``unknown_field`` flag. The checks read the model's own type hints, so they follow the model
as it changes (whatever its codec).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

import orjson

from hdm import model
from hdm.model import Record, record_from_dict

IDENTITY_FIELDS = ("system", "object", "id")


class LineRefused(ValueError):
    """The line is not a record of its file (the message says why, without quoting values)."""


def model_schema_version() -> int:
    """The schema version of the canonical model this hdm runs (bundles must carry the same)."""
    return int(getattr(model, "SCHEMA_VERSION", 1))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls, vars(model))
    return {n: h for n, h in hints.items() if not n.startswith("_") and get_origin(h) is not typing.ClassVar
            and n not in ("provenance", "flags", "OBJECT")}


def _fits(value: Any, ann: Any) -> bool:
    if ann is Any:
        return True
    origin = get_origin(ann)
    if origin is typing.Annotated:
        return _fits(value, get_args(ann)[0])
    if origin is Union or origin is types.UnionType:
        return any(_fits(value, a) for a in get_args(ann))
    if ann is type(None) or ann is None:
        return value is None
    if origin is typing.Literal:
        return value in get_args(ann)
    if origin in (list, tuple, set, frozenset):
        args = get_args(ann)
        return isinstance(value, list) and (not args or all(_fits(v, args[0]) for v in value))
    if origin is dict:
        args = get_args(ann)
        return isinstance(value, dict) and all(isinstance(k, str) for k in value) and (
            len(args) != 2 or all(_fits(v, args[1]) for v in value.values()))
    if ann is bool:
        return isinstance(value, bool)
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ann is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return any(value == m.value for m in ann)
    if isinstance(ann, type) and (dataclasses.is_dataclass(ann) or hasattr(ann, "__struct_fields__")):
        return isinstance(value, dict)
    return True  # a type this check does not know: the model decides


_DECODE = getattr(model, "decode_record", None)  # the model's own strict decoder, when it has one (model v2)


def parse_line(raw: bytes, object_type: str) -> Record:
    """The record of one bundle line of a file holding ``object_type`` records (:class:`LineRefused` if none).

    A line the model's strict decoder takes as it is (every value of its type) is that record; any other line
    goes the lenient way below, which keeps the record and flags what does not fit."""
    if _DECODE is not None:
        try:
            rec = _DECODE(raw)
        except Exception:  # noqa: BLE001 - not a clean record: the lenient path says why, or flags it
            rec = None
        prov = getattr(rec, "provenance", None)
        if rec is not None and rec.OBJECT.value == object_type and all(
                isinstance(getattr(prov, k, None), str) and getattr(prov, k) for k in IDENTITY_FIELDS):
            return rec
    return build_record(json_object(raw), object_type)


def json_object(raw: bytes) -> dict[str, Any]:
    """One JSONL line as a JSON object, or :class:`LineRefused` saying why not (never quoting its values);
    shared by every bundle reader."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        ends = raw.endswith(b"\n")
        raise LineRefused(f"not JSON ({exc.msg}, column {exc.colno})" + ("" if ends else "; the file may be truncated")
                          ) from None
    if not isinstance(data, dict):
        raise LineRefused(f"not a JSON object but {type(data).__name__}")
    return data


def build_record(data: dict[str, Any], object_type: str) -> Record:
    if data.get("_type") != object_type:
        raise LineRefused(f"_type {str(data.get('_type'))[:40]!r} in a file of {object_type} records")
    cls = model.RECORD_TYPES.get(object_type)
    if cls is None:
        raise LineRefused(f"{object_type!r} is not a canonical object type")
    prov = data.get("provenance")
    if not isinstance(prov, dict) or not all(isinstance(prov.get(k), str) and prov.get(k) for k in IDENTITY_FIELDS):
        raise LineRefused("provenance must be an object with non-empty strings system, object and id")
    hints = _hints(cls)
    clean: dict[str, Any] = {"_type": object_type}
    later: list[tuple[str, str, Optional[str]]] = []  # flags to add once the record exists
    clean["provenance"] = {k: v for k, v in prov.items() if k in ("system", "object", "id", "version")
                           and (isinstance(v, str) or (k == "version" and v is None))}
    flags = data.get("flags", [])
    good_flags = []
    if isinstance(flags, list):
        for f in flags:
            if isinstance(f, dict) and isinstance(f.get("code"), str) and isinstance(f.get("reason"), str):
                good_flags.append({k: f[k] for k in ("code", "reason", "field", "severity") if k in f
                                   and (f[k] is None or isinstance(f[k], str))})
            else:
                later.append(("bad_value", "a flag of the record is not {code, reason, field, severity}", "flags"))
    else:
        later.append(("bad_value", "flags is not a list", "flags"))
    clean["flags"] = good_flags
    for name, value in data.items():
        if name in ("_type", "provenance", "flags"):
            continue
        ann = hints.get(name)
        if ann is None:
            later.append(("unknown_field", f"{object_type} has no field {name[:60]!r}; dropped", name[:60]))
        elif not _fits(value, ann):
            later.append(("bad_value", f"value of type {type(value).__name__} does not fit {name}; left empty", name))
        else:
            clean[name] = value
    try:
        rec = record_from_dict(clean)
    except Exception as exc:  # noqa: BLE001 - what the type check did not foresee (any codec's error): refuse, never guess
        raise LineRefused(f"not a valid {object_type} record ({type(exc).__name__})") from None
    for code, reason, field in later:
        rec.flag(code, reason, field=field)
    return rec
