"""The mapping engine: a canonical record and an object map in, the destination row's mapped fields out.

What it does is the same for every destination: field maps (canonical attribute(s) → destination field, with a
transform), value maps (status, priority, origin … with the map's default and ``lossy_value``/``defaulted``
flags), length limits (``truncated``), required fields (``defaulted``), fields decided at load time
(``when_audit_fields``) and custom field values. What a destination decides is passed in: how dates and
reference names are written (``transforms``), which custom fields exist (``resolve_custom``) and how a custom
value is encoded (``encode_custom``).

Flags are plain dicts ``{source_key, code, field, severity, reason}``, as the reconciliation report reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, Optional

from hdm.mapping.model import FieldMap, Mapping, ObjectMap

Transform = Callable[[Any], Any]


def split_name(full: str) -> tuple[Optional[str], str]:
    """``"Mary Ann Smith"`` → ``("Mary Ann", "Smith")``; one word is a last name."""
    parts = (full or "").strip().rsplit(" ", 1)
    if len(parts) == 2:
        return parts[0].strip() or None, parts[1].strip()
    return None, parts[0].strip()


def _email(value: Any) -> Optional[str]:
    text = str(value).strip()
    return text if "@" in text else None


GENERIC_TRANSFORMS: dict[str, Transform] = {
    "text": str,
    "first_name": lambda v: split_name(str(v))[0],
    "last_name": lambda v: split_name(str(v))[1] or None,
    "email": _email,
    "bool": bool,
}
"""Transforms every destination shares; ``datetime``, ``date`` and ``reference_name`` are the destination's."""


@dataclass(frozen=True)
class CustomTarget:
    """Where a source custom field goes: a destination field, or nowhere (with why, when a value is lost)."""

    field: Optional[str]
    reason: Optional[str] = None  # set when a value of the field is lost (flagged custom_value_not_migrated)


def flag(source_key: str, code: str, field: Optional[str], severity: str, reason: str) -> dict[str, Any]:
    return {"source_key": source_key, "code": code, "field": field, "severity": severity, "reason": reason}


class MappingError(ValueError):
    """The engine cannot run this mapping (e.g. a transform nobody provides)."""


class MappingEngine:
    """Applies one :class:`Mapping` to canonical records; the destination supplies its own transforms."""

    def __init__(self, mapping: Mapping, transforms: Optional[MappingABC[str, Transform]] = None):
        self.mapping = mapping
        self.transforms: dict[str, Transform] = {**GENERIC_TRANSFORMS, **(transforms or {})}
        missing = sorted({fm.transform for om in mapping.objects.values() for fm in om.fields
                          if not fm.value_map and fm.transform not in self.transforms})
        if missing:
            raise MappingError(f"the mapping uses transforms the destination does not provide: {', '.join(missing)}")

    # -- standard fields ------------------------------------------------------------------------------------------
    def map_fields(self, rec: Any, om: ObjectMap, row: dict[str, Any], flags: list[dict[str, Any]]) -> None:
        """Every field map of ``om`` into ``row``; a field decided at load time goes to ``row["_audit"]``."""
        for fm in om.fields:
            if fm.when_audit_fields:
                # decided at load time, when the destination's permission is known
                row.setdefault("_audit", {})[fm.to] = {"when": fm.when_audit_fields,
                                                        "value": self.field_value(rec, fm, flags)}
                continue
            row[fm.to] = self.field_value(rec, fm, flags)

    def field_value(self, rec: Any, fm: FieldMap, flags: list[dict[str, Any]]) -> Any:
        raw = [getattr(rec, s, None) for s in fm.sources]
        raw = [r.value if hasattr(r, "value") and not isinstance(r, (str, int, float)) else r for r in raw]
        value: Any
        if fm.value_map:
            value = self._mapped_value(rec, fm, raw, flags)
        else:
            first = next((r for r in raw if r not in (None, "")), None)
            value = self.apply(fm.transform, first)
        if isinstance(value, str) and fm.max_length and len(value) > fm.max_length:
            flags.append(flag(rec.key, "truncated", fm.to, "warning",
                              f"{len(value)} characters cut to {fm.max_length}"))
            value = value[: fm.max_length]
        if value in (None, "") and fm.required:
            value = fm.default
            flags.append(flag(rec.key, "defaulted", fm.to, "info",
                              f"required field empty in the source; set to {fm.default!r}"))
        return value

    def _mapped_value(self, rec: Any, fm: FieldMap, raw: list[Any], flags: list[dict[str, Any]]) -> Any:
        assert fm.value_map is not None
        mv = self.mapping.map_value(fm.value_map, raw)
        value = mv.value if mv else None
        fallback = (self.mapping.value_maps[fm.value_map].default or {}).get("to")
        if mv is None and fallback is not None:
            # empty in the source: send the mapping's default rather than leave the field to the destination's own
            # default (the record then says what the mapping decided, and verification compares like for like)
            value = fallback
            flags.append(flag(rec.key, "defaulted", fm.to, "info",
                              f"empty in the source; set to the mapping's default {fallback!r}"))
        if mv and mv.lossy:
            flags.append(flag(rec.key, "lossy_value", fm.to, "warning",
                              f"{mv.source_value!r} -> {mv.value!r}: {mv.note or 'lossy value map'}"))
        return value

    def apply(self, transform: str, value: Any) -> Any:
        """One transform of one value; an empty value stays ``None`` whatever the transform."""
        if value in (None, ""):
            return None
        return self.transforms.get(transform, str)(value)

    # -- custom fields --------------------------------------------------------------------------------------------
    def map_custom_fields(self, rec: Any, owner: str, row: dict[str, Any], flags: list[dict[str, Any]],
                          resolve: Optional[Callable[[str, str], CustomTarget]] = None,
                          encode: Transform = lambda v: v) -> None:
        """The record's ``custom`` values into their destination fields. ``resolve`` says where a field goes
        (default: the name the mapping gives it); a non-empty value whose field goes nowhere with a reason is
        flagged ``custom_value_not_migrated``."""
        for name, value in (getattr(rec, "custom", None) or {}).items():
            if resolve is None:
                target = CustomTarget(self.mapping.custom_field_name(owner, name))
            else:
                target = resolve(owner, name)
            if target.field is None:
                if target.reason is not None and value not in (None, "", [], {}):
                    flags.append(flag(rec.key, "custom_value_not_migrated", name, "warning",
                                      f"custom field {name!r}: {target.reason}"))
                continue
            row[target.field] = encode(value)
