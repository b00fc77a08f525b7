"""Custom-field answers (``form_entry`` / ``form_entry_values``) for a range of owners, the source of truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.sources.osticket import lookups
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import FieldFlag
from hdm.sources.osticket.values import PRESENTATION_ONLY_TYPES, FormValue, parse_form_value, zone_named


@dataclass
class Answers:
    """One owner's answers: field key → value, plus the raw priority id and problems to flag."""

    values: dict[str, Any] = field(default_factory=dict)
    priority_id: Optional[int] = None
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (code, reason, field)
    bad_text: list[str] = field(default_factory=list)


def answers_for(ctx: Context, object_type: str, lo: int, hi: int, owners_sql: str | None = None) -> dict[int, Answers]:
    """Answers of every ``object_type`` ('T', 'U', 'O', 'A') owner with id in [lo, hi] (buffered, chunk-sized).

    ``owners_sql`` replaces the id range by a subquery of owner ids that takes (lo, hi) as parameters.
    """
    out: dict[int, Answers] = defaultdict(Answers)
    if not ctx.has_table("form_entry"):
        return out
    fields = lookups.form_fields(ctx)
    rows = ctx.aux.fetch_all(
        f"SELECT e.object_id, v.field_id, v.value, v.value_id "
        f"FROM {ctx.t('form_entry')} e JOIN {ctx.t('form_entry_values')} v ON v.entry_id = e.id "
        f"WHERE e.object_type = %s AND "
        + (f"e.object_id IN ({owners_sql})" if owners_sql else "e.object_id BETWEEN %s AND %s")
        + " ORDER BY e.object_id, e.sort, e.id",
        (object_type, lo, hi))
    ctx.stats.read("form_entry_values", len(rows))
    plans: dict[int, Optional[_FieldPlan]] = {}
    zone = ctx.zone
    helpdesk_zone = zone_named(ctx.config.get("default_timezone") or "")
    for r in rows:
        ans = out[int(r["object_id"])]
        fid = int(r["field_id"])
        if fid in plans:
            plan = plans[fid]
        else:
            plan = plans[fid] = _plan(fields.get(fid), fid)
        if r.bad_text:
            ans.bad_text.append(f"field_{fid}")
        if plan is None:  # the field is gone
            ans.values[f"field_{fid}"] = r["value"]
            ans.problems.append(("dangling_fk", "an answer refers to a form field that no longer exists",
                                 f"field_{fid}"))
            continue
        if plan.skip:
            continue
        raw_id = r["value_id"]
        value_id = int(raw_id) if raw_id is not None else None
        if plan.is_priority:
            ans.priority_id = value_id
        if plan.plain:  # timezone: the answer as it is
            ans.values[plan.key] = r["value"]
            continue
        parsed = parse_form_value(plan.type, r["value"], value_id, plan.config, zone, helpdesk_zone)
        ans.values[plan.key] = parsed.value
        if parsed.problem:
            ans.problems.append((parsed.problem, problem_reason(plan.key, parsed), plan.key))
    return out


@dataclass(frozen=True)
class _FieldPlan:
    """What answers_for does with one field's answers, decided once per chunk."""

    key: str
    type: str
    config: dict[str, Any]
    skip: bool  # presentation-only or stored elsewhere
    is_priority: bool
    plain: bool  # the value is the answer


_PLAIN_TYPES = frozenset({"timezone"})
_EXT_STORED = int(FieldFlag.EXT_STORED)


def _plan(info: Optional[lookups.FieldInfo], fid: int) -> Optional[_FieldPlan]:
    if info is None:
        return None
    return _FieldPlan(key=info.key, type=info.type, config=info.config,
                      skip=info.type in PRESENTATION_ONLY_TYPES or bool(int(info.flags) & _EXT_STORED),
                      is_priority=info.type == "priority" or info.name == "priority",
                      plain=info.type in _PLAIN_TYPES)


ORIGINAL_SHOWN = 200  # characters of an unusable answer kept in its flag


def problem_reason(field_key: str, parsed: FormValue) -> str:
    """The report line of an answer that could not be used as stored: what was wrong and the stored text."""
    original = parsed.original if parsed.original is not None else ""
    if len(original) > ORIGINAL_SHOWN:
        original = original[:ORIGINAL_SHOWN] + "…"
    what = parsed.detail or "could not be read"
    if parsed.problem == "unparsed_value":
        return f"the answer of field {field_key!r} ({what}) was left empty; stored text: {original!r}"
    return f"the answer of field {field_key!r}: {what}; stored text: {original!r}"


def apply_problems(record: Any, ans: Answers) -> None:
    for code, reason, fld in ans.problems:
        record.flag(code, reason, field=fld)
    for fld in ans.bad_text:
        record.flag("invalid_text_bytes", "a custom-field answer held invalid bytes; replaced with U+FFFD", field=fld)
