"""The Thread provider: hdm Thread bundles (docs/thread-bundle.md) written by the synthetic writer
(hdm_infra.thread_bundle). The inventory is read from the bundle's own JSONL lines with the json module (what the
writer wrote), never through the Thread source's code; the canonical keys follow docs/thread-bundle.md (a ticket
line's id, ``review-<id>`` for a review, which becomes a ticket of kind review)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdm_infra.providers import BadValue, Inventory, Resources, SecretRef, SourceFixture, SourceProvider

MATCHED_AGENT_DOMAIN = "@agents.example.test"  # the writer's agents that exist in the destination
SIZES = {"contract": (4, 3), "rehearsal": (12, 6), "parity": (6, 4)}  # (tickets, reviews)
SEED = 11


def _lines(folder: Path, object_type: str) -> list[dict[str, Any]]:
    path = folder / f"{object_type}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class ThreadFixture(SourceFixture):
    folder: Path
    label: str = ""
    chunk_rows: int = 4
    source_type: str = "thread"

    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        return {"type": "thread", "path": str(self.folder)}  # staged by the first step that needs it

    def inventory(self) -> Inventory:
        users = _lines(self.folder, "user")
        tickets = {f"ticket:{t['id']}" for t in _lines(self.folder, "ticket")}
        tickets |= {f"ticket:review-{r['id']}" for r in _lines(self.folder, "review")}
        keys = {
            "ticket": tickets,
            "contact": {f"contact:{u['id']}" for u in users if u["role"] == "customer"},
            "agent": {f"agent:{u['id']}" for u in users if u["role"] != "customer"},
            "team": {f"team:{t['id']}" for t in _lines(self.folder, "team")},
            "tag": {f"tag:{t['id']}" for t in _lines(self.folder, "tag")},
            "attachment": {f"attachment:{a['id']}" for a in _lines(self.folder, "attachment")},
        }
        return Inventory(counts={t: len(k) for t, k in keys.items()}, keys=keys)

    def people_in_destination(self) -> list[str]:
        return sorted({u["email"] for u in _lines(self.folder, "user") if u["role"] != "customer"
                       and (u.get("email") or "").endswith(MATCHED_AGENT_DOMAIN)})


class ThreadProvider(SourceProvider):
    name = "thread"
    # the contract suites run on it; the e2e rehearsal tests still assume osTicket-shaped data (Accounts to
    # compare in the parity test) and public bot messages are left unpublished by the Salesforce transform
    not_in_rehearsal = ("the e2e rehearsal assumes companies (Accounts) and published public messages; Thread "
                        "bundles have no company records and bot replies stay unpublished in Salesforce")

    def _write(self, resources: Resources, tickets: int, reviews: int, orphans: int, label: str) -> ThreadFixture:
        from hdm_infra.thread_bundle import write_bundle

        folder = resources.tmp_dir(f"thread-{label}") / "bundle"
        write_bundle(folder, tickets=tickets, reviews=reviews, seed=SEED, orphan_responses=orphans)
        return ThreadFixture(folder, label=f"thread-{label}")

    def fixture(self, resources: Resources, size: str = "contract") -> ThreadFixture:
        tickets, reviews = SIZES[size]
        return self._write(resources, tickets, reviews, 0, f"{tickets}t{reviews}r")

    def hostile_fixture(self, resources: Resources) -> tuple[ThreadFixture, list[BadValue]]:
        """The writer's orphan: a review response naming a review that is not in the bundle (flagged, kept)."""
        fixture = self._write(resources, 2, 2, 1, "hostile")
        return fixture, [BadValue("message:response-orphan-0", "a response to a review that is not in the bundle")]


SOURCE = ThreadProvider()
