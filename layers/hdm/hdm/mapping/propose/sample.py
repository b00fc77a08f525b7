"""A stratified sample of tickets with its dependency closure, chosen from the staged canonical records (any
source): every stratum (each status and priority, each custom field filled, attachments, inline images, internal
notes, the longest thread, merged or linked tickets, non-ASCII text, the oldest and newest) is hit when the source
has it, then the contacts, organisations and agents the tickets refer to are added.

Deterministic: the first ticket in key order that covers a still-uncovered stratum, greedily, then the rest of N
in key order. What is not present in the source is reported as such."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hdm.model import record_from_dict

REFS = ("requester", "organization", "assignee", "assignee_group", "queue", "category", "sla_policy")


def _key(k: Any) -> str:
    return str(k)


def strata_of(ticket: Any, messages: list[Any], attachments: list[Any]) -> set[str]:
    s = {f"status:{ticket.status}", f"priority:{ticket.priority}"}
    s |= {f"custom:{k}" for k, v in (ticket.custom or {}).items() if v not in (None, "", [], {})}
    if any(not a.inline for a in attachments):
        s.add("attachments")
    if any(a.inline for a in attachments) or any(m.inline_images for m in messages):
        s.add("inline_images")
    if any(str(getattr(m.visibility, "value", m.visibility)) == "internal" for m in messages):
        s.add("internal_notes")
    if ticket.relation in ("merged", "linked") or ticket.parent or any(m.merged_from for m in messages):
        s.add("merged_or_linked")
    text = " ".join([ticket.subject or ""] + [m.body_text or m.body_html or "" for m in messages])
    if any(ord(c) > 127 for c in text):
        s.add("non_ascii")
    return s


def choose_sample(stage: Any, n: int) -> dict[str, Any]:
    tickets: dict[str, Any] = {}
    for key in stage.list("extract/ticket/"):
        for raw in stage.read_records(key):
            rec = record_from_dict(raw)
            tickets[rec.key] = rec
    messages: dict[str, list[Any]] = defaultdict(list)
    attachments: dict[str, list[Any]] = defaultdict(list)
    for kind, into in (("message", messages), ("attachment", attachments)):
        for key in stage.list(f"extract/{kind}/"):
            for raw in stage.read_records(key):
                rec = record_from_dict(raw)
                if rec.ticket:
                    into[rec.ticket].append(rec)
    order = sorted(tickets)
    strata = {k: strata_of(tickets[k], messages[k], attachments[k]) for k in order}
    if order:
        longest = max(order, key=lambda k: (len(messages[k]), k))
        strata[longest].add("longest_thread")
        dated = [k for k in order if tickets[k].created_at]
        if dated:
            strata[min(dated, key=lambda k: (tickets[k].created_at, k))].add("oldest")
            strata[max(dated, key=lambda k: (tickets[k].created_at, k))].add("newest")
    wanted = set().union(*strata.values()) if strata else set()
    chosen: list[str] = []
    covered: set[str] = set()
    while len(chosen) < n and covered != wanted:
        best = max((k for k in order if k not in chosen), key=lambda k: (len(strata[k] - covered), -order.index(k)),
                   default=None)
        if best is None or not strata[best] - covered:
            break
        chosen.append(best)
        covered |= strata[best]
    for k in order:
        if len(chosen) >= n:
            break
        if k not in chosen:
            chosen.append(k)
    closure: set[str] = set()
    for k in chosen:
        t = tickets[k]
        closure |= {_key(getattr(t, r)) for r in REFS if getattr(t, r, None)}
        closure |= {_key(c) for c in t.collaborators}
        closure |= {_key(m.author) for m in messages[k] if m.author}
    return {"tickets": chosen, "dependencies": sorted(closure),
            "strata": {s: sorted(k for k in chosen if s in strata[k]) for s in sorted(covered)},
            "not_covered": sorted(wanted - covered),
            "messages": sum(len(messages[k]) for k in chosen),
            "attachments": sum(len(attachments[k]) for k in chosen)}
