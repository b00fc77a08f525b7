"""Field-level validation after a load: read the records back and compare every mapped field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hdm.crosswalk.base import Crosswalk, Origin, State
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.api import SalesforceApi
from hdm.destinations.salesforce.chunk import payload_of

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


def verify_rows(api: SalesforceApi, crosswalk: Crosswalk, migration_id: str, phase: str,
                rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    obj = P.PRIMARY_OBJECT.get(phase)
    if phase in (P.USERS, P.QUEUES) or obj is None:
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
            if _norm(v) != _norm(rec.get(f)):
                mismatches.append({"source_key": skey, "dest_id": dest_id, "field": f,
                                   "expected": _preview(v), "actual": _preview(rec.get(f))})
    return mismatches


def _preview(v: Any) -> Any:
    if isinstance(v, str) and len(v) > 80:
        return v[:77] + "..."
    return v
