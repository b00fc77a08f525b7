"""Scores the mapping proposer (hdm mapping propose) on the labelled set in tests/fixtures/mapping_bench/ beside a
name-only matcher (exact normalised name or label, the way Data Loader-style auto-match works).

Metrics, per org and overall: precision of the top proposal (abstentions excluded), coverage (correct top / fields
with a gold target), correct abstentions (gold "no existing field" left without an existing target), recall of the
top three, value-map accuracy, precision of pre-accepted proposals, decoys left unmapped.
Ends with one JSON line. Run: python bench/mapping_proposer.py"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "hdm")]
DATA = ROOT / "tests" / "fixtures" / "mapping_bench"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"__c$", "", name or "").casefold())


def name_only(profiles: dict, targets: dict, document: dict) -> dict:
    """The baseline: a source field goes to the first writable field whose normalised name or label equals its own
    name or label; values only when they are spelled the same."""
    out = {}
    for obj, spec in profiles["objects"].items():
        target_obj = (document["objects"].get(obj) or {}).get("target")
        fields = [t for t in targets["objects"].get(target_obj, []) if t["writable"] and t["type"] != "reference"]
        for f in spec["fields"]:
            keys = {_norm(f["name"]), _norm(f.get("label", ""))} - {""}
            hit = next((t for t in fields if {_norm(t["name"]), _norm(t["label"])} & keys), None)
            out[f"{obj}.{f['name']}"] = {"top": hit["name"] if hit else None, "top3": [hit["name"]] if hit else [],
                                         "accepted": hit is not None, "values": {},
                                         "kind": "existing" if hit else "none"}
            if hit and hit["picklist"]:
                from hdm.mapping.propose.profile import profile_values

                prof = profile_values(f.get("values") or (), f.get("counts"))
                folded = {p.casefold(): p for p in hit["picklist"]}
                out[f"{obj}.{f['name']}"]["values"] = {v: folded.get(v.casefold()) for v in prof.counts}
    return out


def proposer(profiles: dict, targets: dict, document: dict) -> dict:
    from hdm.mapping.propose import propose

    data = propose(profiles, targets, document).data
    out = {}
    for obj, o in data["objects"].items():
        for f in o["fields"]:
            existing = f["kind"] in ("existing", "pair")
            out[f"{obj}.{f['source']}"] = {
                "top": f["target"] if existing else None,
                "top3": ([f["target"]] if f["kind"] == "pair" else []) + [c["target"] for c in f["candidates"]],
                "accepted": f["pre_accepted"] and existing, "kind": f["kind"],
                "values": {r["value"]: r["to"] for r in (f.get("value_map") or {}).get("values", [])},
            }
    return out


def score(result: dict, gold_fields: dict, gold_values: dict, decoys: list[str], document: dict) -> dict:
    made = correct = with_gold = covered = null_gold = abstained = top3 = acc_n = acc_ok = 0
    for key, accepted in gold_fields.items():
        r = result.get(key) or {"top": None, "top3": [], "accepted": False}
        if r["top"] is not None:
            made += 1
            correct += r["top"] in accepted
        if accepted:
            with_gold += 1
            covered += r["top"] in accepted
            top3 += any(t in accepted for t in r["top3"][:3])
        else:
            null_gold += 1
            abstained += r["top"] is None
        if r["accepted"]:
            acc_n += 1
            acc_ok += r["top"] in accepted
    v_total = v_ok = 0
    for key, values in gold_values.items():
        got = (result.get(key) or {}).get("values") or {}
        for src, dst in values.items():
            v_total += 1
            v_ok += got.get(src) == dst
    targets_of = {obj: spec.get("target") for obj, spec in document["objects"].items()}
    used = {f"{targets_of.get(k.split('.')[0])}.{r['top']}" for k, r in result.items() if r["top"]}
    decoys_left = sum(1 for d in decoys if d not in used)
    return {"fields": len(gold_fields), "proposed": made, "top_correct": correct, "with_gold": with_gold,
            "covered": covered, "null_gold": null_gold, "abstained": abstained, "top3": top3,
            "pre_accepted": acc_n, "pre_accepted_correct": acc_ok, "values": v_total, "values_correct": v_ok,
            "decoys": len(decoys), "decoys_unmapped": decoys_left}


def rates(c: dict) -> dict:
    def r(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {"precision_top": r(c["top_correct"], c["proposed"]), "coverage": r(c["covered"], c["with_gold"]),
            "correct_abstentions": r(c["abstained"], c["null_gold"]), "recall_top3": r(c["top3"], c["with_gold"]),
            "value_map_accuracy": r(c["values_correct"], c["values"]),
            "pre_accepted_precision": r(c["pre_accepted_correct"], c["pre_accepted"]),
            "decoys_unmapped": f"{c['decoys_unmapped']}/{c['decoys']}",
            "counts": {k: c[k] for k in ("fields", "proposed", "pre_accepted", "values")},
            "right_overall": r(c["top_correct"] + c["abstained"] + c["values_correct"],
                               c["fields"] + c["values"])}


def run() -> dict:
    from hdm.destinations.salesforce.proposal import proposal_fields
    from hdm.mapping.loader import load_document

    gold = json.loads((DATA / "gold.json").read_text())
    profiles = json.loads((DATA / "osticket_profiles.json").read_text())
    document = load_document("osticket", "salesforce")
    report: dict = {"orgs": {}}
    totals: dict[str, dict] = {}
    started = time.perf_counter()
    for org, spec in sorted(gold["orgs"].items()):
        targets = proposal_fields(json.loads((DATA / f"org_{org}.json").read_text()))
        fields = {**gold["common"]["fields"], **spec["fields"]}
        values = {**gold["common"]["values"], **spec["values"]}
        for name, matcher in (("proposer", proposer), ("name_only", name_only)):
            counts = score(matcher(profiles, targets, document), fields, values, spec["decoys"], document)
            report["orgs"].setdefault(org, {})[name] = rates(counts)
            t = totals.setdefault(name, {})
            for k, v in counts.items():
                t[k] = t.get(k, 0) + v
    report["overall"] = {name: rates(c) for name, c in totals.items()}
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def main() -> None:
    report = run()
    for org, by in report["orgs"].items():
        for name, r in by.items():
            print(f"{org:8} {name:10} " + "  ".join(f"{k}={v}" for k, v in r.items()))
    print(json.dumps({"bench": "mapping_proposer", **report["overall"]["proposer"],
                      "baseline_name_only": report["overall"]["name_only"], "seconds": report["seconds"]},
                     sort_keys=True))


if __name__ == "__main__":
    main()
