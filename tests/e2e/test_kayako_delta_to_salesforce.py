"""Delta runs for Kayako → Salesforce on the local engine (hdm/delta.py through the Kayako source): a full run,
a delta with nothing changed (nothing moves), then cases changed in Kayako (a new note post each, ``updated_at``
moved, through the emulator's ``touch``) and a delta that extracts only those cases and their posts and
duplicates nothing in the Salesforce emulator."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import MigrationConfig
from hdm_infra.rehearsal import DEFAULT_OWNER, SourceDb, config_document, file_secrets, prepare_org
from hdm_infra.testing.kayakoemu import kayakoemu, kayakoemu_seeded, kayakoemu_server  # noqa: F401


@pytest.fixture
def kayako_delta_config(kayakoemu_seeded, sfemu, tmp_path):  # noqa: F811 - the fixture imported above
    prepare_org(sfemu.running, [DEFAULT_OWNER])
    secret = file_secrets(tmp_path / "secrets")
    api = urlsplit(kayakoemu_seeded.running.api_url)
    creds = kayakoemu_seeded.running.credentials
    placeholder = SourceDb("127.0.0.1", 3306, "unused", "unused", "unused", "")  # the source is replaced below
    doc = config_document("e2e-kayako-delta", placeholder, sfemu.running, secret,
                          {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner"},
                          require_approval=False)
    doc["source"] = {"type": "kayako", "host": api.hostname, "port": api.port,
                     "email": secret("kayako-email", creds["email"]),
                     "password": secret("kayako-password", creds["password"]),
                     "ca_bundle": str(kayakoemu_seeded.running.cert_path), "page_size": 50}
    return MigrationConfig.model_validate(doc), kayakoemu_seeded, sfemu


def _counts(sf) -> dict[str, int]:
    return {t: sf.query_all(f"SELECT Id FROM {t}")["totalSize"] for t in ("Case", "CaseComment", "Contact",
                                                                        "Account")}


def _per_type(outcome) -> dict[str, int]:
    """Records extracted over every run of the migration (the report's source section adds the runs up)."""
    return {t: v.get("extracted", 0) for t, v in outcome.report["source"]["per_type"].items()}


def test_a_kayako_delta_moves_only_the_changed_cases_and_duplicates_nothing(kayako_delta_config, tmp_path):
    cfg, k, sfemu = kayako_delta_config
    sf = sfemu.connect()
    engine = LocalEngine(cfg, workdir=tmp_path / "work", progress=False)
    full = engine.run(approve=True)
    assert full.status == "succeeded", full.message
    after_full = _counts(sf)
    assert after_full["Case"] == k.admin.counts()["case"]

    idle = engine.run(delta=True)
    assert idle.status == "succeeded", idle.message
    assert _counts(sf) == after_full
    idle_run = idle.report["runs"][-1]
    assert idle_run["mode"] == "delta" and idle_run["mark"]["clock"] == "date_header"
    assert not {"ticket", "message", "contact", "organization", "agent"} & set(idle_run["changed_estimate"])

    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)).isoformat()
    k.admin.touch([2, 4], at)  # a new internal note post on each case, updated_at moved
    first = engine.run(delta=True)
    assert first.status == "succeeded", first.message
    changed = first.report["runs"][-1]["changed_estimate"]
    assert changed["ticket"] == changed["message"] == 2  # the chunks cover the two changed cases only
    assert not {"contact", "organization", "agent"} & set(changed)
    before, now = _per_type(idle), _per_type(first)  # records extracted over every run so far
    assert now["ticket"] - before["ticket"] == 2  # only the two changed cases extracted again
    assert all(now[t] == before[t] for t in ("contact", "organization", "agent"))
    after = _counts(sf)
    assert after == {**after_full, "CaseComment": after_full["CaseComment"] + 2}  # the two notes, nothing twice
    cases = sf.query_all("SELECT Id FROM Case")["records"]
    assert len({c["Id"] for c in cases}) == after_full["Case"]
