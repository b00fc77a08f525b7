"""The final reconciliation report: JSON for machines, HTML (a chart per phase) for people.

Two ledgers, both must balance:
- source ledger: every extracted record became destination rows or was skipped with a reason;
- phase ledger (from reconcile_phase): every row was loaded, matched, merged, rejected, held or skipped.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdm import exitcodes

if TYPE_CHECKING:
    from hdm.pipeline.steps import Context

# The outcome of a run and the exit status `hdm run` ends with (0, 1 and 10+; hdm.exitcodes keeps 2..9 for
# errors before or around the run: bad config, connection, lock …).
CLEAN = "clean"  # every record arrived, nothing needs a person
NEEDS_ATTENTION = "needs_attention"  # completed, and some records need a person (counts by reason)
FAILED = "failed"  # records unaccounted for, or a phase stopped over its rejected share
STOPPED = "stopped"  # stopped on the org's daily API limit: the same command continues later
EXIT_STATUS = {CLEAN: exitcodes.OK, FAILED: exitcodes.FAILED, NEEDS_ATTENTION: exitcodes.NEEDS_ATTENTION,
               "reject_threshold": exitcodes.REJECT_THRESHOLD, STOPPED: exitcodes.DAILY_LIMIT}

# flag codes that mean a value did not arrive as the source had it (hdm.destinations.salesforce.field_check)
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


def _bar_chart(phase: dict[str, Any]) -> str:
    total = max(phase.get("source", 0), 1)
    width = 560
    x = 0.0
    parts = []
    for name in PHASE_BARS:
        n = phase.get(name, 0)
        if not n:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" fill="{BAR_COLOURS[name]}">'
            f"<title>{name}: {n}</title></rect>"
        )
        x += w
    legend = " ".join(
        f'<span class="key" style="background:{BAR_COLOURS[n]}"></span>{n} {phase.get(n, 0)}'
        for n in PHASE_BARS
    )
    return (
        f'<svg width="{width}" height="22" role="img" aria-label="phase {html.escape(phase["phase"])}">'
        + "".join(parts) + f'</svg><div class="legend">{legend}</div>'
    )


def render_html(summary: dict[str, Any], phases: list[dict[str, Any]]) -> str:
    e = html.escape
    rows = []
    for t, v in summary["source"]["per_type"].items():
        rows.append(f"<tr><td>{e(t)}</td><td>{v['extracted']}</td><td>{v['to_destination']}</td>"
                    f"<td>{v['skipped']}</td></tr>")
    reasons = "".join(
        f"<li>{e(r['object_type'])}: {e(r['reason'])} — {r['count']}</li>" for r in summary["source"]["skip_reasons"]
    )
    tables = "".join(
        f"<tr><td>{e(t['table'])}</td><td>{t['rows_in_source'] if t['rows_in_source'] is not None else ''}</td>"
        f"<td>{t['rows_read']}</td><td>{e(t['becomes'] or '')}</td><td>{e(t['fate'] or '')}</td>"
        f"<td>{e(t['destination'] or '')}</td></tr>"
        for t in summary["source"].get("tables", [])
    )
    at_source = "".join(
        f"<li>{e(r['object_type'])}: {e(r['reason'].replace('_', ' '))} — {r['count']}</li>"
        for r in summary["source"].get("left_at_source", [])
    )
    phase_html = []
    for p in phases:
        rej = "".join(
            f"<tr><td>{e(str(r.get('source_key')))}</td><td>{e(str(r.get('status')))}</td>"
            f"<td>{e(str(r.get('error_code') or ''))}</td><td>{e(str(r.get('message') or ''))}</td></tr>"
            for r in p.get("rejections", [])[:200]
        )
        flags = Counter(str(f.get("code")) for f in p.get("flags", []))
        flag_list = "".join(f"<li>{e(code)}: {n}</li>" for code, n in flags.most_common())
        unexplained = "".join(f"<li>{e(u['source_key'])}: {e(u['why'])}</li>" for u in p.get("unexplained", [])[:50])
        values = "".join(
            f"<tr><td>{e(str(f.get('source_key')))}</td><td>{e(str(f.get('field')))}</td><td>{e(str(f.get('code')))}"
            f"</td><td>{e(_shown(f.get('original')))}</td><td>{e(_shown(f.get('loaded_as')))}</td>"
            f"<td>{e(str(f.get('reason') or ''))}</td></tr>"
            for f in [f for f in p.get("flags", []) if f.get("code") in VALUE_LOSS_FLAGS][:500])
        stop = p.get("stopped")
        stop_html = f"<p class=\"stop\"><b>Stopped:</b> {e(stop['message'])}</p>" if stop else ""
        values_html = ("<h3>Values that did not arrive as the source had them</h3><table><tr><th>record</th>"
                       "<th>field</th><th>what</th><th>original</th><th>loaded as</th><th>why</th></tr>"
                       + values + "</table>") if values else ""

        phase_html.append(f"""
<section class="phase {'ok' if p.get('ok') else 'bad'}">
<h2>{e(p['phase'])} {'✔' if p.get('ok') else '✘ not reconciled'}</h2>
{stop_html}
{_bar_chart(p)}
<table class="figures"><tr><th>source rows</th><th>loaded</th><th>created</th><th>updated</th><th>matched</th>
<th>merged</th><th>rejected</th><th>held</th><th>skipped</th><th>flagged</th><th>field mismatches</th>
<th>API calls</th></tr>
<tr><td>{p.get('source', 0)}</td><td>{p.get('loaded', 0)}</td><td>{p.get('created', 0)}</td>
<td>{p.get('updated', 0)}</td><td>{p.get('matched', 0)}</td><td>{p.get('merged', 0)}</td>
<td>{p.get('rejected', 0)}</td><td>{p.get('held', 0)}</td><td>{p.get('skipped', 0)}</td>
<td>{p.get('flagged', 0)}</td><td>{p.get('field_mismatches', 0)}</td><td>{p.get('api_calls', 0)}</td></tr></table>
{'<h3>Unexplained</h3><ul>' + unexplained + '</ul>' if unexplained else ''}
{'<h3>Flags</h3><ul>' + flag_list + '</ul>' if flag_list else ''}
{values_html}
{'<h3>Rejected, held and skipped records</h3><table><tr><th>record</th><th>status</th><th>code</th>'
 '<th>message</th></tr>' + rej + '</table>' if rej else ''}
</section>""")
    t = summary["totals"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hdm reconciliation — {e(summary['migration_id'])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}} .phase{{margin:1.5em 0}}
.bad h2{{color:#c62828}} .ok h2{{color:#2e7d32}} .legend{{font-size:13px;margin:4px 0}}
.key{{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px}}
</style></head><body>
<h1>Reconciliation — {e(summary['migration_id'])}</h1>
<p>Run {e(summary['run_id'])}. Overall: <b>{e(headline(summary))}</b>.
Loaded {t['loaded']}, matched {t['matched']}, merged {t['merged']}, rejected {t['rejected']}, held {t['held']},
skipped {t['skipped']}; {t['api_calls']} API calls.</p>
<h2>Source records</h2>
<table><tr><th>object</th><th>extracted</th><th>sent to destination</th><th>skipped</th></tr>{''.join(rows)}</table>
{'<h3>Why records were skipped</h3><ul>' + reasons + '</ul>' if reasons else ''}
{'<h3>Rows the source read and left out by design</h3><ul>' + at_source + '</ul>' if at_source else ''}
{'<h3>Where every source table went</h3><table><tr><th>table</th><th>rows</th><th>rows read</th><th>becomes</th>'
 '<th>what happens to its rows</th><th>destination</th></tr>' + tables + '</table>' if tables else ''}
{''.join(phase_html)}
</body></html>"""
