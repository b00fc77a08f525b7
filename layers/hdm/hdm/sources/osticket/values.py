"""Turning osTicket column values into canonical values: dates to UTC, bytes to text, form answers.

Plain functions, no I/O. A problem never raises: the caller gets ``None`` or a best-effort value plus a
reason it turns into a :class:`hdm.model.Flag`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional
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


class DateResult(NamedTuple):
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
    try:
        return DateResult(format_utc(moment))
    except OverflowError:  # e.g. 0001-01-01 00:00 east of UTC: no such UTC moment
        return DateResult(None, "invalid_date")


_HOUR_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d) (\d\d)")
_DAY_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d)")
# ":MM:SS" → ":MM:SSZ" for every valid minute and second: the tail of a DATETIME that a whole-hour offset keeps
_TAILS = {f":{m:02d}:{s:02d}".encode(): f":{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)}
_HOURS = {f" {h:02d}".encode(): f"T{h:02d}" for h in range(24)}
_NO_PREFIX = ""
# tz database names of zones that are UTC at every moment
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "GMT",
                        "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich",
                        "Etc/Greenwich"})


class DateConverter:
    """:func:`to_utc_iso` with small caches, for the extraction hot path.

    A value as the server sends it (``b"YYYY-MM-DD HH:MM:SS"``) is converted without building a datetime:
    in UTC (TIMESTAMP columns, or a UTC ``db_timezone``) by checking its day once (cached) and re-punctuating
    it; in another zone, when its local hour has one whole-hour UTC offset throughout, by joining the cached
    UTC hour ("YYYY-MM-DDTHH") with its own minutes and seconds. Anything else (datetime objects, fractions
    of seconds, zero or impossible dates, years before 1000, hours with a DST change, half-hour zones) takes
    :func:`to_utc_iso`, so results and problems are the same either way. Caches are bounded (``max_entries``).
    """

    def __init__(self, zone: dt.tzinfo, max_entries: int = 20_000) -> None:
        self.zone = zone
        self.zone_is_utc = zone is UTC or getattr(zone, "key", None) in _UTC_NAMES
        self.max_entries = max_entries
        self._local: dict[bytes, str] = {}  # local hour → UTC hour prefix, or _NO_PREFIX (use the slow path)
        self._days: dict[bytes, str] = {}  # "YYYY-MM-DD" → itself as text when a real day, else _NO_PREFIX

    def convert(self, value: Any, *, already_utc: bool = False) -> DateResult:
        if type(value) is bytes and len(value) == 19:
            tail = _TAILS.get(value[13:])
            if tail is not None:
                if already_utc or self.zone_is_utc:
                    hour = _HOURS.get(value[10:13])
                    day_key = value[:10]
                    day = self._days.get(day_key)
                    if day is None:
                        day = self._remember(self._days, day_key, self._day(day_key))
                    if day and hour:
                        return DateResult(day + hour + tail)
                else:
                    head = value[:13]
                    prefix = self._local.get(head)
                    if prefix is None:
                        prefix = self._remember(self._local, head, self._hour_prefix(head, self.zone))
                    if prefix:
                        return DateResult(prefix + tail)
        return to_utc_iso(value, self.zone, already_utc=already_utc)

    def _remember(self, cache: dict[bytes, str], key: bytes, value: str) -> str:
        if len(cache) >= self.max_entries:
            cache.clear()
        cache[key] = value
        return value

    @staticmethod
    def _day(key: bytes) -> str:
        m = _DAY_RE.fullmatch(key)
        if m is None:
            return _NO_PREFIX
        year, month, day = (int(g) for g in m.groups())
        if year < 1000:  # strftime writes such years unpadded: leave them to to_utc_iso
            return _NO_PREFIX
        try:
            dt.date(year, month, day)
        except ValueError:  # zero or impossible date: to_utc_iso reports it
            return _NO_PREFIX
        return key.decode("ascii")

    @staticmethod
    def _hour_prefix(head: bytes, zone: dt.tzinfo) -> str:
        m = _HOUR_RE.fullmatch(head)
        if m is None:
            return _NO_PREFIX
        try:
            start = dt.datetime(*(int(g) for g in m.groups()))
        except ValueError:  # zero or impossible date: to_utc_iso reports it
            return _NO_PREFIX
        offset = zone.utcoffset(start)
        if offset is None or offset != zone.utcoffset(start.replace(minute=59, second=59)):
            return _NO_PREFIX  # the offset changes within this hour
        if offset.total_seconds() % 3600:
            return _NO_PREFIX  # a half-hour (or odder) offset moves the minutes too
        try:
            utc = start - offset
        except OverflowError:
            return _NO_PREFIX
        if utc.year < 1000:
            return _NO_PREFIX
        return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}"


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
