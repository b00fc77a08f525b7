"""Turning osTicket column values into canonical values: dates to UTC, bytes to text, form answers.

Plain functions, no I/O. A problem never raises: the caller gets ``None`` or a best-effort value plus a
reason it turns into a :class:`hdm.model.Flag`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC


# -- dates ---------------------------------------------------------------------------------------

def load_zone(name: str | None) -> tuple[dt.tzinfo, Optional[str]]:
    """The timezone DATETIME values are stored in, and a problem description when it is unusable."""
    if not name:
        return UTC, "db_timezone is not set; DATETIME values were read as UTC"
    try:
        return ZoneInfo(name.strip()), None
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "db_timezone is not a known timezone name; DATETIME values were read as UTC"


@dataclass(frozen=True)
class DateResult:
    iso: Optional[str]
    problem: Optional[str] = None  # "zero_date" | "invalid_date"


_ZERO_RE = re.compile(r"^0000-00-00")


def to_utc_iso(value: Any, zone: dt.tzinfo, *, already_utc: bool = False) -> DateResult:
    """A DATETIME (in ``zone``) or TIMESTAMP (``already_utc``; the session runs in UTC) as "…Z".

    Zero dates (``0000-00-00 …``) and unparseable strings become ``None`` with a problem code.
    """
    if value is None:
        return DateResult(None)
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if not text or _ZERO_RE.match(text):
            return DateResult(None, "zero_date")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return DateResult(None, "invalid_date")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if already_utc else zone)
    return DateResult(format_utc(moment))


def format_utc(moment: dt.datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_or_w3c_to_iso(text: str, zone: dt.tzinfo) -> Optional[str]:
    """A datetime form answer: W3C string (1.10.1+) or unix epoch (≤ 1.10.0)."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,12}", text):
        return format_utc(dt.datetime.fromtimestamp(int(text), UTC))
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return format_utc(moment)


# -- text ----------------------------------------------------------------------------------------

def decode_text(raw: bytes, codec: str = "utf-8") -> tuple[str, bool]:
    """Decode column bytes; ``(text, True)`` when the bytes were not valid text.

    Invalid bytes become U+FFFD. A latin1 column (codec cp1252) is tried as UTF-8 first: osTicket always
    wrote UTF-8, so UTF-8 bytes there are the real text (double-encoding of old installs); bytes that are not
    UTF-8 are read as latin1 and reported.
    """
    if codec == "cp1252":
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace"), True
    try:
        return raw.decode(codec), False
    except UnicodeDecodeError:
        return raw.decode(codec, errors="replace"), True


def as_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def parse_json(text: Optional[str]) -> Any:
    """JSON from a text column, or ``None`` when empty or not JSON."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


# -- form fields ---------------------------------------------------------------------------------

CANONICAL_FIELD_TYPES = {
    "text": "text",
    "memo": "memo",
    "phone": "phone",
    "bool": "bool",
    "datetime": "datetime",
    "choices": "choice",
    "timezone": "text",
    "files": "file",
    "priority": "choice",
    "department": "choice",
    "topic": "choice",
    "sla": "choice",
    "assignee": "other",
}

PRESENTATION_ONLY_TYPES = {"thread", "break", "info"}


def canonical_field_type(source_type: str, config: dict[str, Any] | None) -> str:
    """The canonical type of a ``form_field.type`` (``list-N`` → choice/multichoice)."""
    config = config or {}
    if source_type.startswith("list-"):
        return "multichoice" if config.get("multiselect") else "choice"
    if source_type == "choices" and config.get("multiselect"):
        return "multichoice"
    if source_type == "text" and config.get("validator") == "number":
        return "decimal"
    return CANONICAL_FIELD_TYPES.get(source_type, "other")


def parse_choices_config(text: Any) -> list[dict[str, str]]:
    """``choices`` configuration: newline-separated ``key:Label`` lines (a bare line is key and label)."""
    out: list[dict[str, str]] = []
    if not isinstance(text, str):
        return out
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        k, sep, label = line.partition(":")
        out.append({"key": k.strip(), "label": (label if sep else k).strip()})
    return out


@dataclass(frozen=True)
class FormValue:
    value: Any
    problem: Optional[str] = None


def parse_form_value(
    field_type: str, value: Optional[str], value_id: Optional[int], config: dict[str, Any] | None, zone: dt.tzinfo
) -> FormValue:
    """One ``form_entry_values`` answer as a canonical value (notes §4.2)."""
    config = config or {}
    if value is None and value_id is None:
        return FormValue(None)
    if field_type in ("text", "memo", "phone", "timezone"):
        return FormValue(value)
    if field_type == "bool":
        if value in ("1", "0"):
            return FormValue(value == "1")
        if value in (None, ""):
            return FormValue(None)
        return FormValue(value, "unparsed_value")
    if field_type == "datetime":
        iso = epoch_or_w3c_to_iso(value or "", zone)
        return FormValue(iso) if iso or not value else FormValue(value, "unparsed_value")
    if field_type == "choices" or field_type.startswith("list-"):
        parsed = parse_json(value)
        multi = bool(config.get("multiselect"))
        if isinstance(parsed, dict):
            labels = [str(v) for v in parsed.values()]
        elif value is not None and value_id is not None and parsed is None:
            labels = [value]  # ≤ 1.9.3 list answers: item text + value_id
        elif isinstance(parsed, list):
            labels = [str(v) for v in parsed]
        elif value:
            return FormValue(value, "unparsed_value")
        else:
            labels = []
        if multi:
            return FormValue(labels)
        if len(labels) > 1:
            return FormValue(labels[0], "multiple_values_single_choice")
        return FormValue(labels[0] if labels else None)
    if field_type in ("priority", "department", "topic", "sla"):
        return FormValue(value)
    if field_type == "assignee":
        parsed = parse_json(value)
        if isinstance(parsed, dict) and parsed:
            ref = next(iter(parsed))
            if ref.startswith("s") and ref[1:].isdigit():
                return FormValue(f"agent:{ref[1:]}")
            if ref.startswith("t") and ref[1:].isdigit():
                return FormValue(f"team:team-{ref[1:]}")
        return FormValue(value, "unparsed_value")
    if field_type == "files":
        parsed = parse_json(value)
        if isinstance(parsed, dict):
            return FormValue([str(v) for v in parsed.values()])
        return FormValue(value, "unparsed_value")
    return FormValue(value if value is not None else value_id)
