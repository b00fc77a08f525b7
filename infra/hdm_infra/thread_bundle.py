"""Write hdm Thread bundles (docs/thread-bundle.md; hdm's format, not Thread's) of any size, with the rare cases a
reader must keep: non-ASCII text, long conversations, internal notes (and their attachments, internal too),
review responses whose review is missing (orphans: flagged, never loaded), tags beyond Salesforce's multi-select
limits, merge fields with no Salesforce equivalent, attachments, routing rules.

    python -m hdm_infra.thread_bundle --tickets N --reviews M --seed S --out DIR [--zip] [--delta-of BUNDLE_ID]

Deterministic per seed; streams line by line (memory does not grow with N).
"""

from __future__ import annotations

import argparse
import hashlib
import random
from pathlib import Path
from typing import Any, Optional

from hdm.sources.export.writer import BundleWriter, zip_bundle
from hdm.sources.thread.source import FORMAT

TOOL = "hdm_infra.thread_bundle"
NAMES = ["Zoë Ångström", "محمد علي", "Łukasz Żółć", "田中 美咲", "Ana Núñez", "Björn Øster", "Chloé Dubois",
         "Dmitri Иванов", "Eva Nováková", "Kofi Mensah"]
PLATFORMS = ["google", "trustpilot", "facebook", "g2"]
STATUSES = ["new", "open", "pending", "resolved", "closed"]
PRIORITIES = ["low", "medium", "high", "urgent"]
CHANNELS = ["email", "chat", "teams", "web", "phone"]
LONG_EVERY = 7  # every 7th ticket has a long conversation
LONG_MESSAGES = 40


def _ts(day: int, minute: int = 0) -> str:
    day = day % 365
    month, dom = 1 + day // 31 % 12, 1 + day % 28
    return f"2025-{month:02d}-{dom:02d}T{8 + minute // 60 % 12:02d}:{minute % 60:02d}:00Z"


def write_bundle(out: str | Path, tickets: int = 20, reviews: int = 10, seed: int = 7, agents: int = 4,
                 customers: int = 12, orphan_responses: int = 1, kind: str = "full",
                 base: Optional[str] = None) -> dict[str, Any]:
    """A bundle in ``out``; returns the manifest. ``orphan_responses`` responses name a review not in the bundle."""
    rnd = random.Random(seed)
    extra = {"kind": kind, **({"base": base} if base else {})}
    w = BundleWriter(out, {"system": "thread", "version": "1", "tool": TOOL},
                     "synthetic Thread help desk (hdm's own bundle format)", format=FORMAT, manifest_extra=extra)
    agent_ids = [f"u-a{i}" for i in range(1, agents + 1)]
    customer_ids = [f"u-c{i}" for i in range(1, customers + 1)]
    for i, uid in enumerate(agent_ids):
        name = NAMES[i % len(NAMES)]
        left = i == agents - 1 and agents >= 3  # an agent who left: no Salesforce user (held for the admin)
        domain = "msp.example.test" if left else "agents.example.test"
        w.add_object("user", {"id": uid, "name": f"{name} {i}", "email": f"agent{i + 1}@{domain}",
                              "role": "admin" if i == 0 else "agent", "active": not left})
    for i, uid in enumerate(customer_ids):
        w.add_object("user", {"id": uid, "name": f"{NAMES[(i + 3) % len(NAMES)]} {i}",
                              "email": f"customer{i + 1}@client{i % 3}.example", "role": "customer",
                              "company": f"Client {i % 3} — Ærø GmbH"})
    teams = [{"id": "team-1", "name": "Service desk", "members": agent_ids[: max(1, agents - 1)],
              "lead_id": agent_ids[0]},
             {"id": "team-2", "name": "Projets & réseau", "members": agent_ids[1:] or agent_ids, "lead_id": None}]
    for t in teams:
        w.add_object("team", t)
    long_tags = [f"tag-{n:03d}-" + "x" * 40 for n in range(30)]  # 30 tags of 48 chars: over 1,000 chars together
    for n, name in enumerate(["billing", "vpn", "onboarding", "naïve-ünïcode", *long_tags]):
        w.add_object("tag", {"id": f"tag-{n}", "name": name})
    w.add_object("custom_property", {"id": "cp-1", "name": "contract_tier", "label": "Contract tier",
                                     "type": "select", "options": ["bronze", "silver", "gold"]})
    w.add_object("custom_property", {"id": "cp-2", "name": "device_count", "label": "Devices", "type": "number"})
    w.add_object("custom_property", {"id": "cp-3", "name": "onsite", "label": "On site visit", "type": "checkbox"})
    w.add_object("response_template", {"id": "rt-1", "name": "Password reset", "shortcut": "/pwreset",
                                       "body": "Hi {{customer.first_name}}, your password was reset.",
                                       "merge_fields": ["{{customer.first_name}}"], "team_id": "team-1"})
    w.add_object("response_template", {"id": "rt-2", "name": "Danke für Ihre Bewertung", "shortcut": "/review",
                                       "body": "Danke {{review.author}}! {{magic.summary}} — {{agent.name}}",
                                       "merge_fields": ["{{review.author}}", "{{magic.summary}}", "{{agent.name}}"]})
    w.add_object("routing_rule", {"id": "rr-1", "name": "VPN to network team", "order": 1, "active": True,
                                  "conditions": [{"field": "title", "operator": "contains", "value": "VPN"}],
                                  "team_id": "team-2"})
    w.add_object("routing_rule", {"id": "rr-2", "name": "Gold contracts to the lead", "order": 2, "active": True,
                                  "conditions": [{"field": "contract_tier", "operator": "=", "value": "gold"}],
                                  "assignee_id": agent_ids[0]})
    w.add_object("routing_rule", {"id": "rr-3", "name": "Everything else", "order": 3, "active": False,
                                  "team_id": "team-1"})
    for r in range(1, reviews + 1):
        rating = rnd.choice([1, 2, 3, 4, 5])
        w.add_object("review", {
            "id": f"{r}", "source_platform": PLATFORMS[r % len(PLATFORMS)], "rating": rating, "rating_scale": 5,
            "title": None if r % 3 else f"Avis n°{r}", "status": "responded" if r % 2 else "new",
            "body": f"Service {'très bien' if rating > 3 else 'lent'} — ★{rating} 🙂 (review {r})",
            "author": {"name": NAMES[r % len(NAMES)], "profile_url": f"https://reviews.example/u/{r}"},
            "url": f"https://reviews.example/r/{r}", "created_at": _ts(r), "tags": ["billing"] if r % 4 == 0 else [],
            "properties": {}})
        if r % 2:
            w.add_object("review_response", {"id": f"{r}", "review_id": f"{r}", "author_id": agent_ids[r % agents],
                                             "author_name": "Support team", "position": 1,
                                             "body": f"Merci {NAMES[r % len(NAMES)]} — we appreciate it.",
                                             "status": "published", "created_at": _ts(r, 90)})
    for o in range(orphan_responses):  # its review is not in the bundle: flagged, never loaded as an orphan
        w.add_object("review_response", {"id": f"orphan-{o}", "review_id": f"missing-{o}", "author_id": agent_ids[0],
                                         "body": "A reply to a review that is not in the export.",
                                         "created_at": _ts(5, 10)})
    for t in range(1, tickets + 1):
        tid = f"T{t}"
        tags = long_tags if t == 1 else rnd.sample(["billing", "vpn", "onboarding", "naïve-ünïcode"], k=t % 3)
        psa = {"system": "connectwise", "reference": f"CW-{100000 + t}", "board": "Service"} if t % 2 else None
        requester = customer_ids[t % customers]
        w.add_object("ticket", {
            "id": tid, "thread_id": f"th-{seed}-{t}", "title": f"VPN bricht ab — Ticket {t} ✓" if t % 5 == 0
            else f"Printer offline #{t}", "status": STATUSES[t % len(STATUSES)],
            "priority": PRIORITIES[t % len(PRIORITIES)], "assignee_id": agent_ids[t % agents],
            "team_id": teams[t % 2]["id"] if t % 6 else None, "requester_id": requester,
            "channel": CHANNELS[t % len(CHANNELS)], "psa": psa, "created_at": _ts(t),
            "updated_at": _ts(t, 300), "closed_at": _ts(t, 600) if STATUSES[t % len(STATUSES)] == "closed" else None,
            "tags": tags, "properties": {"contract_tier": ["bronze", "silver", "gold"][t % 3], "device_count": t,
                                         "onsite": t % 4 == 0}})
        count = LONG_MESSAGES if t % LONG_EVERY == 0 else 3 + t % 3
        for s in range(count):
            mid = f"{tid}-m{s}"
            internal = s == 2  # the third message of every ticket is an internal note
            author_type = "customer" if s % 2 == 0 and not internal else ("bot" if s == 3 and t % 4 == 0
                                                                          else "agent")
            author = requester if author_type == "customer" else (None if author_type == "bot"
                                                                  else agent_ids[t % agents])
            atts = []
            if s in (1, 2) and t % 3 == 0:  # a public reply's file, and an internal note's file (stays internal)
                data = f"diagnostic log {t}/{s} — ünïcode\n".encode() * (5 + s)
                path, sha, size = w.put_blob([data])
                aid = f"{mid}-a"
                atts.append(aid)
                w.add_object("attachment", {"id": aid, "message_id": mid, "ticket_id": tid,
                                            "file_name": f"journal-{t}-{s}.txt", "content_type": "text/plain",
                                            "size": size, "sha256": sha, "file": path, "internal": internal})
            w.add_object("message", {
                "id": mid, "ticket_id": tid, "seq": s, "author_type": author_type, "author_id": author,
                "author_name": None if author is None else ("Customer" if author_type == "customer" else "Agent"),
                "channel": CHANNELS[t % len(CHANNELS)], "sent_at": _ts(t, 10 * (s + 1)),
                "body": (f"Internal: customer on legacy contract — do not quote ({t})" if internal
                         else f"<p>Message {s} of {tid}: bonjour, こんにちは, مرحبا</p>" if s % 2
                         else f"Message {s} of {tid}: it still fails — ça ne marche pas"),
                "body_format": "html" if s % 2 and not internal else "text", "internal": internal,
                "attachment_ids": atts})
    return w.close()


def delta_base(manifest_path: str | Path) -> str:
    """The bundle id of a written bundle (what a delta names as its base)."""
    return hashlib.sha256(Path(manifest_path).read_bytes()).hexdigest()[:16]


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.thread_bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the bundle folder to write (must not exist)")
    parser.add_argument("--zip", action="store_true", help="also write <out>.zip")
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--reviews", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--delta-of", default=None, help="write a delta bundle declared on this bundle id")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} exists; give a new folder")
    manifest = write_bundle(out, args.tickets, args.reviews, args.seed, kind="delta" if args.delta_of else "full",
                            base=args.delta_of)
    if args.zip:
        zip_bundle(out, out.with_suffix(".zip"))
    counts = {f["object_type"]: f["lines"] for f in manifest["files"]}
    print(f"wrote {out} (bundle {delta_base(out / 'manifest.json')}): {sum(counts.values())} lines "
          f"({', '.join(f'{k} {v}' for k, v in counts.items())}), {len(manifest['attachments'])} attachment file(s)"
          + (f"; zip {out.with_suffix('.zip')}" if args.zip else ""))


if __name__ == "__main__":
    main()
