"""The Kayako provider: generated help desks in the Kayako emulator (hdm_infra.kayakoemu), one emulator per
fixture, started on first use and kept for the process.

What a desk holds comes from the emulator's own counts (``GET /__admin/counts``, the generator's rows) and its
plan of rare cases, never from the Kayako source's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hdm_infra.providers import BadValue, Inventory, Resources, SecretRef, SourceFixture, SourceProvider

SIZES = {"contract": (12, 7), "rehearsal": (16, 11), "parity": (12, 23)}  # (cases, seed): small, fast


@dataclass
class KayakoFixture(SourceFixture):
    running: Any  # hdm_infra.kayakoemu.server.RunningKayako
    counts: dict[str, int]
    plan: dict[str, Any]
    label: str = ""
    chunk_rows: int = 5
    source_type: str = "kayako"

    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        api = urlsplit(self.running.api_url)
        creds = self.running.credentials
        return {"type": "kayako", "host": api.hostname, "port": api.port,
                "email": secret_ref("kayako-email", creds["email"]),
                "password": secret_ref("kayako-password", creds["password"]),
                "ca_bundle": str(self.running.cert_path), "page_size": 5}

    def inventory(self) -> Inventory:
        c = self.counts
        counts = {
            "ticket": c["case"], "message": c["post"], "attachment": c["attachment"] + c["media"],
            "organization": c["organization"], "note": c["user_note"] + c["organization_note"],
            "team": c["team"], "brand": c["brand"], "tag": c["tag"], "sla_policy": c["sla"],
            "status": c["case_status"], "priority": c["case_priority"], "ticket_type": c["case_type"],
            "automation_rule": c["trigger"] + c["monitor"] + c["sla"], "kb_category": c["category"] + c["section"],
        }
        # users split into contacts and agents by role, articles into one record per locale, custom fields
        # without Kayako's system fields: checked against discovery only
        return Inventory(counts=counts, keys={"ticket": {f"ticket:{i}" for i in range(1, c["case"] + 1)}})


class KayakoProvider(SourceProvider):
    name = "kayako"

    def __init__(self) -> None:
        self._fixtures: dict[str, KayakoFixture] = {}

    def _desk(self, resources: Resources, label: str, cases: int, seed: int) -> KayakoFixture:
        if label not in self._fixtures:
            from hdm_infra.kayakoemu.client import AdminClient
            from hdm_infra.kayakoemu.server import serve_in_thread

            running = serve_in_thread(resources.tmp_dir(f"kayako-{label}"))
            admin = AdminClient(running)
            admin.reset()
            seeded = admin.seed(cases=cases, seed=seed, huge_post_bytes=20_000)
            self._fixtures[label] = KayakoFixture(running, seeded["counts"], seeded["plan"],
                                                  label=f"kayako-{cases}c")
        return self._fixtures[label]

    def fixture(self, resources: Resources, size: str = "contract") -> KayakoFixture:
        cases, seed = SIZES[size]
        return self._desk(resources, size, cases, seed)

    def hostile_fixture(self, resources: Resources) -> tuple[KayakoFixture, list[BadValue]]:
        """The generator's rare cases: a value of a deleted field definition, a trashed and a suspended case."""
        fixture = self._desk(resources, "hostile", 10, 3)
        plan = fixture.plan
        return fixture, [
            BadValue(f"ticket:{plan['deleted_field_case_id']}", "holds a value of a deleted field definition",
                     frozenset({"deleted_field"})),
            BadValue(f"ticket:{plan['trashed_case_id']}", "is in Kayako's trash", frozenset({"trashed_case"})),
            BadValue(f"ticket:{plan['suspended_case_id']}", "is suspended", frozenset({"suspended_case"})),
        ]


SOURCE = KayakoProvider()
