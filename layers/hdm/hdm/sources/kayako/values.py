"""Kayako custom-field values decoded from the way Kayako encodes them, addressed by the field's API ``key``
(never its title: titles are localisable and not unique).

Encodings (developer.kayako.com/api/v1/cases/fields; the Zammad importer's examples): SELECT / RADIO /
CASCADINGSELECT → an option id; CHECKBOX → comma-separated option ids; YESNO → ``yes``/``no``; DATE →
``YYYY-MM-DDT00:00:00+00:00``; NUMERIC / DECIMAL → digits; FILE → ``""``; cascading option labels use ``\\``
between levels. A bad value costs only itself: it is kept raw and flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

# Kayako field type → canonical CustomFieldDef.type
FIELD_TYPES: dict[str, str] = {
    "TEXT": "text", "TEXTAREA": "memo", "REGEX": "text", "CHECKBOX": "multichoice", "RADIO": "choice",
    "SELECT": "choice", "CASCADINGSELECT": "choice", "DATE": "date", "NUMERIC": "integer", "DECIMAL": "decimal",
    "YESNO": "bool", "FILE": "file",
}
SYSTEM_TYPES = frozenset({"SUBJECT", "MESSAGE", "PRIORITY", "STATUS", "TYPE", "TEAM", "ASSIGNEE"})
PREFERRED_LOCALES = ("en-us", "en")


def translation(values: Any, locale: Optional[str] = None) -> Optional[str]:
    """The text of a list of ``locale_field`` records: ``locale``'s, else English, else the first."""
    texts = [(v.get("locale"), v.get("translation")) for v in values or [] if isinstance(v, dict)
             and isinstance(v.get("translation"), str)]
    if not texts:
        return None
    for wanted in ((locale,) if locale else ()) + PREFERRED_LOCALES:
        for loc, text in texts:
            if loc and wanted and loc.lower() == wanted.lower():
                return text
    return texts[0][1]


@dataclass
class FieldDef:
    id: int
    key: str
    type: str
    title: str
    options: dict[str, str] = field(default_factory=dict)  # option id (as text) → label
    enabled: bool = True
    system: bool = False


def field_def(raw: Mapping[str, Any]) -> Optional[FieldDef]:
    """A definition as listed (options included with ``field_option,locale_field``); ``None`` for a bare
    reference (a deleted definition: no key, no type)."""
    key, kind = raw.get("key"), raw.get("type")
    if not isinstance(key, str) or not key or not isinstance(kind, str):
        return None
    options: dict[str, str] = {}
    for opt in raw.get("options") or []:
        if isinstance(opt, dict) and opt.get("id") is not None:
            label = translation(opt.get("values"))
            if label is not None:
                options[str(opt["id"])] = label
    return FieldDef(int(raw.get("id") or 0), key, kind, str(raw.get("title") or ""), options,
                    bool(raw.get("is_enabled", True)), bool(raw.get("is_system", False)))


@dataclass
class Decoded:
    """A decoded value, or the raw value with the problem that kept it from decoding."""

    value: Any
    problem: Optional[str] = None


def decode(fd: FieldDef, raw: Any) -> Decoded:  # noqa: C901 - one flat table of encodings
    if raw is None:
        return Decoded(None)
    text = str(raw).strip()
    kind = fd.type
    if kind in ("TEXT", "TEXTAREA", "REGEX"):
        return Decoded(str(raw) if str(raw) != "" else None)
    if text == "":
        return Decoded(None)
    if kind in ("SELECT", "RADIO", "CASCADINGSELECT"):
        label = fd.options.get(text)
        return Decoded(label) if label is not None else Decoded(text, f"option id {text!r} is not an option")
    if kind == "CHECKBOX":
        ids = [p.strip() for p in text.split(",") if p.strip()]
        labels = [fd.options.get(i) for i in ids]
        unknown = [i for i, lab in zip(ids, labels, strict=True) if lab is None]
        if unknown:
            return Decoded([lab if lab is not None else i for i, lab in zip(ids, labels, strict=True)],
                           f"option id(s) {', '.join(unknown)} are not options")
        return Decoded(labels)
    if kind == "YESNO":
        low = text.lower()
        if low in ("yes", "1", "true"):
            return Decoded(True)
        if low in ("no", "0", "false"):
            return Decoded(False)
        return Decoded(text, f"{text!r} is neither yes nor no")
    if kind == "DATE":
        try:
            return Decoded(dt.date.fromisoformat(text[:10]).isoformat())
        except ValueError:
            return Decoded(text, f"{text!r} is not a date")
    if kind == "NUMERIC":
        try:
            return Decoded(int(text))
        except ValueError:
            return Decoded(text, f"{text!r} is not a whole number")
    if kind == "DECIMAL":
        try:
            number = float(text)
        except ValueError:
            return Decoded(text, f"{text!r} is not a number")
        return Decoded(number)
    if kind == "FILE":
        return Decoded(text, "file field values are not downloadable through the API; the raw value is kept")
    return Decoded(str(raw), f"field type {kind!r} is not known; the raw value is kept")


@dataclass
class FieldValues:
    """What a record's ``custom_fields`` list decodes into: values by key, flags, deleted-field values."""

    custom: dict[str, Any] = field(default_factory=dict)
    flags: list[tuple[str, str, Optional[str], str]] = field(default_factory=list)  # (code, reason, field, sev)
    deleted: dict[str, Any] = field(default_factory=dict)  # field id → raw value of a deleted definition


def decode_all(entries: Iterable[Any], defs: Mapping[int, FieldDef]) -> FieldValues:
    """Decode ``[{field, value}, ...]``. The definition comes from ``defs`` (the listed definitions, with
    options), else from the entry itself; a field whose definition is gone is flagged and its value kept in
    ``deleted`` (never fatal). System fields are not custom values (the case carries them itself)."""
    out = FieldValues()
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        ref = entry.get("field") if isinstance(entry.get("field"), dict) else {}
        fid = int(ref.get("id") or 0)
        fd = defs.get(fid) or field_def(ref)
        if fd is None:
            out.deleted[str(fid)] = entry.get("value")
            out.flags.append(("deleted_field", f"a value of custom field {fid}, whose definition was deleted; "
                              "kept in extra.deleted_field_values", None, "warning"))
            continue
        if fd.system or fd.type in SYSTEM_TYPES:
            continue
        got = decode(fd, entry.get("value"))
        out.custom[fd.key] = got.value
        if got.problem:
            out.flags.append(("lossy_value", got.problem, f"custom.{fd.key}", "warning"))
    return out
