"""osTicket → Intercom on the local engine: a generated osTicket database (MariaDB) into the Intercom emulator
(HTTPS, every request and response validated against the official OpenAPI 2.16), real clients end to end."""

from __future__ import annotations

import pytest
from hdm.crosswalk.base import State
from hdm.destinations.intercom import phases as P
from hdm.engines.factories import build_destination
from hdm.engines.local import LocalEngine
from hdm_infra.intercom_rehearsal import intercom_config, workspace_for


@pytest.fixture
def intercom_rehearsal(osticket_db, mariadb, intercomemu, tmp_path):
    db = osticket_db(version="1.18", tickets=6, seed=5)
    with mariadb.connect(database=db.database) as conn:
        admins, teams = workspace_for(conn, db.prefix)

    def reset():
        intercomemu.admin.reset(admins=admins, teams=teams)

    def make(migration_id: str = "e2e-intercom", **overrides):
        return intercom_config(migration_id, db, intercomemu.running, tmp_path / "secrets", **overrides)

    reset()
    return make, reset, db, intercomemu


def _content(emu) -> dict:
    """What the workspace holds, without the ids Intercom gives (a clean run and a resumed one compare equal)."""
    dump = emu.admin.dump()
    contacts = {c["id"]: c.get("external_id") or c.get("email") for c in dump.get("contact", [])}
    companies = {c["id"]: c.get("company_id") for c in dump.get("company", [])}
    tickets = sorted(
        (str(t["ticket_attributes"].get("hdm legacy id")), t["created_at"], t["state_id"],
         tuple(contacts.get(c) for c in t["contact_ids"]), companies.get(t.get("company_id")),
         tuple((p["part_type"], p["author"]["type"], p["created_at"], p.get("body"), len(p["attachments"]))
               for p in t["parts"]))
        for t in dump.get("ticket", []))
    return {"contacts": sorted(str(v) for v in contacts.values()), "companies": sorted(map(str, companies.values())),
            "tickets": tickets}


def test_osticket_to_intercom_accounts_for_every_record(intercom_rehearsal, tmp_path):
    make, reset, db, emu = intercom_rehearsal
    engine = LocalEngine(make(), workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"], report.get("headline")
    phases = {p["phase"]: p for p in report["phases"]}
    for phase in phases.values():
        accounted = sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped"))
        assert accounted == phase["source"] and phase["unexplained_count"] == 0, phase
    assert phases["tickets"]["loaded"] > 0 and phases["tickets"]["rejected"] == 0
    assert phases["parts"]["loaded"] > phases["tickets"]["loaded"]
    for name in ("companies", "contacts", "tickets", "parts"):
        assert phases[name]["field_mismatches"] == 0, phases[name]["mismatches"][:5]
    assert phases["admins"]["held"] > 0, "the generator has agents with no Intercom admin: listed, not dropped"
    # one department has no team in the workspace, nor have osTicket's three teams: each is reported, never dropped
    assert phases["teams"]["held"] == 4
    assert engine.stage.get_json("reports/prepare.json")["failed"] == []

    # internal notes are notes: never a comment, never delivered to a contact
    internal = {f"message:{row['provenance']['id']}" for key in engine.stage.list("extract/message/")
                for row in engine.stage.read_records(key) if row["visibility"] == "internal"}
    assert internal, "the generated data has internal notes"
    parts = {e.source_key: e.dest_id for e in engine.crosswalk.iter_migration("e2e-intercom", phase=P.PARTS)
             if e.state == State.LOADED and e.dest_object == P.PART}
    dump = emu.admin.dump()
    # the queue (department) and category (help topic) names are attributes; the category a tag as well
    assert any(t["ticket_attributes"].get("Queue") for t in dump["ticket"])
    assert any(t["ticket_attributes"].get("Category") and t.get("tags") for t in dump["ticket"])
    assert any(t["ticket_attributes"].get("Original ticket number") for t in dump["ticket"])
    part_type = {p["id"]: p["part_type"] for t in dump["ticket"] for p in t["parts"]}
    assert {part_type[parts[k]] for k in internal if k in parts} == {"note"}
    assert not [d for d in emu.admin.deliveries() if d["part_type"] == "note"]
    assert not emu.admin.validation_failures(), "every request and answer is valid against the spec"

    # the same migration again writes nothing new
    before = _content(emu)
    again = LocalEngine(make(), workdir=tmp_path / "work", progress=False).run()
    assert again.status == "succeeded", again.message
    assert _content(emu) == before
    # and from a fresh state folder: what is there is found by legacy id and adopted, nothing is made twice
    fresh = LocalEngine(make(), workdir=tmp_path / "fresh", progress=False).run(approve=True)
    assert fresh.status == "succeeded", fresh.message
    assert _content(emu) == before

    # rollback: tickets, contacts and companies it created are gone; what Intercom cannot delete is said
    result = LocalEngine(make(), workdir=tmp_path / "work", progress=False).rollback()
    assert result["restored"], result.get("message")
    assert result["proof"]["not_deletable"], "what Intercom does not let anyone delete stays in the report"
    counts = emu.admin.counts()
    assert (counts["ticket"], counts["contact"], counts["company"]) == (0, 0, 0)

    # a run killed right after a reply landed, resumed: ends exactly like the clean run (same migration id, new
    # folder); more kill points run on the in-memory Intercom (tests/unit/intercom/test_intercom_loaders.py)
    cfg = make()

    def killing():
        dest = build_destination(cfg.destination, killed.stage, cfg.migration_id, "osticket")
        dest._api = _KillAfter(dest.api, "reply", 5)
        return dest

    killed = LocalEngine(cfg, workdir=tmp_path / "killed", progress=False, destination_factory=killing)
    assert killed.run(approve=True).status != "succeeded"
    resumed = LocalEngine(cfg, workdir=tmp_path / "killed", progress=False).run()
    assert resumed.status == "succeeded", resumed.message
    assert _content(emu) == before


class _KillAfter:
    """Wraps the destination's API: raises after the ``n``-th call of ``method`` returned (the write landed)."""

    def __init__(self, api, method: str, n: int):
        self._api, self._method, self._left = api, method, n

    def __getattr__(self, name):
        real = getattr(self._api, name)
        if name != self._method:
            return real

        def call(*args, **kwargs):
            out = real(*args, **kwargs)
            self._left -= 1
            if self._left == 0:
                raise RuntimeError(f"killed after {name}")
            return out
        return call


def test_with_five_percent_faults_nothing_is_lost_or_duplicated(intercom_rehearsal, tmp_path):
    """5% of the calls answered 429 (the limiter then waits for the window's reset: kept to 0.5% for the test's
    time), 503 or a reset connection (writes included): the limiter and retries absorb
    them, a write whose answer was lost is looked for before it is sent again, and a chunk that still fails is
    resumed by the next run (bounded). Every record ends accounted for, none twice."""
    make, reset, db, emu = intercom_rehearsal
    emu.admin.knobs(faults={"seed": 3, "rate_429": 0.005, "rate_503": 0.025, "rate_reset": 0.02})
    cfg = make("faults")
    for _ in range(5):
        outcome = LocalEngine(cfg, workdir=tmp_path / "work", progress=False).run(approve=True)
        if outcome.status == "succeeded":
            break
    assert outcome.status == "succeeded", outcome.message
    from hdm.destinations.intercom.destination import _SHARED

    statuses: dict[str, int] = {}
    for api in _SHARED.values():
        for family in api.calls.snapshot().values():
            for status, n in family["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
    assert statuses.get("503", 0) and statuses.get("connection-error", 0), statuses  # the faults did happen
    emu.admin.knobs(faults={"rate_429": 0.0, "rate_503": 0.0, "rate_reset": 0.0})
    phases = {p["phase"]: p for p in outcome.report["phases"]}
    assert all(p["unexplained_count"] == 0 for p in phases.values())
    prepared = LocalEngine(cfg, workdir=tmp_path / "work", progress=False).stage.get_json("reports/prepare.json")
    assert prepared["failed"] == [], prepared["failed"]
    dump = emu.admin.dump()
    legacy = [t["ticket_attributes"].get("hdm legacy id") for t in dump["ticket"]]
    assert len(legacy) == len(set(legacy)) == phases["tickets"]["loaded"], "no ticket twice"
    externals = [c.get("external_id") for c in dump["contact"] if c.get("external_id")]
    assert len(externals) == len(set(externals)) == phases["contacts"]["loaded"], "no contact twice"
    parts = [e.dest_id for e in LocalEngine(cfg, workdir=tmp_path / "work", progress=False).crosswalk.iter_migration(
        "faults") if e.state == State.LOADED and e.dest_object in (P.PART, P.FILES_NOTE)]
    assert len(parts) == len(set(parts)), "no two messages share a part"
    # every part in Intercom is a message's, or a note hdm added to carry files: none twice, none unaccounted
    assert sum(len(t["parts"]) for t in dump["ticket"]) == len(parts)
