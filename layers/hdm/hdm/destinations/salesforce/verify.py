"""Field-level validation after a load: read the records back and compare every mapped field."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional

from hdm.crosswalk.base import Crosswalk, Origin, State
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.chunk import payload_of
from hdm.destinations.salesforce.field_check import fold, parse_moment, parse_number

NOT_READ_BACK = {"VersionData", "FirstPublishLocationId", "CreatedDate", "ClosedDate", "Type"}


def _norm(value: Any) -> Any:
    if value is None or value == "" or value == "#N/A":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
            return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()
        except ValueError:
            return text
    try:
        return float(text) if text.strip().lstrip("-").replace(".", "", 1).isdigit() else text
    except ValueError:
        return text


def _text_form(text: str) -> str:
    """Text as the org keeps it: line endings normalised, trailing spaces of the whole value dropped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def same_value(meta: Optional[dict[str, Any]], want: Any, got: Any) -> bool:
    """Whether the org holds what was sent, by the field's semantics (from the describe):

    - a checkbox is never null: nothing sent reads back as false;
    - picklists compare without case and spacing (the org keeps its own spelling of a value), multi-select
      picklists as sets of choices;
    - a text longer than the field, cut by the org (or by the loader, flagged), matches its head;
    - text compares with line endings normalised;
    - date/times compare as instants to the second (zone and precision may differ), dates by calendar day;
    - numbers compare by value at the field's scale (1234.5 == "1,234.50"); ids by their 15-character form.
    Without a describe entry the generic normalisation applies."""
    if meta is None:
        return _norm(want) == _norm(got)
    t = meta.get("type")
    empty_w = want is None or want == "" or want == "#N/A"
    empty_g = got is None or got == ""
    if t == "boolean":
        return (False if empty_w else _norm(want) is True) == (False if empty_g else _norm(got) is True)
    if empty_w or empty_g:
        return empty_w and empty_g
    if t in ("date", "datetime"):
        a, b = parse_moment(want), parse_moment(got)
        if a is None or b is None:
            return _norm(want) == _norm(got)
        if t == "date":
            return a.date() == b.date()
        return abs((a - b).total_seconds()) < 1
    if t in ("double", "currency", "percent", "int", "long"):
        a, b = parse_number(want), parse_number(got)
        if a is None or b is None:
            return _norm(want) == _norm(got)
        scale = 0 if t in ("int", "long") else int(meta.get("scale") or 0)
        step = Decimal(1).scaleb(-scale)
        return a.quantize(step, ROUND_HALF_UP) == b.quantize(step, ROUND_HALF_UP)
    if t in ("reference", "id"):
        return str(want)[:15] == str(got)[:15]
    if t == "picklist":
        return fold(want) == fold(got)
    if t == "multipicklist":
        return {fold(c) for c in str(want).split(";") if c.strip()} == {fold(c) for c in str(got).split(";")
                                                                         if c.strip()}
    if isinstance(want, str) and isinstance(got, str):
        a, b = _text_form(want), _text_form(got)
        if a == b:
            return True
        length = int(meta.get("length") or 0)
        return bool(length) and len(a) > length and b == _text_form(a[:length])
    return _norm(want) == _norm(got)


def verify_rows(api: SalesforceApi, crosswalk: Crosswalk, migration_id: str, phase: str,
                rows: list[dict[str, Any]], fields_meta: Optional[dict[str, dict[str, Any]]] = None
                ) -> list[dict[str, Any]]:
    """Read the loaded records back and list the real mismatches (``fields_meta``: the object's describe
    fields by name, for the org's semantics; see :func:`same_value`)."""
    declared = P.PHASE_BY_NAME.get(phase)
    obj = declared.primary_object if declared is not None else None
    if declared is None or not declared.verified or obj is None:  # the declaration says what is read back
        return []
    dest_object = "Case.ParentId" if phase == P.CASE_PARENTS else obj
    entries = crosswalk.get_many(migration_id, [r["_source_key"] for r in rows])
    lookups = crosswalk.resolve(migration_id, {v for r in rows for v in (r.get("_lookups") or {}).values() if v})
    expected: dict[str, tuple[str, dict[str, Any]]] = {}
    for row in rows:
        e = next((x for x in entries.get(row["_source_key"], []) if x.dest_object == dest_object), None)
        if e is None or e.state != State.LOADED or e.origin == Origin.MERGED or e.origin == Origin.MATCHED and \
                phase != P.CASE_PARENTS:
            continue
        want = {k: v for k, v in payload_of(row).items() if k not in NOT_READ_BACK}
        for fld, ref in (row.get("_lookups") or {}).items():
            if fld in ("LinkedEntityId",):
                continue
            want[fld] = lookups.get(ref)
        if phase == P.CASE_PARENTS:
            want = {"ParentId": want.get("ParentId")}
            case = crosswalk.get(migration_id, row["_source_key"], "Case")
            if case is None or not case.dest_id:
                continue
            expected[case.dest_id] = (row["_source_key"], want)
        else:
            expected[e.dest_id] = (row["_source_key"], want)
    if not expected:
        return []
    fields = sorted({f for _, w in expected.values() for f in w})
    records = api.query_in(", ".join(["Id", *fields]), obj, "Id", list(expected))
    got = {r["Id"]: r for r in records}
    mismatches = []
    for dest_id, (skey, want) in expected.items():
        rec = got.get(dest_id)
        if rec is None:
            mismatches.append({"source_key": skey, "dest_id": dest_id, "field": None, "problem": "not found"})
            continue
        for f, v in want.items():
            if not same_value((fields_meta or {}).get(f), v, rec.get(f)):
                mismatches.append({"source_key": skey, "dest_id": dest_id, "field": f,
                                   "expected": _preview(v), "actual": _preview(rec.get(f))})
    return mismatches


def _preview(v: Any) -> Any:
    if isinstance(v, str) and len(v) > 80:
        return v[:77] + "..."
    return v
