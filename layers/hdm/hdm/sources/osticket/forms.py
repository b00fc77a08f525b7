"""Custom-field answers (``form_entry`` / ``form_entry_values``) for a range of owners, the source of truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

from hdm.sources.osticket import lookups
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.flags import FieldFlag
from hdm.sources.osticket.values import PRESENTATION_ONLY_TYPES, parse_form_value


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
        f"SELECT e.object_id, e.form_id, v.field_id, v.value, v.value_id "
        f"FROM {ctx.t('form_entry')} e JOIN {ctx.t('form_entry_values')} v ON v.entry_id = e.id "
        f"WHERE e.object_type = %s AND "
        + (f"e.object_id IN ({owners_sql})" if owners_sql else "e.object_id BETWEEN %s AND %s")
        + " ORDER BY e.object_id, e.sort, e.id",
        (object_type, lo, hi))
    ctx.stats.read("form_entry_values", len(rows))
    for r in rows:
        ans = out[int(r["object_id"])]
        fid = int(r["field_id"])
        info = fields.get(fid)
        if r.bad_text:
            ans.bad_text.append(f"field_{fid}")
        if info is None:
            ans.values[f"field_{fid}"] = r["value"]
            ans.problems.append(("dangling_fk", "an answer refers to a form field that no longer exists",
                                 f"field_{fid}"))
            continue
        if info.type in PRESENTATION_ONLY_TYPES or info.flags & FieldFlag.EXT_STORED:
            continue
        value_id = int(r["value_id"]) if r["value_id"] is not None else None
        if info.type == "priority" or info.name == "priority":
            ans.priority_id = value_id
        parsed = parse_form_value(info.type, r["value"], value_id, info.config, ctx.zone)
        ans.values[info.key] = parsed.value
        if parsed.problem:
            ans.problems.append((parsed.problem, f"the answer of field {info.key!r} could not be fully parsed",
                                 info.key))
    return out


def apply_problems(record: Any, ans: Answers) -> None:
    for code, reason, fld in ans.problems:
        record.flag(code, reason, field=fld)
    for fld in ans.bad_text:
        record.flag("invalid_text_bytes", "a custom-field answer held invalid bytes; replaced with U+FFFD", field=fld)
