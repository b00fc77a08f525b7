"""The migration's steps. Both engines call exactly these functions.

Each step takes a :class:`Context` and a small JSON item, does one idempotent unit of work, and
returns a small JSON result (stage keys and counts, never records), so the same function serves a
Lambda task inside a Distributed Map and a worker of the local engine.

Order: discover → extract (fan out) → transform (fan out) → plan_load → [approval] →
prepare_destination → for each load phase: load (fan out) → reconcile_phase → final_report.
Rollback: rollback_phase for each phase, newest first.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hdm.crosswalk.base import Crosswalk, CrosswalkEntry, Origin, State, now_iso
from hdm.destinations.base import Destination, phase_graph
from hdm.logging import get_logger
from hdm.model import SCHEMA_VERSION, Record, check_schema_version, decode_records
from hdm.pipeline.config import MigrationConfig
from hdm.pipeline.report import error_flag_counts
from hdm.sources.base import ChunkSpec, CursorError, Source, attach_stage
from hdm.stage.base import Stage

log = get_logger(__name__)


class PhaseNotReconciled(RuntimeError):
    """A phase's figures do not add up: records are unaccounted for. The run stops here."""


class RejectThresholdExceeded(PhaseNotReconciled):
    """A load phase rejected more than the configured share of its records: the phases that depend on it (its
    dependants in the phase graph) are not loaded, the others still are, and the run ends failed (exit status
    11) saying which fields or rules caused it. The engines raise it (or report it) once every phase is done."""

    def __init__(self, message: str, stop: dict[str, Any]):
        super().__init__(message)
        self.stop = stop


class ApprovalRequired(RuntimeError):
    """The mapping has not been confirmed by a person yet."""


@dataclass
class Context:
    migration_id: str
    run_id: str
    config: MigrationConfig
    stage: Stage
    crosswalk: Crosswalk
    source: Callable[[], Source]  # per worker: the engine gives each thread or Lambda its own
    destination: Callable[[], Destination]


PLAN_KEY = "plan.json"
EXTRACT_MANIFEST = "manifests/extract.json"
TRANSFORM_MANIFEST = "manifests/transform.json"
LOAD_PLAN_KEY = "manifests/load-plan.json"


def load_manifest_key(phase: str) -> str:
    return f"manifests/load-{phase}.json"


def extract_key(chunk: ChunkSpec) -> str:
    return f"extract/{chunk.object_type}/{chunk.chunk_id}.jsonl.gz"


def extract_stats_key(chunk: ChunkSpec) -> str:
    return f"extract-stats/{chunk.object_type}/{chunk.chunk_id}.json"


def transform_key(phase: str, chunk_id: str) -> str:
    return f"transform/{phase}/{chunk_id}.jsonl.gz"


def transform_stats_key(chunk: ChunkSpec) -> str:
    return f"transform-stats/{chunk.object_type}/{chunk.chunk_id}.json"


def result_key(phase: str, chunk_id: str) -> str:
    return f"results/{phase}/{chunk_id}.json"


# -- discover -------------------------------------------------------------------------------------

def discover(ctx: Context, delta: bool = False) -> dict[str, Any]:
    """Plan the run. ``delta``: only what changed in the source since the last finished run's high-water mark
    (a source capability, see hdm/delta.py and hdm/pipeline/delta.py)."""
    from hdm.delta import DeltaNotSupported, supports_delta
    from hdm.pipeline import delta as deltas

    source = ctx.source()
    attach_stage(source, ctx.stage)  # a source over a staged export plans from the stage
    if delta:
        deltas.options(ctx.config)  # a bad delta option stops here, before the source is read
    mark = None
    if supports_delta(source):
        try:
            mark = source.delta_mark()  # the source's clock, before anything is read
        except DeltaNotSupported:
            if delta:
                raise
            # a full run of a source that cannot take delta runs later (e.g. an old database layout) goes on
            # without a mark; a delta asked for later is refused then, with the reason
    earlier = ctx.stage.get_json(PLAN_KEY) if ctx.stage.exists(PLAN_KEY) else None
    if mark is not None and earlier and earlier.get("mark") is not None and not delta \
            and earlier.get("mode", "full") == "full" and not deltas.finished(ctx.stage, earlier):
        mark = earlier["mark"]  # a full run planned again (resumed) keeps its first mark: nothing changed since is lost
    discovery = source.discover()
    if delta:
        chunks, delta_report = deltas.plan_delta(ctx, source)
    else:
        chunks, delta_report = source.plan(ctx.config.chunk_rows), None
    seen = Counter((c.object_type, c.chunk_id) for c in chunks)
    twice = sorted(f"{t}/{cid}" for (t, cid), n in seen.items() if n > 1)
    if twice:  # one id, one stage key: the second chunk would be taken for done and its records never load
        raise CursorError(f"the source planned chunks with the same id: {', '.join(twice[:5])}")
    plan = {
        "migration_id": ctx.migration_id,
        "system": discovery.system,
        "version": discovery.version,
        "counts": discovery.counts,
        "chunks": [c.to_dict() for c in chunks],
        "schema_version": SCHEMA_VERSION,
        "created_at": now_iso(),
        "mode": "delta" if delta else "full",
        "mark": mark,
        "delta_report": deltas.delta_report_key(ctx.run_id) if delta_report is not None else None,
    }
    ctx.stage.put_json(PLAN_KEY, plan)
    ctx.stage.put_json("reports/discovery.json", {"counts": discovery.counts, "details": discovery.details,
                                                   "version": discovery.version, "system": discovery.system})
    ctx.stage.put_json(EXTRACT_MANIFEST, [{"chunk": c.to_dict()} for c in chunks])
    return {
        "manifest_key": EXTRACT_MANIFEST,
        "chunks": len(chunks),
        "version": discovery.version,
        "max_concurrency": ctx.config.max_workers,
    }


# -- extract --------------------------------------------------------------------------------------

def extract_chunk(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    chunk = ChunkSpec.from_dict(item["chunk"])
    stats_key = extract_stats_key(chunk)
    if ctx.stage.exists(stats_key):  # done by an earlier (interrupted) run: the output is whole
        earlier = ctx.stage.get_json(stats_key)
        check_schema_version(earlier.get("schema_version"), extract_key(chunk))
        return {"chunk_id": chunk.chunk_id, "skipped": True, **earlier["summary"]}
    source = ctx.source()
    attach_stage(source, ctx.stage)
    by_type: Counter = Counter()
    flagged: Counter = Counter()
    errors: Counter = Counter()  # flags of severity error (a record that cannot be carried as it is), by code

    def records() -> Iterable[dict[str, Any]]:
        for rec in source.extract(chunk, blobs=ctx.stage):
            by_type[rec.OBJECT.value] += 1
            for f in rec.flags:
                flagged[f.code] += 1
                if f.severity == "error":
                    errors[f.code] += 1
            yield rec  # the stage encodes the struct straight to JSON

    started = time.monotonic()
    n = ctx.stage.write_records(extract_key(chunk), records())
    source_stats = getattr(source, "last_stats", None)
    summary = {"records": n, "by_type": dict(by_type), "flags": dict(flagged), "error_flags": dict(errors)}
    ctx.stage.put_json(stats_key, {
        "chunk": chunk.to_dict(),
        "schema_version": SCHEMA_VERSION,  # the canonical model the records are written with
        "summary": summary,
        "source_stats": _jsonable_stats(source_stats),
        "seconds": round(time.monotonic() - started, 3),
    })
    return {"chunk_id": chunk.chunk_id, **summary}


def _jsonable_stats(stats: Any) -> Any:
    if stats is None:
        return None
    if hasattr(stats, "to_dict"):
        return stats.to_dict()
    if hasattr(stats, "__dict__"):
        return {k: v for k, v in vars(stats).items() if not k.startswith("_")}
    return stats


# -- transform ------------------------------------------------------------------------------------

def transform_chunk(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    chunk = ChunkSpec.from_dict(item["chunk"])
    stats_key = transform_stats_key(chunk)
    destination = ctx.destination()
    fingerprint = destination.fingerprint() if hasattr(destination, "fingerprint") else None
    if ctx.stage.exists(stats_key):
        earlier = ctx.stage.get_json(stats_key)
        if earlier.get("fingerprint") == fingerprint:  # done, with the same mapping
            return {"chunk_id": chunk.chunk_id, "skipped": True, **earlier["summary"]}
        # the mapping changed since: drop the stale rows and their load results, so both are redone
        consumer = phase_graph(destination).consumer
        for output in earlier["summary"].get("rows_out", {}):
            ctx.stage.delete(transform_key(output, chunk.chunk_id))
            phase = consumer.get(output, output)
            ctx.stage.delete(result_key(phase, load_chunk_id(phase, transform_key(output, chunk.chunk_id))))
    records: list[Record] = read_extracted(ctx.stage, chunk)
    by_phase = dict(destination.transform(chunk.object_type, records))
    declared_skips = {s["_source_key"]: s.get("reason") or "skipped" for s in by_phase.pop(SKIPPED, [])}
    graph = phase_graph(destination)
    for output in by_phase:  # rows of an output no phase loads would be lost silently: a connector bug, stop
        graph.phase_of_output(output)
    rows_out: dict[str, int] = {}
    covered: set[str] = set()
    for phase, rows in by_phase.items():
        if rows:
            covered.update(base_key(r["_source_key"]) for r in rows)
            rows_out[phase] = ctx.stage.write_records(transform_key(phase, chunk.chunk_id), rows)
    # Every extracted record is accounted for: it became rows, or it is skipped with a reason.
    skipped: dict[str, str] = {}
    for rec in records:
        if rec.key in covered:
            continue
        skipped[rec.key] = declared_skips.get(rec.key) or (
            f"{destination.name} has no mapping for {rec.OBJECT.value} records (reported, not migrated)"
        )
    by_type_in = Counter(rec.OBJECT.value for rec in records)
    by_type_skipped = Counter(k.split(":", 1)[0] for k in skipped)
    summary = {"records_in": len(records), "rows_out": rows_out, "by_type_in": dict(by_type_in),
               "by_type_skipped": dict(by_type_skipped)}
    ctx.stage.put_json(stats_key, {"chunk": chunk.to_dict(), "summary": summary, "fingerprint": fingerprint,
                                   "skipped": [{"source_key": k, "reason": v} for k, v in skipped.items()]})
    return {"chunk_id": chunk.chunk_id, **summary}


def read_extracted(stage: Any, chunk: ChunkSpec) -> list[Record]:
    """The canonical records of an extracted chunk; a chunk staged with another schema version is refused."""
    stats_key = extract_stats_key(chunk)
    found = stage.get_json(stats_key).get("schema_version") if stage.exists(stats_key) else SCHEMA_VERSION
    check_schema_version(found, extract_key(chunk))
    return list(decode_records(stage.read_lines(extract_key(chunk))))


SKIPPED = "_skipped"  # transform() may return {"_skipped": [{"_source_key", "reason"}]} besides its phases


def base_key(source_key: str) -> str:
    """``message:42#1`` (second part of a split record) → ``message:42``."""
    return source_key.split("#", 1)[0]


def load_chunk_id(phase: str, key: str) -> str:
    """The chunk id a load item's results are kept under: the transform chunk's id, prefixed with the transform
    output when a phase loads an output not named like it (so two outputs' chunks never share a result)."""
    output, chunk_id = key.split("/")[-2], key.rsplit("/", 1)[-1].removesuffix(".jsonl.gz")
    return chunk_id if output == phase else f"{output}.{chunk_id}"


def plan_load(ctx: Context) -> dict[str, Any]:
    """After transform: one manifest of chunks per load phase, in the destination's dependency order (its
    declared phase graph), each phase with the transform outputs it consumes and its concurrency."""
    graph = phase_graph(ctx.destination())
    phases = []
    for phase in graph.order():
        keys = [k for output in phase.outputs for k in ctx.stage.list(f"transform/{output}/")]
        items = [{"phase": phase.name, "key": k} for k in keys]
        ctx.stage.put_json(load_manifest_key(phase.name), items)
        phases.append({
            "name": phase.name,
            "manifest_key": load_manifest_key(phase.name),
            "chunks": len(items),
            "max_concurrency": phase.max_concurrency,
            "after": list(phase.after),
            "rolled_back": phase.rolled_back,
        })
    ctx.stage.put_json(LOAD_PLAN_KEY, phases)
    from hdm.mapping import approval

    mapping_hash = approval.record_review(ctx.stage, ctx.destination())  # what the person reviews at the pause
    return {"phases": phases, "mapping_hash": mapping_hash}


# -- load -----------------------------------------------------------------------------------------

def prepare_destination(ctx: Context) -> dict[str, Any]:
    from hdm.mapping import approval

    destination = ctx.destination()
    approval.check(ctx.stage, destination)  # the load refuses a mapping other than the approved one
    if not ctx.stage.exists("reports/baseline.json"):  # the first run's baseline is the one rollback restores
        ctx.stage.put_json("reports/baseline.json", destination.baseline())
    try:
        report = destination.prepare({"migration_id": ctx.migration_id, "stage": ctx.stage})
    except Exception as exc:  # e.g. SchemaNotReady: keep what prepare found, then stop before any write
        ctx.stage.put_json("reports/prepare.json", {"error": f"{type(exc).__name__}: {exc}",
                                                    **(getattr(exc, "report", None) or {})})
        raise
    ctx.stage.put_json("reports/prepare.json", report)
    from hdm.pipeline.delta import apply_deletes

    order, _ = rollback_order(ctx)  # a delta run's delete policy applies before any phase loads
    deletes = apply_deletes(ctx, destination, order)
    if deletes is not None:
        log.info("delta run: source deletes handled: %s", deletes)
    return {"prepared": True, "needs_admin": len(report.get("needs_admin", []) if isinstance(report, dict) else [])}


def load_chunk(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    """Load one chunk. A chunk an earlier run finished (its result is staged) and that left no write of unknown
    fate (no pending crosswalk entry) is not loaded again: a resumed run continues where the last one stopped."""
    phase, key = item["phase"], item["key"]
    chunk_id = load_chunk_id(phase, key)
    rows = list(ctx.stage.read_records(key))
    done_key = result_key(phase, chunk_id)
    if ctx.stage.exists(done_key) and not _pending(ctx, rows):
        done = ctx.stage.get_json(done_key)
        return {"phase": phase, "chunk_id": chunk_id, "rows": len(rows), "counts": done.get("counts", {}),
                "api_calls": 0, "mismatches": len(done.get("mismatches") or []), "skipped": True}
    destination = ctx.destination()
    started = time.monotonic()
    result = destination.load_chunk(phase, chunk_id, rows, ctx.crosswalk, ctx.migration_id, ctx.run_id)
    out = result.to_dict()
    out["rows"] = len(rows)
    out["run_id"] = ctx.run_id
    out["load_seconds"] = round(time.monotonic() - started, 3)
    if getattr(ctx.config.destination, "verify_after_load", False):
        started = time.monotonic()
        out["mismatches"] = destination.verify_chunk(phase, rows, ctx.crosswalk, ctx.migration_id)
        out["verify_seconds"] = round(time.monotonic() - started, 3)
    ctx.stage.put_json(result_key(phase, chunk_id), out)
    return {"phase": phase, "chunk_id": chunk_id, "rows": len(rows), "counts": out["counts"],
            "api_calls": out["api_calls"], "mismatches": len(out.get("mismatches") or [])}


def _pending(ctx: Context, rows: list[dict[str, Any]]) -> bool:
    keys = [row["_source_key"] for row in rows]
    return any(e.state == State.PENDING for entries in ctx.crosswalk.get_many(ctx.migration_id, keys).values()
               for e in entries)


# -- reconcile ------------------------------------------------------------------------------------

def held_back_by(ctx: Context, phase: str) -> list[str]:
    """The phases ``phase`` comes after (its ``after``) that, in this run, stopped over their rejected share or
    were themselves held back: ``phase`` must not load. Empty when it may."""
    plan = ctx.stage.get_json(LOAD_PLAN_KEY) if ctx.stage.exists(LOAD_PLAN_KEY) else []
    after = next((p.get("after") or [] for p in plan if p.get("name") == phase), [])
    out = []
    for prerequisite in after:
        key = phase_report_key(prerequisite)
        report = ctx.stage.get_json(key) if ctx.stage.exists(key) else {}
        if report.get("run_id") == ctx.run_id and (report.get("stopped") or report.get("held_back")):
            out.append(prerequisite)
    return out


def held_back_phases(ctx: Context) -> list[str]:
    """Every phase this run holds back: the dependants of each phase that stopped over its rejected share."""
    plan = ctx.stage.get_json(LOAD_PLAN_KEY) if ctx.stage.exists(LOAD_PLAN_KEY) else []
    out: list[str] = []
    for p in plan:
        key = phase_report_key(p["name"])
        report = ctx.stage.get_json(key) if ctx.stage.exists(key) else {}
        if report.get("run_id") == ctx.run_id and report.get("stopped"):
            out += [d for d in report["stopped"].get("dependants") or [] if d not in out]
    return out


def phase_report_key(phase: str) -> str:
    return f"reports/phases/{phase}.json"


def _hold_back(ctx: Context, phase: str, because: list[str]) -> dict[str, Any]:
    """The report of a phase not loaded because a phase it depends on stopped: its records are counted (they
    stay staged; the next run loads them once the cause is fixed), none is loaded."""
    manifest = ctx.stage.get_json(load_manifest_key(phase)) if ctx.stage.exists(load_manifest_key(phase)) else []
    keys = {row["_source_key"] for item in manifest for row in ctx.stage.read_records(item["key"])}
    message = (f"phase {phase}: not loaded, it depends on {', '.join(because)}, which stopped over its rejected "
               "share (or was held back itself); the next run loads it once the cause is fixed")
    report = {"phase": phase, "run_id": ctx.run_id, "source": len(keys), "loaded": 0, "created": 0, "updated": 0,
              "matched": 0, "merged": 0, "rejected": 0, "held": 0, "skipped": 0, "rolled_back": 0, "flagged": 0,
              "api_calls": 0, "load_seconds": 0, "verify_seconds": 0, "chunks": len(manifest),
              "missing_chunk_results": 0, "failed_chunks": 0, "unexplained": [], "unexplained_count": 0,
              "field_mismatches": 0, "rejections": [], "flags": [], "mismatches": [], "flag_counts": {},
              "error_flag_counts": {}, "ok": False, "held_back": {"because": because, "message": message}}
    ctx.stage.put_json(phase_report_key(phase), report)
    log.info("%s", message)
    return {k: v for k, v in report.items() if not isinstance(v, list)}


def reconcile_phase(ctx: Context, phase: str, chunk_results: list[Any] | None = None) -> dict[str, Any]:
    """Every row the transform produced for this phase is loaded, matched, rejected, skipped or held,
    each with its reason; anything else is an unexplained difference and fails the run.

    ``chunk_results`` are the fan-out's outputs when the engine has them: a missing (null) or failed
    child output is itself a failure (Step Functions on moto does not enforce failure tolerance).

    A phase whose prerequisite stopped over its rejected share in this run (:func:`held_back_by`) is not
    reconciled but reported as held back. A phase passing the reject threshold does not raise: its report
    carries ``stopped`` (its dependants are then held back, the other phases still load) and the engine ends the
    run failed with :class:`RejectThresholdExceeded` once every phase is done.
    """
    because = held_back_by(ctx, phase)
    if because:
        return _hold_back(ctx, phase, because)
    failed_children = [r for r in (chunk_results or []) if not r or (isinstance(r, dict) and r.get("error"))]
    manifest = ctx.stage.get_json(load_manifest_key(phase)) if ctx.stage.exists(load_manifest_key(phase)) else []
    expected_keys: set[str] = set()
    for item in manifest:
        for row in ctx.stage.read_records(item["key"]):
            expected_keys.add(row["_source_key"])
    results = [ctx.stage.get_json(k) for k in ctx.stage.list(f"results/{phase}/")]
    missing_results = len(manifest) - len(results)

    entries = [e for e in ctx.crosswalk.iter_migration(ctx.migration_id, phase=phase)]
    by_key: dict[str, list[CrosswalkEntry]] = {}
    for e in entries:
        by_key.setdefault(e.source_key, []).append(e)

    counts: Counter = Counter()
    unexplained: list[dict[str, Any]] = []
    for skey in sorted(expected_keys):
        es = by_key.get(skey)
        if not es:
            unexplained.append({"source_key": skey, "why": "no crosswalk entry"})
            continue
        states = {e.state for e in es}
        if State.PENDING in states:
            unexplained.append({"source_key": skey, "why": "still pending (interrupted write)"})
        elif State.REJECTED in states:
            counts["rejected"] += 1
        elif State.HELD in states:
            counts["held"] += 1
        elif State.SKIPPED in states:
            counts["skipped"] += 1
        elif State.ROLLED_BACK in states:
            counts["rolled_back"] += 1
        elif all(e.origin == Origin.MATCHED for e in es):
            counts["matched"] += 1
        elif any(e.origin == Origin.MERGED for e in es):
            counts["merged"] += 1
        else:
            counts["loaded"] += 1
        for e in es:
            if e.state in (State.REJECTED, State.HELD, State.SKIPPED) and not e.reason:
                unexplained.append({"source_key": skey, "why": f"{e.state.value} without a reason"})

    rejected = [r for res in results for r in res.get("rejected", [])]
    flags = [f for res in results for f in res.get("flags", [])]
    mismatches = [m for res in results for m in (res.get("mismatches") or [])]
    api_calls = sum(res.get("api_calls", 0) for res in results)
    load_seconds = round(sum(res.get("load_seconds", 0) for res in results), 3)
    verify_seconds = round(sum(res.get("verify_seconds", 0) for res in results), 3)
    outcome_counts: Counter = Counter()
    for res in results:
        outcome_counts.update(res.get("counts", {}))

    report = {
        "phase": phase,
        "run_id": ctx.run_id,
        "source": len(expected_keys),
        "loaded": counts["loaded"],
        "created": outcome_counts.get("created", 0),
        "updated": outcome_counts.get("updated", 0) + outcome_counts.get("unchanged", 0),
        "matched": counts["matched"],
        "merged": counts["merged"],
        "rejected": counts["rejected"],
        "held": counts["held"],
        "skipped": counts["skipped"],
        "rolled_back": counts["rolled_back"],
        "flagged": len(flags),
        "api_calls": api_calls,
        "load_seconds": load_seconds,  # summed over chunks (chunks of a phase may run in parallel)
        "verify_seconds": verify_seconds,
        "chunks": len(manifest),
        "missing_chunk_results": max(missing_results, 0),
        "failed_chunks": len(failed_children),
        "unexplained": unexplained[:1000],
        "unexplained_count": len(unexplained),
        "field_mismatches": len(mismatches),
        "rejections": rejected[:5000],
        "flags": flags[:5000],
        "mismatches": mismatches[:5000],
    }
    report["flag_counts"] = dict(Counter(str(f.get("code")) for f in flags))
    report["error_flag_counts"] = error_flag_counts(flags)
    report["ok"] = not unexplained and missing_results <= 0 and not failed_children
    stop = _reject_threshold_stop(ctx, phase, report, rejected) if report["ok"] else None
    if stop:
        report["ok"] = False
        report["stopped"] = stop
    ctx.stage.put_json(phase_report_key(phase), report)
    if stop:
        # the rejected rows' chunks are loaded again by the next run (loading is idempotent), once the cause
        # is fixed; the phases that depend on this one are held back, the others still load
        for res in results:
            if any(r.get("status") == "rejected" for r in res.get("rejected", [])):
                ctx.stage.delete(result_key(phase, res["chunk_id"]))
        log.warning("%s", stop["message"])
    elif not report["ok"]:
        raise PhaseNotReconciled(
            f"phase {phase}: {len(unexplained)} record(s) unaccounted for, "
            f"{max(missing_results, 0)} chunk(s) without results, {len(failed_children)} failed chunk(s); "
            f"see {ctx.stage.uri(f'reports/phases/{phase}.json')}"
        )
    return {k: v for k, v in report.items() if not isinstance(v, list)}


def reject_threshold(ctx: Context) -> float:
    value = getattr(ctx.config, "reject_threshold", None)
    if value is None:
        value = (getattr(ctx.config, "options", None) or {}).get("reject_threshold", 0.01)
    return float(value)


def _reject_threshold_stop(ctx: Context, phase: str, report: dict[str, Any], rejected: list[dict[str, Any]]
                           ) -> dict[str, Any] | None:
    """When the phase's rejected share passes the threshold: what stopped the run, with its top causes."""
    threshold = reject_threshold(ctx)
    total = report["source"]
    if not total or not report["rejected"] or report["rejected"] / total <= threshold:
        return None
    causes: Counter = Counter()
    for r in rejected:
        if r.get("status") != "rejected":
            continue
        fields = ", ".join(r.get("fields") or []) or None
        causes[(r.get("error_code") or "UNKNOWN_ERROR", fields, (r.get("message") or "")[:200])] += 1
    top = [{"error_code": c, "fields": f, "message": m, "count": n} for (c, f, m), n in causes.most_common(5)]
    shown = "; ".join(f"{t['error_code']}" + (f" on {t['fields']}" if t["fields"] else "")
                      + (f": {t['message']}" if t["message"] else "") + f" ({t['count']})" for t in top)
    share = report["rejected"] / total
    dependants = phase_graph(ctx.destination()).dependants(phase)
    held_back = (f"the phases that depend on it ({', '.join(dependants)}) were not loaded, the others were"
                 if dependants else "no phase depends on it")
    message = (f"phase {phase}: {report['rejected']} of {total} records rejected ({share:.1%}, over the "
               f"{threshold:.1%} threshold): {held_back}. "
               f"Top causes: {shown}. Fix the cause (a field value, a validation rule) and run again: the rejected "
               "records are loaded again.")
    return {"reason": "reject_threshold", "phase": phase, "threshold": threshold, "rejected": report["rejected"],
            "source": total, "share": round(share, 4), "causes": top, "dependants": dependants, "message": message}


def final_report(ctx: Context) -> dict[str, Any]:
    from hdm.pipeline.delta import record_finished
    from hdm.pipeline.report import build_final_report

    report = build_final_report(ctx)
    plan = ctx.stage.get_json(PLAN_KEY) if ctx.stage.exists(PLAN_KEY) else {}
    runs = record_finished(ctx, plan, bool(report.get("ok")) and not report.get("stopped"))
    if runs:  # each run (full, then every delta) with its mark; the phases above are the cumulative state
        full = ctx.stage.get_json("reports/reconciliation.json")
        full["runs"] = runs
        ctx.stage.put_json("reports/reconciliation.json", full)
        report["runs"] = runs
    return report


def threshold_stop(report: dict[str, Any]) -> RejectThresholdExceeded | None:
    """The reject-threshold stop a final report records (the run's outcome is then failed, exit status 11)."""
    stop = report.get("stopped") if isinstance(report, dict) else None
    return RejectThresholdExceeded(stop["message"], stop) if isinstance(stop, dict) else None


# -- rollback -------------------------------------------------------------------------------------

def rollback_order(ctx: Context, fallback_to_destination: bool = True) -> tuple[list[str], str]:
    """The phases rollback deletes from, newest first (reverse dependency order), and where that came from:
    the run's load plan, or (once it has expired) the destination's declared phase graph."""
    if ctx.stage.exists(LOAD_PLAN_KEY):
        plan = ctx.stage.get_json(LOAD_PLAN_KEY)
        return [p["name"] for p in reversed(plan) if p.get("rolled_back", True)], "load plan"
    if not fallback_to_destination:
        return [], "no load plan"
    return ([p.name for p in phase_graph(ctx.destination()).rollback_order()],
            "destination phase order (the staged load plan has expired)")


def rollback_phase(ctx: Context, phase: str) -> dict[str, Any]:
    """Delete what this migration created in one phase; matched records are never touched."""
    entries = [  # pending entries too, with or without an id: a write may have landed before a crash
        e for e in ctx.crosswalk.iter_migration(ctx.migration_id, phase=phase)
        if e.origin == Origin.CREATED and (e.state == State.PENDING or (e.dest_id and e.state == State.LOADED))
    ]
    if not entries:
        return {"phase": phase, "rolled_back": 0}
    destination = ctx.destination()
    done = destination.rollback(entries)
    stamp = now_iso()
    for e in done:
        e.state = State.ROLLED_BACK
        e.run_id = ctx.run_id
        e.updated_at = stamp
    ctx.crosswalk.put_many(done)
    return {"phase": phase, "rolled_back": len(done), "remaining": len(entries) - len(done)}


def rollback_verdict(ctx: Context, phases: list[dict[str, Any]]) -> dict[str, Any]:
    """After the phases rolled back: delete what carries this migration's legacy IDs but the crosswalk did not
    know (a fresh state folder), then prove every record this migration created is gone, by id and by legacy
    id. Other migrations' records in the same org are neither touched nor counted. Writes reports/rollback.json.

    A destination without a proof (``rollback_proof``) is compared with the baseline taken before the first
    write instead."""
    destination = ctx.destination()
    entries = list(ctx.crosswalk.iter_migration(ctx.migration_id))
    swept = destination.rollback_sweep() if hasattr(destination, "rollback_sweep") else {}
    rolled_back = sum(int(p.get("rolled_back", 0)) for p in phases) + sum(swept.values())
    baseline = ctx.stage.get_json("reports/baseline.json") if ctx.stage.exists("reports/baseline.json") else None
    result: dict[str, Any] = {"phases": phases, "swept": swept, "rolled_back": rolled_back, "baseline": baseline}
    if hasattr(destination, "rollback_proof"):
        proof = destination.rollback_proof(entries)
        result["proof"] = proof
        result["after"] = destination.baseline() if baseline is not None else None  # information only
        created = proof["checked_by_id"]
        nothing = rolled_back == 0 and proof["remaining"] == 0
        result["restored"] = proof["remaining"] == 0
        result["nothing_to_roll_back"] = nothing
        if nothing and not created:
            result["message"] = ("nothing to roll back: this migration has created no record in the destination "
                                 "(none in the crosswalk, none carrying its legacy IDs)")
        elif nothing:
            result["message"] = (f"nothing to roll back: the {created} record(s) this migration created are "
                                 "already gone (checked by id and by legacy id)")
        elif result["restored"]:
            result["message"] = (f"restored: {rolled_back} record(s) rolled back (deleted now, or found already "
                                 "gone); every record this migration created "
                                 f"is gone ({created} checked by id"
                                 + (", none left carrying its legacy IDs)" if proof["checked_by_legacy_id"] else ")"))
        else:
            left = {**proof["remaining_by_id"]}
            for obj, n in proof["remaining_by_legacy_id"].items():
                left[obj] = max(left.get(obj, 0), n)
            result["message"] = ("NOT restored: records this migration created are still in the destination: "
                                 + ", ".join(f"{n} {obj}" for obj, n in sorted(left.items()))
                                 + "; run the rollback again, or see reports/rollback.json")
    else:
        after = destination.baseline() if baseline is not None else None
        result.update(after=after, restored=baseline is not None and after == baseline,
                      nothing_to_roll_back=rolled_back == 0 and baseline is not None and after == baseline)
        result["message"] = "baseline restored" if result["restored"] else \
            f"NOT restored: baseline {baseline} vs now {after}"
    ctx.stage.put_json("reports/rollback.json", result)
    return result
