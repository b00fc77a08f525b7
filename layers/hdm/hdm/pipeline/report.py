"""The final reconciliation report: JSON for machines, HTML (a chart per phase) for people.

Two ledgers, both must balance:
- source ledger: every extracted record became destination rows or was skipped with a reason;
- phase ledger (from reconcile_phase): every row was loaded, matched, merged, rejected, held or skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdm import exitcodes, templates

if TYPE_CHECKING:
    from hdm.pipeline.steps import Context

# The outcome of a run and the exit status `hdm run` ends with (0, 1 and 10+; hdm.exitcodes keeps 2..9 for
# errors before or around the run: bad config, connection, lock …).
CLEAN = "clean"  # every record arrived, nothing needs a person
NEEDS_ATTENTION = "needs_attention"  # completed, and some records need a person (counts by reason)
FAILED = "failed"  # records unaccounted for, or a phase stopped over its rejected share
STOPPED = "stopped"  # stopped on a spent API allowance (a quota): the same command continues later
EXIT_STATUS = {CLEAN: exitcodes.OK, FAILED: exitcodes.FAILED, NEEDS_ATTENTION: exitcodes.NEEDS_ATTENTION,
               "reject_threshold": exitcodes.REJECT_THRESHOLD, STOPPED: exitcodes.DAILY_LIMIT}

# flag codes that mean a value did not arrive as the source had it (a destination's value checks)
VALUE_LOSS_FLAGS = {"value_not_loaded": "values not loaded", "value_truncated": "values truncated",
                    "field_dropped_on_reject": "fields left out after a refusal",
                    "required_value_missing": "required values missing"}

PHASE_BARS = ("loaded", "matched", "merged", "rejected", "held", "skipped")
BAR_COLOURS = {
    "loaded": "#2e7d32", "matched": "#1565c0", "merged": "#6a1b9a",
    "rejected": "#c62828", "held": "#ef6c00", "skipped": "#757575",
}


def error_flag_counts(flags: list[dict[str, Any]]) -> dict[str, int]:
    """The flags of severity error (``hdm.model.Flag``: the record cannot be carried as it is), counted by code."""
    return dict(Counter(str(f.get("code")) for f in flags if f.get("severity") == "error"))


def source_ledger(ctx: Context) -> dict[str, Any]:
    extracted: Counter = Counter()
    flags: Counter = Counter()
    errors: Counter = Counter()
    at_source: Counter = Counter()  # (chunk object type, reason): rows the source read and left out on purpose
    rows_read: Counter = Counter()  # per source table
    for key in ctx.stage.list("extract-stats/"):
        data = ctx.stage.get_json(key)
        s = data["summary"]
        extracted.update(s.get("by_type", {}))
        flags.update(s.get("flags", {}))
        errors.update(s.get("error_flags", {}))
        source_stats = data.get("source_stats") or {}
        rows_read.update(source_stats.get("rows_read") or {})
        for reason, n in (source_stats.get("skipped") or {}).items():
            at_source[(data["chunk"]["object_type"], reason)] += n
    skipped: Counter = Counter()
    reasons: Counter = Counter()
    for key in ctx.stage.list("transform-stats/"):
        data = ctx.stage.get_json(key)
        skipped.update(data["summary"].get("by_type_skipped", {}))
        for s in data.get("skipped", []):
            reasons[(s["source_key"].split(":", 1)[0], s["reason"])] += 1
    per_type = {
        t: {"extracted": n, "to_destination": n - skipped.get(t, 0), "skipped": skipped.get(t, 0),
            "left_at_source": sum(c for (ot, _), c in at_source.items() if ot == t)}
        for t, n in sorted(extracted.items())
    }
    return {
        "per_type": per_type,
        "tables": table_ledger(ctx, rows_read, per_type),
        "left_at_source": [{"object_type": t, "reason": r, "count": c} for (t, r), c in sorted(at_source.items())],
        "skip_reasons": [{"object_type": t, "reason": r, "count": c} for (t, r), c in sorted(reasons.items())],
        "source_flags": dict(flags),
        "source_error_flags": dict(errors),
        "extracted_total": sum(extracted.values()),
    }


def table_ledger(ctx: Context, rows_read: Counter, per_type: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Every source table: rows in the source, rows the extractor read, what they became and where they went
    (the source's table list from discovery, joined with the destination's targets and the per-type ledger)."""
    discovery = ctx.stage.get_json("reports/discovery.json") if ctx.stage.exists("reports/discovery.json") else {}
    tables = (discovery.get("details") or {}).get("tables") or {}
    try:
        targets = getattr(ctx.destination(), "ledger_targets", dict)()
    except Exception:  # noqa: BLE001 - the ledger is still useful without the destination's words
        targets = {}
    out = []
    for table, info in sorted(tables.items()):
        becomes = info.get("becomes")
        base = becomes.split(".", 1)[0] if becomes else None
        if not info.get("read"):
            went = "not read: not migrated"
        elif becomes is None:
            went = "looked up only (its values are carried on the records that refer to it)"
        else:
            went = targets.get(becomes) or targets.get(base or "") or "no destination target: reported, not migrated"
        out.append({"table": table, "rows_in_source": info.get("rows"), "rows_read": rows_read.get(table, 0),
                    "becomes": becomes, "fate": info.get("fate"), "destination": went,
                    "records": per_type.get(base) if base else None})
    for table in sorted(set(rows_read) - set(tables)):  # read but not declared: still named
        out.append({"table": table, "rows_in_source": None, "rows_read": rows_read[table], "becomes": None,
                    "fate": "read by the extractor (not in the source's table list)", "destination": None,
                    "records": None})
    return out


def build_final_report(ctx: Context) -> dict[str, Any]:
    phases = []
    for key in ctx.stage.list("reports/phases/"):
        phases.append(ctx.stage.get_json(key))
    order = {p["name"]: i for i, p in enumerate(ctx.stage.get_json("manifests/load-plan.json"))} if ctx.stage.exists(
        "manifests/load-plan.json") else {}
    phases.sort(key=lambda p: order.get(p["phase"], 99))
    ledger = source_ledger(ctx)
    verdict = outcome_of(phases, ledger["source_error_flags"])
    summary = {
        "migration_id": ctx.migration_id,
        "run_id": ctx.run_id,
        "ok": all(p.get("ok") for p in phases),
        **verdict,
        "source": ledger,
        "phases": [{k: v for k, v in p.items() if not isinstance(v, list)} for p in phases],
        "totals": {
            b: sum(p.get(b, 0) for p in phases)
            for b in ("source", "loaded", "matched", "merged", "rejected", "held", "skipped", "flagged",
                      "api_calls", "field_mismatches", "unexplained_count")
        },
    }
    ctx.stage.put_json("reports/reconciliation.json", {**summary, "phase_details": phases})
    ctx.stage.put_bytes("reports/reconciliation.html", render_html(summary, phases).encode())
    summary["report_json"] = ctx.stage.uri("reports/reconciliation.json")
    summary["report_html"] = ctx.stage.uri("reports/reconciliation.html")
    return summary


def outcome_of(phases: list[dict[str, Any]], source_errors: dict[str, int] | None = None) -> dict[str, Any]:
    """clean / needs_attention / failed, with the counts by reason of what needs a person, and the exit status.

    Needs attention: rejected or held records (by error code), records skipped because their parent did not
    load, field mismatches found by verification, values that did not arrive as the source had them, and every
    flag of severity error (``error: <code>``: a file with missing or broken bytes, a body that was cut short, a
    thread split the splitter was not sure of …), whether or not the record was loaded or held. Flags of
    severity info or warning alone do not.

    ``source_errors`` are the error flags the extraction counted (records the transform left out carry theirs
    only there). A source flag travels with its record's row into the load phase too, so per code the larger of
    the two counts is taken rather than their sum."""
    attention: Counter = Counter()
    loaded_errors: Counter = Counter()
    for p in phases:
        details = p.get("rejections")
        if details is not None:
            for r in details:
                status = r.get("status")
                if status in ("rejected", "held"):
                    attention[f"{status}: {r.get('error_code') or 'no code'}"] += 1
                elif status == "skipped":
                    attention[f"skipped: {r.get('error_code') or 'no code'}"] += 1
        else:
            for status in ("rejected", "held", "skipped"):
                if p.get(status):
                    attention[status] += p[status]
        if p.get("field_mismatches"):
            attention["field mismatches"] += p["field_mismatches"]
        for code, label in VALUE_LOSS_FLAGS.items():
            n = (p.get("flag_counts") or {}).get(code, 0)
            if n:
                attention[label] += n
        phase_errors = p.get("error_flag_counts")
        if phase_errors is None:  # a phase report written before error flags were counted: from its flags
            phase_errors = error_flag_counts(p.get("flags") or [])
        loaded_errors.update(phase_errors)
    for code in sorted(set(loaded_errors) | set(source_errors or {})):
        n = max(loaded_errors[code], (source_errors or {}).get(code, 0))
        if n:
            attention[f"error: {code}"] += n
    stopped = next((p["stopped"] for p in phases if p.get("stopped")), None)
    if stopped or not all(p.get("ok") for p in phases):
        outcome = FAILED
    elif attention:
        outcome = NEEDS_ATTENTION
    else:
        outcome = CLEAN
    status = EXIT_STATUS["reject_threshold"] if stopped else EXIT_STATUS[outcome]
    return {"outcome": outcome, "exit_status": status, "attention": dict(attention.most_common()),
            **({"stopped": stopped} if stopped else {})}


def exit_status(run_status: str, report: dict[str, Any] | None, run_id: str | None = None) -> int:
    """The exit status of `hdm run`: from this run's final report when there is one, else from the run's
    status (``succeeded`` without a report — awaiting approval — is 0). A report of another run is ignored."""
    if report and report.get("exit_status") is not None and run_status in ("succeeded", "failed") and (
            run_id is None or report.get("run_id") == run_id):
        return int(report["exit_status"])
    if run_status == "stopped":
        return EXIT_STATUS[STOPPED]
    if run_status == "failed":
        return EXIT_STATUS[FAILED]
    return 0


def saved_report(folder: str | Path) -> dict[str, Any] | None:
    """The reconciliation summary the local engine left in a migration folder (None when there is none)."""
    path = Path(folder) / "stage" / "reports" / "reconciliation.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def headline(summary: dict[str, Any]) -> str:
    """One sentence a person reads first: is everything accounted for, and what needs attention."""
    stopped = summary.get("stopped")
    if stopped:
        return f"FAILED (exit {summary.get('exit_status')}): {stopped['message']}"
    if not summary["ok"]:
        return "NOT reconciled: some records are unaccounted for (see the phases marked ✘)"
    attention = summary.get("attention")
    if attention is not None:
        if not attention:
            return "clean: every record accounted for; nothing rejected, held or changed"
        listed = ", ".join(f"{n} {reason}" for reason, n in attention.items())
        return f"completed, needs attention (exit {summary.get('exit_status')}): {listed}"
    t = summary["totals"]
    attention = [f"{t[k]} {k}" for k in ("rejected", "held") if t.get(k)]
    if t.get("field_mismatches"):
        attention.append(f"{t['field_mismatches']} field mismatches")
    if attention:
        return "every record accounted for; needs attention: " + ", ".join(attention)
    return "every record accounted for; nothing rejected or held"


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    text = str(value)
    return text if len(text) <= 300 else text[:297] + "..."


def _text(value: Any) -> str:
    """A value as the report prints it: ``None`` as an empty cell."""
    return "" if value is None else str(value)


# the figures table of a phase: (column header, key in the phase report)
PHASE_FIGURES = (("source rows", "source"), ("loaded", "loaded"), ("created", "created"), ("updated", "updated"),
                 ("matched", "matched"), ("merged", "merged"), ("rejected", "rejected"), ("held", "held"),
                 ("skipped", "skipped"), ("flagged", "flagged"), ("field mismatches", "field_mismatches"),
                 ("API calls", "api_calls"))


def _bar_chart(phase: dict[str, Any], width: int = 560) -> dict[str, Any]:
    """The geometry of a phase's stacked bar (one rectangle per non-zero outcome) and its legend."""
    total = max(phase.get("source", 0), 1)
    x = 0.0
    bars = []
    for name in PHASE_BARS:
        n = phase.get(name, 0)
        if not n:
            continue
        w = width * n / total
        bars.append({"name": name, "n": n, "x": x, "w": w, "colour": BAR_COLOURS[name]})
        x += w
    legend = [{"name": name, "n": phase.get(name, 0), "colour": BAR_COLOURS[name]} for name in PHASE_BARS]
    return {"width": width, "bars": bars, "legend": legend}


def _phase_view(p: dict[str, Any]) -> dict[str, Any]:
    """What the report shows of one phase, as plain values (the template escapes every one of them)."""
    stop = p.get("stopped")
    value_flags = [f for f in p.get("flags") or [] if f.get("code") in VALUE_LOSS_FLAGS][:500]
    return {
        "name": str(p["phase"]),
        "ok": bool(p.get("ok")),
        "stopped": stop["message"] if stop else None,
        "held_back": (p.get("held_back") or {}).get("message"),
        "chart": _bar_chart(p),
        "figures": [p.get(key, 0) for _, key in PHASE_FIGURES],
        "unexplained": [{"source_key": u["source_key"], "why": u["why"]} for u in (p.get("unexplained") or [])[:50]],
        "flags": Counter(str(f.get("code")) for f in p.get("flags") or []).most_common(),
        "values": [{"source_key": str(f.get("source_key")), "field": str(f.get("field")), "code": str(f.get("code")),
                    "original": _shown(f.get("original")), "loaded_as": _shown(f.get("loaded_as")),
                    "reason": _text(f.get("reason") or None)} for f in value_flags],
        "rejections": [{"source_key": str(r.get("source_key")), "status": str(r.get("status")),
                        "error_code": _text(r.get("error_code") or None), "message": _text(r.get("message") or None)}
                       for r in (p.get("rejections") or [])[:200]],
    }


def render_html(summary: dict[str, Any], phases: list[dict[str, Any]]) -> str:
    """The report for people: the source ledger, then per phase its chart, figures, flags and records that need a
    person (templates/reconciliation.html.j2, autoescaped)."""
    source = summary["source"]
    return templates.render(
        "reconciliation.html.j2", migration_id=summary["migration_id"], run_id=summary["run_id"],
        headline=headline(summary), totals=summary["totals"], per_type=source["per_type"],
        skip_reasons=source["skip_reasons"], left_at_source=source.get("left_at_source", []),
        tables=source.get("tables", []), phases=[_phase_view(p) for p in phases], figures=PHASE_FIGURES)
