"""The proposer: per source object, every field scored against every writable destination field, a globally
one-to-one choice with an explicit "no match", value maps for value domains, and what a person must decide."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Optional

import yaml

from hdm.mapping.fields import vocabulary_for
from hdm.mapping.propose.assign import assign
from hdm.mapping.propose.names import name_similarity, value_key
from hdm.mapping.propose.profile import Profile, profile_values
from hdm.mapping.propose.types import compatibility

THRESHOLD = 0.65  # below: no match (a custom field becomes a new field, a standard one is not migrated)
ACCEPT = 0.8  # pre-accepted only at or above this confidence ...
MARGIN = 0.15  # ... and this far above the runner-up
VALUE_RATIO = 0.8  # two values are the same by spelling at or above this ratio
TOP_K = 3
WEIGHTS = {"name": 0.6, "type": 0.15, "values": 0.25}
FORMAT_OF = {"email": "email", "phone": "phone", "url": "url", "integer": "integer", "decimal": "decimal",
             "date": "date", "datetime": "date", "bool": "bool"}


@dataclass
class Target:
    name: str
    label: str = ""
    type: str = "text"
    length: int = 0
    required: bool = False
    writable: bool = True
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: Optional[str] = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Target:
        return cls(name=d["name"], label=d.get("label") or "", type=d.get("type") or "text",
                   length=int(d.get("length") or 0), required=bool(d.get("required")),
                   writable=bool(d.get("writable", True)), custom=bool(d.get("custom")),
                   picklist=tuple(d.get("picklist") or ()), restricted=bool(d.get("restricted")),
                   default=d.get("default"))


@dataclass
class SourceField:
    name: str
    label: str
    type: str
    custom: bool
    profile: Profile
    hints: dict[str, str] = field(default_factory=dict)


def match_value(value: str, hint: Optional[str], target: Target, pair_values: dict[str, Any],
                pair: str) -> tuple[Optional[str], str]:
    """The destination value for one source value and how it was found ("" when none)."""
    pv = {str(k).casefold(): v for k, v in pair_values.items()}
    for probe, how in ((value, "pair value map"), (hint, "pair value map (by its state)")):
        if probe is not None and str(probe).strip().casefold() in pv:
            entry = pv[str(probe).strip().casefold()]
            to = entry.get("to") if isinstance(entry, dict) else entry
            if to is None or not target.picklist or to in target.picklist:
                return to, how
    folded = {p.casefold(): p for p in target.picklist}
    if value.casefold() in folded:
        return folded[value.casefold()], "same value"
    keyed = {value_key(p, pair): p for p in target.picklist}
    for probe in (value, hint):
        if probe and value_key(probe, pair) in keyed:
            return keyed[value_key(probe, pair)], "synonym" if probe == value else "synonym of its state"
    words = set(value_key(value, pair).split())
    inside = [p for p in target.picklist if (pw := set(value_key(p, pair).split())) and pw <= words]
    if len(inside) == 1:
        return inside[0], "contained in the value"
    best = max(target.picklist, key=lambda p: (SequenceMatcher(None, value.casefold(), p.casefold()).ratio(), p),
               default=None)
    if best is not None and SequenceMatcher(None, value.casefold(), best.casefold()).ratio() >= VALUE_RATIO:
        return best, "similar spelling"
    return None, ""


def value_fit(src: SourceField, target: Target, pair_values: dict[str, Any], pair: str) -> Optional[float]:
    p = src.profile
    total = sum(p.counts.values())
    if not total:
        return None
    if target.type in ("choice", "multichoice"):
        if not target.picklist:
            return 0.7 if p.domain else 0.3
        if not p.domain:
            return 0.0
        hit = sum(n for v, n in p.counts.items() if match_value(v, src.hints.get(v), target, pair_values, pair)[0])
        return hit / total
    fmt = FORMAT_OF.get(target.type)
    if fmt:
        return p.rates.get(fmt, 0.0)
    return None  # free text: its values say nothing about which text field it is


def score(src: SourceField, target: Target, prior: bool, pair_values: dict[str, Any], pair: str) -> Optional[dict]:
    gate = compatibility(src.type, target.type)
    if gate is None:
        return None
    type_fit, note = gate
    name = name_similarity([src.name, src.label], [target.name, target.label], pair)
    values = value_fit(src, target, pair_values, pair)
    total = WEIGHTS["name"] * name + WEIGHTS["type"] * type_fit + \
        WEIGHTS["values"] * (values if values is not None else name)
    if values is not None and values < 0.5 and target.type in ("choice", "multichoice", "email", "phone", "date",
                                                                 "datetime", "integer", "decimal", "url"):
        total *= 0.6  # the real values do not fit the field's format
    if prior:
        total = max(total, 0.95)
    reasons = [("pair default · " if prior else "") + f"name {name:.2f}", f"type {src.type}→{target.type} ok"
               + (f" ({note})" if note else "")]
    if values is not None:
        reasons.append(f"values fit {values:.0%}")
    return {"target": target.name, "score": round(min(total, 1.0), 4), "name": round(name, 4),
            "type": type_fit, "values": None if values is None else round(values, 4), "reasons": reasons,
            "lossy": note}


@dataclass
class Proposal:
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def overrides(self) -> dict[str, Any]:
        return self.data["overrides"]

    def to_yaml(self) -> str:
        lines = ["# hdm mapping proposal: merge over the pair's default mapping (edit, then approve).",
                 f"# pair {self.data['pair']}; threshold {THRESHOLD}, pre-accept >= {ACCEPT} with margin {MARGIN}."]
        decisions = self.data["decisions"]
        lines.append(f"# {len(decisions)} decision(s) for a person:" if decisions else "# nothing left to decide")
        lines += [f"#  - {d}" for d in decisions]
        lossy = [f"{o}.{f['source']}: {note}" for o, obj in sorted(self.data["objects"].items())
                 for f in obj["fields"] for note in f["lossy"]]
        lines.append(f"# {len(lossy)} lossy row(s):" if lossy else "# nothing lossy")
        lines += [f"#  - {x}" for x in lossy]
        body = yaml.safe_dump(self.data["overrides"], sort_keys=True, allow_unicode=True) if self.data["overrides"] \
            else "{}\n"
        return "\n".join(lines) + "\n" + body


def _source_fields(spec: dict[str, Any]) -> list[SourceField]:
    out = []
    for f in spec.get("fields") or []:
        prof = profile_values(f.get("values") or (), f.get("counts"))
        hints = {str(k): str(v) for k, v in (f.get("hints") or {}).items()}
        out.append(SourceField(f["name"], f.get("label") or f["name"], f.get("type") or "text",
                               bool(f.get("custom")), prof, hints))
    return sorted(out, key=lambda s: s.name)


def propose(profiles: dict[str, Any], targets: dict[str, Any], pair_document: dict[str, Any],
            threshold: float = THRESHOLD) -> Proposal:
    """The proposal for every source object the pair maps (offline, deterministic)."""
    src_name = pair_document["pair"]["source"]
    dst_name = pair_document["pair"]["destination"]
    pair = f"{src_name}-{dst_name}"
    value_maps = pair_document.get("value_maps") or {}
    custom = pair_document.get("custom_fields") or {}
    custom_targets = custom.get("targets") or {}
    vocabulary = vocabulary_for(dst_name)
    prefix = custom.get("prefix", "")
    objects_out: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    decisions: list[str] = []
    used: dict[str, set[str]] = {}
    for obj in sorted(profiles.get("objects") or {}):
        spec = pair_document.get("objects", {}).get(obj) or {}
        target_obj = spec.get("target") or custom_targets.get(obj)
        if not target_obj:
            decisions.append(f"{obj}: the pair maps this object nowhere (not migrated)")
            continue
        pair_fields = {to: f for to, f in (spec.get("fields") or {}).items() if f}
        priors: dict[str, str] = {}
        prior_maps: dict[str, str] = {}
        for to, f in sorted(pair_fields.items(), key=lambda kv: (not kv[1].get("required"), kv[0])):
            if f.get("when_audit_fields"):
                continue
            first = f["from"] if isinstance(f["from"], str) else f["from"][0]
            priors.setdefault(first, to)
            if f.get("value_map"):
                prior_maps[to] = f["value_map"]
        described = [Target.from_dict(t) for t in (targets.get("objects") or {}).get(target_obj) or []]
        writable = [t for t in described if t.writable and t.type != "reference"]
        described_names = {t.name for t in described}
        sources = _source_fields(profiles["objects"][obj])
        rows: list[list[float]] = []
        scored: list[list[dict]] = []
        for s in sources:
            cands = []
            for t in writable:
                pv = (value_maps.get(prior_maps.get(t.name, "")) or {}).get("values") or {}
                sc = score(s, t, priors.get(s.name) == t.name, pv, pair)
                if sc is not None:
                    cands.append(sc)
            cands.sort(key=lambda c: (-c["score"], c["target"]))
            scored.append(cands)
            by_target = {c["target"]: c["score"] for c in cands}
            if priors.get(s.name) and priors[s.name] not in described_names:  # the pair creates its own target
                by_target = {}
            rows.append([by_target.get(t.name, 0.0) if by_target.get(t.name, 0.0) >= threshold else 0.0
                         for t in writable])
        chosen = assign(rows) if writable else [None] * len(sources)
        fields_out = []
        taken = used.setdefault(target_obj, set())
        for s, cands, col in zip(sources, scored, chosen, strict=True):
            new_name = vocabulary.field_name(prefix, s.name)
            entry = _field_entry(obj, s, cands, writable[col] if col is not None else None, priors, described_names,
                                 new_name, obj in custom_targets, value_maps, prior_maps, pair, decisions, overrides)
            if entry["target"]:
                taken.add(entry["target"])
            fields_out.append(entry)
        for to in pair_fields:
            taken.add(to)
        required = []
        for t in described:
            if t.required and t.writable and t.name not in taken and t.default is None:
                required.append(t.name)
                decisions.append(f"{target_obj}.{t.name} is required: map a field to it, give a default or waive it")
        objects_out[obj] = {"target": target_obj, "fields": fields_out, "required_unmapped": required}
    data = {"pair": pair, "thresholds": {"propose": threshold, "accept": ACCEPT, "margin": MARGIN},
            "objects": objects_out, "decisions": decisions, "overrides": overrides}
    data["hash"] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return Proposal(data)


def _field_entry(obj: str, s: SourceField, cands: list[dict], chosen: Optional[Target], priors: dict[str, str],
                 described: set[str], new_name: str, custom_owner: bool, value_maps: dict[str, Any],
                 prior_maps: dict[str, str], pair: str, decisions: list[str], overrides: dict[str, Any]) -> dict:
    top = cands[:TOP_K]
    prior = priors.get(s.name)
    lossy: list[str] = []
    decide: list[str] = []
    entry: dict[str, Any] = {"source": s.name, "label": s.label, "type": s.type, "custom": s.custom,
                             "profile": s.profile.summary(), "samples": s.profile.samples(), "candidates": top}
    if chosen is None and prior and prior not in described:
        entry.update(target=prior, kind="pair", confidence=1.0, pre_accepted=True,
                     reasons=["the pair's default mapping writes it to a field hdm creates"])
    elif chosen is not None:
        c = next(c for c in cands if c["target"] == chosen.name)
        runner = max((x["score"] for x in cands if x["target"] != chosen.name), default=0.0)
        accepted = c["score"] >= ACCEPT and c["score"] - runner >= MARGIN
        entry.update(target=chosen.name, kind="existing", confidence=c["score"], pre_accepted=accepted,
                     margin=round(c["score"] - runner, 4), reasons=c["reasons"], target_type=chosen.type)
        if c["lossy"]:
            lossy.append(c["lossy"])
        if not accepted:
            decide.append(f"confirm {chosen.name} (confidence {c['score']:.2f}, margin {c['score'] - runner:.2f})")
        _format_losses(s, chosen, lossy)
        vm = _value_map(s, chosen, value_maps.get(prior_maps.get(chosen.name, "")) or {}, pair)
        if vm:
            entry["value_map"] = vm
            for row in vm["values"]:
                if row["to"] is None and row["how"].startswith("pair value map"):
                    lossy.append(f"value {row['value']!r} ({row['count']}×) is left empty (the pair's value map)")
                elif row["to"] is None:
                    lossy.append(f"value {row['value']!r} ({row['count']}×) has no destination equivalent")
                    decide.append(f"choose a destination value for {row['value']!r}")
            if s.profile.multi and chosen.type == "choice":
                lossy.append("multi-select values into a single-select picklist: only the first is kept")
        if custom_owner and s.custom:
            overrides.setdefault("custom_fields", {}).setdefault("fields", {})[f"{obj}.{s.name}"] = {"to": chosen.name}
        elif not s.custom and prior != chosen.name:
            overrides.setdefault("objects", {}).setdefault(obj, {}).setdefault("fields", {})[chosen.name] = {
                "from": s.name}
    elif s.custom and custom_owner:
        best = cands[0]["score"] if cands else 0.0
        entry.update(target=new_name, kind="new", confidence=round(1 - best, 4), pre_accepted=False,
                     reasons=[f"no existing field reaches {THRESHOLD} (best {best:.2f}): a new field is created"])
        decide.append("a new destination field will be created (or skip it)")
    else:
        entry.update(target=None, kind="none", confidence=round(1 - (cands[0]["score"] if cands else 0.0), 4),
                     pre_accepted=False, reasons=["no destination field fits: not migrated"])
        if s.profile.non_null:
            lossy.append(f"not migrated ({s.profile.non_null} non-empty values)")
            decide.append("not migrated: map it by hand or accept the loss")
        if s.custom and not custom_owner:
            pass
        elif s.custom:
            overrides.setdefault("custom_fields", {}).setdefault("fields", {})[f"{obj}.{s.name}"] = {"skip": True}
    entry["lossy"] = lossy
    entry["decide"] = decide
    decisions.extend(f"{obj}.{s.name}: {d}" for d in decide)
    return entry


def _format_losses(s: SourceField, t: Target, lossy: list[str]) -> None:
    p = s.profile
    if t.type == "text" and t.length and p.max_length > t.length:
        over = [v for v in sorted(p.counts) if len(v) > t.length]
        lossy.append(f"{len(over)} value(s) longer than {t.length} characters are truncated, e.g. {over[0][:40]!r}")
    fmt = FORMAT_OF.get(t.type)
    if fmt and p.non_null and p.rates.get(fmt, 0.0) < 1.0:
        bad = p.failures(fmt)
        lossy.append(f"{1 - p.rates.get(fmt, 0.0):.0%} of values do not parse as {fmt}, e.g. {bad[0][:40]!r}"
                     if bad else f"some values do not parse as {fmt}")


def _value_map(s: SourceField, t: Target, pair_map: dict[str, Any], pair: str) -> Optional[dict[str, Any]]:
    if t.type not in ("choice", "multichoice") or not t.picklist or not s.profile.domain:
        return None
    rows = []
    for value, count in s.profile.domain.items():
        to, how = match_value(value, s.hints.get(value), t, pair_map.get("values") or {}, pair)
        rows.append({"value": value, "count": count, "to": to, "how": how or "no match"})
    default = pair_map.get("default")
    if default is not None:
        unseen = {"rule": "default", "to": default.get("to") if isinstance(default, dict) else default}
    elif t.required or t.restricted:
        unseen = {"rule": "stop", "to": None}
    else:
        unseen = {"rule": "empty", "to": None}
    return {"values": rows, "unseen": unseen, "picklist": list(t.picklist)}
