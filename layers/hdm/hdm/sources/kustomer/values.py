"""Decoding Kustomer values: custom attributes typed by their name's suffix, timestamps, e-mail/phone lists and the
``meta.to/cc/bcc`` shapes (an object, a string or a list of either, as real data has them).

Custom attribute names carry their type (``orderNumberStr``, ``totalNum``, ``placedAt``, ``vipBool``,
``reasonTree``; developer.kustomer.com create-klass page, apis.md §3.4). A value that does not fit its suffix is
kept as it came and reported (never dropped, never costs the record).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

# suffix -> (canonical CustomFieldDef type, the source's type name); longest suffixes first when matching
SUFFIXES: dict[str, tuple[str, str]] = {
    "Str": ("text", "string"),
    "Txt": ("memo", "text"),
    "Num": ("decimal", "number"),
    "At": ("datetime", "date"),
    "Bool": ("bool", "boolean"),
    "Tree": ("choice", "tree"),
    "Url": ("text", "url"),
}
# metadata ``type`` -> canonical type, for attributes whose name has no known suffix
META_TYPES = {"string": "text", "text": "memo", "number": "decimal", "date": "datetime", "boolean": "bool",
              "tree": "choice", "url": "text"}
_SUFFIX = re.compile(r"^(?P<base>[a-z][A-Za-z0-9_]*?)(?P<suffix>Str|Txt|Num|At|Bool|Tree|Url)$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_ANGLE = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")


@dataclass
class Decoded:
    """Decoded custom values plus the problems found (attribute name, reason)."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def suffix_of(name: str) -> Optional[str]:
    m = _SUFFIX.match(name or "")
    return m.group("suffix") if m else None


def canonical_type(name: str, meta_type: Optional[str] = None) -> tuple[str, str]:
    """(canonical type, source type name) of a custom attribute, by its suffix, else by its metadata ``type``."""
    suffix = suffix_of(name)
    if suffix is not None:
        return SUFFIXES[suffix]
    if meta_type in META_TYPES:
        return META_TYPES[meta_type], meta_type
    return "other", meta_type or "unknown"


def iso_utc(value: Any) -> Optional[str]:
    """An ISO-8601 instant as ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (UTC); None when absent or not a timestamp."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}" if millis else "") + "Z"


def instant(value: str) -> dt.datetime:
    """An ISO timestamp as an aware datetime (for comparisons); ValueError when it is not one."""
    text = value.strip()
    moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def kustomer_time(moment: dt.datetime) -> str:
    """A datetime in Kustomer's own form (UTC, milliseconds, ``Z``)."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def decode_value(name: str, value: Any, meta_type: Optional[str] = None) -> tuple[Any, Optional[str]]:
    """(decoded value, problem or None) of one custom attribute. A value that does not fit comes back as it was,
    with the reason."""
    if value is None:
        return None, None
    ctype, _ = canonical_type(name, meta_type)
    if ctype in ("text", "memo"):
        if isinstance(value, str):
            return value, None
        if isinstance(value, (int, float, bool)):
            return str(value), None
        return value, f"expected text, got {type(value).__name__}"
    if ctype == "decimal":
        if isinstance(value, bool):
            return value, "expected a number, got a boolean"
        if isinstance(value, (int, float)):
            return (value, None) if math.isfinite(value) else (None, "not a finite number")
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return value, "expected a number, got text"
            if not math.isfinite(number):
                return value, "not a finite number"
            return (int(number) if number.is_integer() and "." not in value else number), None
        return value, f"expected a number, got {type(value).__name__}"
    if ctype == "datetime":
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # epoch milliseconds
            try:
                return iso_utc(dt.datetime.fromtimestamp(value / 1000, dt.UTC).isoformat()), None
            except (OverflowError, OSError, ValueError):
                return value, "epoch value out of range"
        stamp = iso_utc(value)
        return (stamp, None) if stamp is not None else (value, "expected a timestamp")
    if ctype == "bool":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", None
        if value in (0, 1):
            return bool(value), None
        return value, f"expected true/false, got {value!r}"[:120]
    if ctype == "choice":  # a tree value is the dotted path of the chosen node, e.g. "billing.refund"
        if isinstance(value, str):
            return value, None
        return value, f"expected a tree path, got {type(value).__name__}"
    return value, None


def decode_custom(custom: Any, metadata: Optional[dict[str, Any]] = None) -> Decoded:
    """Every custom attribute of a record, decoded by suffix (metadata types as the fallback)."""
    out = Decoded()
    if custom is None:
        return out
    if not isinstance(custom, dict):
        out.problems.append(("custom", f"custom attributes are a {type(custom).__name__}, not an object"))
        return out
    for name, value in custom.items():
        meta_type = ((metadata or {}).get(name) or {}).get("type") if isinstance(metadata, dict) else None
        decoded, problem = decode_value(str(name), value, meta_type)
        out.values[str(name)] = decoded
        if problem:
            out.problems.append((str(name), problem))
    return out


def _address(item: Any) -> Optional[str]:
    if isinstance(item, dict):
        for key in ("email", "address", "phone", "value", "id"):
            value = item.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None
    if isinstance(item, str):
        text = item.strip()
        angle = _ANGLE.search(text)  # "Name <a@b>"
        return angle.group(1) if angle else (text or None)
    return None


def recipients(value: Any) -> list[str]:
    """``meta.to``/``cc``/``bcc`` as a list of addresses, whatever the shape: a list of objects or strings, one
    object (``{"email", "name"}``), or a bare string (possibly comma-separated)."""
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [p for p in re.split(r"[,;]", value) if p.strip()] if "@" in value else [value]
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        address = _address(item)
        if address and address not in out:
            out.append(address)
    return out


def email_list(value: Any) -> list[str]:
    """``emails`` as addresses (objects ``{type, email, verified}`` or strings), duplicates dropped (case-blind),
    the order kept (the first is the primary)."""
    out: list[str] = []
    seen: set[str] = set()
    for item in value if isinstance(value, list) else ([value] if isinstance(value, str) else []):
        address = item.get("email") if isinstance(item, dict) else item
        if isinstance(address, str) and _EMAIL.match(address.strip()) and address.strip().lower() not in seen:
            seen.add(address.strip().lower())
            out.append(address.strip())
    return out


def phone_list(value: Any) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else ([value] if isinstance(value, (str, dict)) else []):
        number = item.get("phone") if isinstance(item, dict) else item
        if isinstance(number, str) and number.strip() and number.strip() not in out:
            out.append(number.strip())
    return out


def domain_list(value: Any) -> list[str]:
    """Company domains, lower-cased (the dedupe key), ``www.`` kept as given, duplicates dropped."""
    out: list[str] = []
    for item in value if isinstance(value, list) else ([value] if isinstance(value, str) else []):
        if isinstance(item, str) and item.strip():
            domain = item.strip().lower().rstrip(".")
            if domain not in out:
                out.append(domain)
    return out


def rel_id(resource: dict[str, Any], name: str) -> Optional[str]:
    """The id of a to-one relationship (``relationships.<name>.data.id``)."""
    rel = (resource.get("relationships") or {}).get(name)
    data = rel.get("data") if isinstance(rel, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value else None


def rel_ids(resource: dict[str, Any], name: str) -> list[str]:
    """The ids of a relationship, to-one or to-many."""
    rel = (resource.get("relationships") or {}).get(name)
    data = rel.get("data") if isinstance(rel, dict) else None
    if isinstance(data, dict):
        data = [data]
    return [str(d["id"]) for d in data or [] if isinstance(d, dict) and d.get("id")]
