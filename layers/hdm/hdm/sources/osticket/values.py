"""Turning osTicket column values into canonical values: dates to UTC, bytes to text, form answers.

Plain functions, no I/O. A problem never raises: the caller gets ``None`` or a best-effort value plus a
reason it turns into a :class:`hdm.model.Flag`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hdm.threads.body import decode_entities, to_plain_text

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
    """A datetime form answer as "…Z", or None when empty or not a date osTicket could have written.

    Kept for callers of the old name; :func:`parse_datetime_answer` says why a value failed.
    """
    return parse_datetime_answer(text, zones=(zone,)).iso


# How osTicket writes a DatetimeField answer (include/class.forms.php, DatetimePickerWidget::getValue):
# PHP's date('Y-m-d H:i:s T') in the field's (or the helpdesk's) timezone since 1.10.1, so the zone at the end is an
# abbreviation ("UTC", "EDT", "CET"), a bare offset for zones without one ("+03", "-0330"), or "GMT+0200" for offset
# zones; ≤ 1.10.0 stored a unix timestamp; the API and imports may store W3C/ISO text or a plain date.
_DT_RE = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:[T ]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?P<frac>\.\d{1,9})?)?)?"
    r"\s*(?P<tz>.*)")
_OFFSET_RE = re.compile(r"(?:(?:GMT|UTC|UT)\s*)?(?P<sign>[+-])(?P<hh>\d{1,2})(?::?(?P<mm>\d{2}))?", re.I)
_UTC_WORDS = frozenset({"Z", "UTC", "GMT", "UT", "ZULU", "UCT"})
_EPOCH_RE = re.compile(r"-?\d{1,12}(?:\.\d+)?")


class DateAnswer(NamedTuple):
    iso: Optional[str]
    problem: Optional[str] = None  # a sentence naming what could not be read


def parse_datetime_answer(text: Any, zones: tuple[Optional[dt.tzinfo], ...] = ()) -> DateAnswer:
    """A DatetimeField answer as a UTC "…Z" string.

    ``zones`` are the timezones the answer was probably written in, most likely first (the field's configured
    zone, the helpdesk's default zone, the database zone): a zone abbreviation is read as the offset it has in
    the first of them that uses it at that date, else as the one offset every tz database zone using it agrees on.
    A text without any zone is UTC (osTicket runs PHP in UTC). Unreadable text gives ``iso=None`` and a problem.
    """
    raw = as_text(text)
    value = (raw or "").strip()
    if not value:
        return DateAnswer(None)
    if _EPOCH_RE.fullmatch(value):
        seconds = float(value)
        if seconds <= 0:  # osTicket's to_php turns unreadable dates into 0: nothing was entered
            return DateAnswer(None)
        try:
            return DateAnswer(format_utc(dt.datetime.fromtimestamp(int(seconds), UTC)))
        except (OverflowError, OSError, ValueError):
            return DateAnswer(None, "a unix timestamp out of range")
    m = _DT_RE.fullmatch(value)
    if m is None:
        return DateAnswer(None, "not a date")
    try:
        year, month, day = (int(x) for x in m["date"].split("-"))
        frac = m["frac"] or ""
        local = dt.datetime(year, month, day, int(m["h"] or 0), int(m["m"] or 0), int(m["s"] or 0),
                            int((frac[1:] + "000000")[:6]) if frac else 0)
    except ValueError:
        return DateAnswer(None, "an impossible date")
    moment = _localise(local, m["tz"].strip(), zones)
    if moment is None:
        return DateAnswer(None, f"unknown or ambiguous timezone {m['tz'].strip()[:40]!r}")
    try:
        return DateAnswer(format_utc(moment))
    except (OverflowError, ValueError):
        return DateAnswer(None, "a date out of range")


def parse_date_answer(text: Any, zones: tuple[Optional[dt.tzinfo], ...] = ()) -> DateAnswer:
    """A date-only DatetimeField answer (``time`` off, osTicket's default) as "YYYY-MM-DD": the date as written
    (osTicket shows such a field as that date, whatever the stored time and zone); a unix timestamp (≤ 1.10.0) is
    read in the first known zone (the helpdesk's), else UTC."""
    raw = as_text(text)
    value = (raw or "").strip()
    if not value:
        return DateAnswer(None)
    if _EPOCH_RE.fullmatch(value):
        answer = parse_datetime_answer(value)
        if answer.iso is None:
            return answer
        moment = dt.datetime.fromisoformat(answer.iso.replace("Z", "+00:00"))
        zone = next((z for z in zones if z is not None), UTC)
        return DateAnswer(moment.astimezone(zone).date().isoformat())
    m = _DT_RE.fullmatch(value)
    if m is None:
        return DateAnswer(None, "not a date")
    checked = parse_datetime_answer(value, zones)  # the same rules decide what is readable
    if checked.iso is None:
        return checked
    year, month, day = (int(x) for x in m["date"].split("-"))
    return DateAnswer(dt.date(year, month, day).isoformat())


def _localise(local: dt.datetime, tz: str, zones: tuple[Optional[dt.tzinfo], ...]) -> Optional[dt.datetime]:
    if not tz or tz.upper() in _UTC_WORDS:
        return local.replace(tzinfo=UTC)
    off = _OFFSET_RE.fullmatch(tz)
    if off is not None:
        minutes = int(off["hh"]) * 60 + int(off["mm"] or 0)
        if minutes >= 24 * 60:
            return None
        sign = -1 if off["sign"] == "-" else 1
        return local.replace(tzinfo=dt.timezone(sign * dt.timedelta(minutes=minutes)))
    if "/" in tz:  # an Olson name (PHP's 'e' format, or an API client)
        try:
            return local.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    if not tz.isalpha() or len(tz) > 6:
        return None
    abbr = tz.upper()
    for zone in zones:
        if zone is None:
            continue
        for fold in (0, 1):
            candidate = local.replace(tzinfo=zone, fold=fold)
            if (candidate.tzname() or "").upper() == abbr:
                return candidate
    offsets = _abbreviation_offsets(abbr, local.year, local.month)
    if len(offsets) == 1:
        return local.replace(tzinfo=dt.timezone(next(iter(offsets))))
    return None


@functools.lru_cache(maxsize=256)
def _abbreviation_offsets(abbr: str, year: int, month: int) -> frozenset[dt.timedelta]:
    """The UTC offsets the tz database zones that call themselves ``abbr`` in that month have then."""
    probes = [dt.datetime(year, month, 1, 12), dt.datetime(year, month, 15, 12), dt.datetime(year, month, 28, 12)]
    found: set[dt.timedelta] = set()
    for name in _zone_names():
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        for probe in probes:
            aware = probe.replace(tzinfo=zone)
            if (aware.tzname() or "").upper() == abbr:
                offset = aware.utcoffset()
                if offset is not None:
                    found.add(offset)
    return frozenset(found)


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


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
    if source_type == "datetime" and not config.get("time"):
        return "date"  # the time picker is off (osTicket's default): a date
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
    """A parsed answer. With a ``problem`` that is not merely informative, ``value`` is None (the field stays empty)
    and ``original`` keeps the stored text for the report; ``detail`` says what was wrong."""

    value: Any
    problem: Optional[str] = None  # "unparsed_value" | "multiple_values_single_choice"
    detail: Optional[str] = None
    original: Optional[str] = None


def _unparsed(value: Any, detail: str) -> FormValue:
    return FormValue(None, "unparsed_value", detail, as_text(value))


@functools.lru_cache(maxsize=64)
def zone_named(name: str) -> Optional[dt.tzinfo]:
    """A timezone by its Olson name, or None when unknown (field configurations, config values)."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def shown_text(value: Optional[str]) -> Optional[str]:
    """A text answer as osTicket shows it: printed through ``htmlspecialchars`` without double encoding, so an
    entity the application stored escaped (``&amp;``, ``&gt;``) reads as its character, once."""
    if not value or "&" not in value:
        return value
    return decode_entities(value)


def memo_text(value: Optional[str], config: dict[str, Any] | None = None) -> Optional[str]:
    """A TextareaField answer as plain text: sanitised HTML when the field allows HTML (its default), else text
    shown through ``htmlspecialchars`` (entities decoded once)."""
    if not value:
        return value
    if (config or {}).get("html", True) and ("<" in value or "&" in value):
        return to_plain_text(value)  # the thread body walker: paragraphs, lists and links kept
    return shown_text(value)


_TRUE = frozenset({"1", "true", "on", "yes", "y"})
_FALSE = frozenset({"0", "", "false", "off", "no", "n"})


def parse_bool(value: Any) -> Optional[bool]:
    """A BooleanField answer ('1'/'0' since 1.8; '' and words from imports): None when it is none of those."""
    text = (as_text(value) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_PHONE_RE = re.compile(r"(?P<number>\d*)(?:[Xx](?P<ext>\d*))?")


def parse_phone(value: Any, config: dict[str, Any] | None = None) -> Optional[str]:
    """A PhoneField answer (``digits[Xext]``) as osTicket shows it: US numbers formatted (its default display
    format), the extension as `` x123``. Free text (older installs, imports) is kept as it is."""
    text = (as_text(value) or "").strip()
    if not text:
        return None
    m = _PHONE_RE.fullmatch(text)
    if m is None or not (m["number"] or m["ext"]):
        return text
    number, ext = m["number"] or "", m["ext"] or ""
    if (config or {}).get("format", "us") == "us":
        if len(number) == 10:
            number = f"({number[:3]}) {number[3:6]}-{number[6:]}"
        elif len(number) == 7:
            number = f"{number[:3]}-{number[3:]}"
    return f"{number} x{ext}" if ext else number


def _labels(parsed: Any) -> Optional[list[str]]:
    """The labels of a stored selection: ``{"key":"Label", …}`` (choices, list items) or a JSON list."""
    if isinstance(parsed, dict):
        out = []
        for k, v in parsed.items():
            if isinstance(v, dict):  # a list item with properties: its value, else its key
                v = v.get("value") or v.get("label") or k
            out.append(str(v if v not in (None, "") else k))
        return out
    if isinstance(parsed, list):
        return [str(v) for v in parsed if v not in (None, "")]
    return None


def parse_form_value(
    field_type: str, value: Optional[str], value_id: Optional[int], config: dict[str, Any] | None, zone: dt.tzinfo,
    helpdesk_zone: Optional[dt.tzinfo] = None,
) -> FormValue:
    """One ``form_entry_values`` answer as a canonical value (notes §4.2).

    Never raises. A value that cannot be read is not passed on raw (the destination would reject the whole
    record): the field stays empty and the problem keeps the stored text.
    """
    config = config or {}
    if value is None and value_id is None:
        return FormValue(None)
    if field_type == "text":
        return FormValue(shown_text(value))
    if field_type == "memo":
        return FormValue(memo_text(value, config))
    if field_type == "timezone":
        return FormValue(value)
    if field_type == "phone":
        return FormValue(parse_phone(value, config))
    if field_type == "bool":
        flag = parse_bool(value)
        return FormValue(flag) if flag is not None else _unparsed(value, "not a yes/no value")
    if field_type == "datetime":
        zones = (zone_named(config.get("timezone") or ""), helpdesk_zone, zone)
        if config.get("time"):
            answer = parse_datetime_answer(value, zones)
        else:  # a date-only field (the default): osTicket shows the date
            answer = parse_date_answer(value, (zone_named(config.get("timezone") or ""), helpdesk_zone))
        if answer.iso is None and answer.problem:
            return _unparsed(value, answer.problem)
        return FormValue(answer.iso)
    if field_type == "choices" or field_type.startswith("list-"):
        parsed = parse_json(value)
        labels = _labels(parsed)
        if labels is None:
            text = (value or "").strip()
            if not text:
                labels = []
            else:  # ≤ 1.9.3 list answers (item text + value_id), or a choice key stored bare
                known = {c["key"]: c["label"] for c in parse_choices_config(config.get("choices"))}
                labels = [known.get(text, text)]
        if config.get("multiselect"):
            return FormValue(labels)
        if len(labels) > 1:
            return FormValue(labels[0], "multiple_values_single_choice",
                             f"{len(labels)} values for a single-choice field; the first is kept", as_text(value))
        return FormValue(labels[0] if labels else None)
    if field_type in ("priority", "department", "topic", "sla"):
        labels = _labels(parse_json(value))
        if labels:
            return FormValue(labels[0])
        return FormValue(value)
    if field_type == "assignee":
        parsed = parse_json(value)
        if isinstance(parsed, dict) and parsed:
            ref = next(iter(parsed))
            if ref.startswith("s") and ref[1:].isdigit():
                return FormValue(f"agent:{ref[1:]}")
            if ref.startswith("t") and ref[1:].isdigit():
                return FormValue(f"team:team-{ref[1:]}")
        return _unparsed(value, "not an agent or team reference")
    if field_type == "files":
        parsed = parse_json(value)
        if isinstance(parsed, dict):
            return FormValue([str(v) for v in parsed.values()])
        if isinstance(parsed, list) and not parsed:
            return FormValue([])
        return _unparsed(value, "not a list of files")
    return FormValue(value if value is not None else value_id)
