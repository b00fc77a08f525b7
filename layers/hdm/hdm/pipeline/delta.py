"""Delta runs in the pipeline: the run history with each run's high-water mark, hard-delete detection and
its policy. Generic: the source capability is in ``hdm/delta.py``; the core names no connector.

Options (``options:`` of the migration config):
- ``delta_lag_seconds`` (default 300): how far before the last mark a delta re-reads (late commits, clock skew);
- ``delta_deletes`` (default ``report``): what happens to records an earlier run loaded whose source record
  is gone: ``report`` lists them in the delta report and changes nothing; ``delete`` deletes from the
  destination what this migration created for them (matched records are never touched). ``mark`` is not
  implemented yet and is refused before anything is read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hdm.crosswalk.base import CrosswalkEntry, Origin, State, now_iso
from hdm.delta import DeltaError, NoEarlierRun, require_delta
from hdm.logging import get_logger

log = get_logger(__name__)

HISTORY_KEY = "delta/runs.json"
DEFAULT_LAG_SECONDS = 300
POLICIES = ("report", "delete")


class DeltaConfigError(DeltaError):
    """A delta option with a value hdm does not take."""


def delta_report_key(run_id: str) -> str:
    return f"reports/deltas/{run_id}.json"


def options(config: Any) -> tuple[int, str]:
    opts = getattr(config, "options", None) or {}
    try:
        lag = int(opts.get("delta_lag_seconds", DEFAULT_LAG_SECONDS))
    except (TypeError, ValueError):
        raise DeltaConfigError("options.delta_lag_seconds must be a whole number of seconds") from None
    if lag < 0:
        raise DeltaConfigError("options.delta_lag_seconds must not be negative")
    policy = str(opts.get("delta_deletes", "report"))
    if policy == "mark":
        raise DeltaConfigError("options.delta_deletes: 'mark' is not implemented yet; use 'report' or 'delete'")
    if policy not in POLICIES:
        raise DeltaConfigError(f"options.delta_deletes must be one of {', '.join(POLICIES)}")
    return lag, policy


def history(stage: Any) -> list[dict[str, Any]]:
    return stage.get_json(HISTORY_KEY) if stage.exists(HISTORY_KEY) else []


def finished(stage: Any, plan: dict[str, Any]) -> bool:
    """Whether the run that wrote ``plan`` finished (its plan is in the history)."""
    return any(r.get("planned_at") == plan.get("created_at") for r in history(stage))


def last_mark(stage: Any) -> dict[str, Any]:
    runs = [r for r in history(stage) if r.get("mark") is not None]
    if not runs:
        raise NoEarlierRun("no finished run to take a delta from (or it recorded no high-water mark): run the full "
                           "migration to the end first, then --delta")
    return runs[-1]["mark"]


def plan_delta(ctx: Any, source: Any) -> tuple[list[Any], dict[str, Any]]:
    """The delta run's chunks and its report (what it covers, what was deleted in the source)."""
    require_delta(source)
    lag, policy = options(ctx.config)
    since = last_mark(ctx.stage)
    chunks = source.plan_delta(ctx.config.chunk_rows, since, lag, f"d{ctx.run_id}")
    deleted = find_deleted(ctx, source)
    report = {"run_id": ctx.run_id, "since": since, "lag_seconds": lag, "delete_policy": policy,
              "chunks": len(chunks), "changed_estimate": _estimates(chunks),
              "deleted_in_source": deleted, "deleted_count": sum(len(v) for v in deleted.values()),
              "deletes_applied": None, "created_at": now_iso()}
    ctx.stage.put_json(delta_report_key(ctx.run_id), report)
    return chunks, report


def _estimates(chunks: list[Any]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for c in chunks:
        out[c.object_type] += int(c.estimated_rows or 0)
    return dict(out)


def find_deleted(ctx: Any, source: Any) -> dict[str, list[str]]:
    """Source keys an earlier run loaded (or matched) whose record the source no longer has, per object type
    (only the types the source can list; split parts ``message:42#1`` count as their record)."""
    lister = getattr(source, "live_keys", None)
    if not callable(lister):
        log.info("the %s source cannot list its keys: hard deletes are not detected",
                 getattr(source, "system", "source"))
        return {}
    live = lister()
    gone: dict[str, set[str]] = defaultdict(set)
    for e in ctx.crosswalk.iter_migration(ctx.migration_id):
        if e.state != State.LOADED:
            continue
        base = e.source_key.split("#", 1)[0]
        kind = base.split(":", 1)[0]
        if kind in live and base not in live[kind]:
            gone[kind].add(base)
    return {k: sorted(v) for k, v in sorted(gone.items())}


def apply_deletes(ctx: Any, destination: Any, phase_order: list[str]) -> dict[str, Any] | None:
    """Apply the delete policy of this delta run (its report says what the source deleted); ``None`` when this
    run is not a delta. Idempotent: records already rolled back are not touched again."""
    plan = ctx.stage.get_json("plan.json") if ctx.stage.exists("plan.json") else {}
    key = plan.get("delta_report")  # the run that planned the delta (a resumed run has another run id)
    if not key or not ctx.stage.exists(key):
        return None
    report = ctx.stage.get_json(key)
    keys = {k for ks in (report.get("deleted_in_source") or {}).values() for k in ks}
    applied: dict[str, Any] = {"policy": report["delete_policy"], "deleted": 0, "left_matched": 0}
    if report["delete_policy"] == "delete" and keys:
        entries = [e for e in ctx.crosswalk.iter_migration(ctx.migration_id)
                   if e.source_key.split("#", 1)[0] in keys and e.state == State.LOADED]
        applied["left_matched"] = sum(1 for e in entries if e.origin != Origin.CREATED)
        by_phase: dict[str, list[CrosswalkEntry]] = defaultdict(list)
        for e in entries:
            if e.origin == Origin.CREATED and e.dest_id:
                by_phase[e.phase].append(e)
        order = [p for p in phase_order if p in by_phase] + [p for p in by_phase if p not in phase_order]
        for phase in order:  # newest phase first: children before their parents
            done = destination.rollback(by_phase[phase])
            stamp = now_iso()
            for e in done:
                e.state, e.run_id, e.updated_at = State.ROLLED_BACK, ctx.run_id, stamp
                e.reason = "deleted in the source; deleted from the destination by the delta run (delta_deletes)"
            ctx.crosswalk.put_many(done)
            applied["deleted"] += len(done)
    report["deletes_applied"] = applied
    ctx.stage.put_json(key, report)
    return applied


def record_finished(ctx: Any, plan: dict[str, Any], ok: bool) -> list[dict[str, Any]]:
    """Append this run to the history once it finished well (its mark becomes the next delta's start); the
    history as it is then."""
    runs = history(ctx.stage)
    if ok and not any(r.get("run_id") == ctx.run_id for r in runs):
        entry = {"run_id": ctx.run_id, "mode": plan.get("mode", "full"), "mark": plan.get("mark"),
                 "planned_at": plan.get("created_at"), "finished_at": now_iso(), "chunks": len(plan.get("chunks", []))}
        key = plan.get("delta_report")
        if key and ctx.stage.exists(key):
            d = ctx.stage.get_json(key)
            entry.update(deleted_in_source=d.get("deleted_count", 0), deletes_applied=d.get("deletes_applied"),
                         changed_estimate=d.get("changed_estimate"))
        runs.append(entry)
        ctx.stage.put_json(HISTORY_KEY, runs)
    return runs
