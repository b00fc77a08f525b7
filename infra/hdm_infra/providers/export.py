"""The export provider: hdm's own JSONL export bundles (docs/export-bundle.md), written by the synthetic sample
writer (hdm_infra.export_bundle). What a bundle holds is the writer's list of records, never re-read through the
export source's code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdm_infra.providers import BadValue, Inventory, Resources, SecretRef, SourceFixture, SourceProvider

MATCHED_AGENT_DOMAIN = "@agents.example.test"  # the sample's agents that exist in the destination
SIZES = {"contract": 6, "rehearsal": 20, "parity": 10}  # tickets
SEED = 7


@dataclass
class ExportFixture(SourceFixture):
    folder: Path
    tickets: int
    bad_value: bool = False
    label: str = ""
    chunk_rows: int = 4
    source_type: str = "export"

    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        return {"type": "export", "path": str(self.folder)}  # staged by the first step that needs it

    def _records(self) -> list[Any]:
        from hdm_infra.export_bundle import sample_records

        return [rec for rec, _ in sample_records(self.tickets, SEED, self.bad_value)]

    def inventory(self) -> Inventory:
        counts: dict[str, int] = {}
        keys: dict[str, set[str]] = {}
        for rec in self._records():
            object_type = rec.OBJECT.value
            counts[object_type] = counts.get(object_type, 0) + 1
            keys.setdefault(object_type, set()).add(rec.key)
        return Inventory(counts=counts, keys=keys)

    def people_in_destination(self) -> list[str]:
        return sorted({r.email for r in self._records() if r.OBJECT.value == "agent" and r.email
                       and r.email.endswith(MATCHED_AGENT_DOMAIN)})


class ExportProvider(SourceProvider):
    name = "export"

    def _write(self, resources: Resources, tickets: int, bad_value: bool, label: str) -> ExportFixture:
        from hdm_infra.export_bundle import write_sample

        folder = resources.tmp_dir(f"export-{label}") / "bundle"
        write_sample(folder, tickets, SEED, bad_value)
        return ExportFixture(folder, tickets, bad_value, label=f"export-{label}")

    def fixture(self, resources: Resources, size: str = "contract") -> ExportFixture:
        return self._write(resources, SIZES[size], False, f"{SIZES[size]}t")

    def hostile_fixture(self, resources: Resources) -> tuple[ExportFixture, list[BadValue]]:
        """The sample's own hostile record: a ticket whose created_at is a number where a date is due."""
        fixture = self._write(resources, 3, True, "hostile")
        return fixture, [BadValue(f"ticket:{fixture.tickets + 1}", "created_at is a number, not an ISO date")]


SOURCE = ExportProvider()
