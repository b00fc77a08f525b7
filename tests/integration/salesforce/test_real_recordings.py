"""Databases written by the real osTicket application (recorded under tests/fixtures/osticket_real) migrate into
the emulator with no record rejected over a field value: typed form answers, bodies and titles as osTicket shows
them, inline images without false warnings."""

from __future__ import annotations

import gzip
import os
import re
import secrets
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from dataset import load_all, transform_all
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.sources.osticket import OsTicketSource

RECORDINGS = Path(__file__).resolve().parents[2] / "fixtures" / "osticket_real"
VERSIONS = sorted(p.name for p in RECORDINGS.glob("*") if (p / "osticket.sql.gz").is_file())
MIG = "mig-real"


def _load_dump(mariadb, version: str) -> dict:
    """The recorded dump in a fresh database, read through a read-only account (as a customer's source)."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mariadb client")
    name = f"ost_real_{version.replace('.', '_')}_{secrets.token_hex(3)}"
    mariadb.create_database(name)
    info = mariadb.info()
    sql = gzip.decompress((RECORDINGS / version / "osticket.sql.gz").read_bytes())
    subprocess.run([client, "--host=127.0.0.1", f"--port={info['port']}", f"--user={info['user']}",
                    "--default-character-set=utf8mb4", name], input=sql, check=True, capture_output=True,
                   env={"MYSQL_PWD": info["password"], "PATH": os.environ.get("PATH", "/usr/bin:/bin")}, timeout=120)
    user, password = f"ro_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    mariadb.create_user(user, password, name, read_only=True)
    return {"host": mariadb.host, "port": mariadb.port, "user": user, "password": password, "database": name}


@pytest.fixture(params=VERSIONS)
def migrated(request, mariadb, sf_factory, sf_admin, stage, crosswalk):
    params = _load_dump(mariadb, request.param)
    records: dict[str, list] = defaultdict(list)
    with OsTicketSource(params) as src:
        for chunk in src.plan(50):
            records[chunk.object_type].extend(src.extract(chunk, stage))
    stage.write_records("extract/custom_field/real.jsonl.gz", [d.to_dict() for d in records["custom_field"]])
    options = SalesforceOptions(stage=stage, bulk_poll_seconds=0.01, retry_base_seconds=0.01, retry_max_seconds=0.05,
                                default_owner_email="owner@helpdesk.test", legacy_namespace=MIG)
    dest = SalesforceDestination(sf_factory, options=options)
    dest.prepare({})
    chunks = transform_all(dest, {k: v for k, v in records.items() if k in (
        "agent", "team", "organization", "contact", "ticket", "message", "attachment")})
    results = load_all(dest, chunks, crosswalk, MIG, "run-1")
    return request.param, records, chunks, results


def test_no_record_is_rejected_over_a_field_value(migrated, sf_factory):
    version, records, chunks, results = migrated
    outcomes = [o for r in results for o in r.outcomes]
    rejected = [(o.source_key, o.error_code, o.message) for o in outcomes if o.status == "rejected"]
    assert rejected == [], version
    cases = sf_factory().query("SELECT Id, hdm_Legacy_Id__c FROM Case")["records"]
    tickets = [t for t in records["ticket"] if t.kind != "task"]
    assert len({c["hdm_Legacy_Id__c"] for c in cases}) >= len(tickets)
    # every form answer was readable: nothing flagged unparsed, no stored zone text sent to the org
    assert not [f for t in records["ticket"] for f in t.flags if f.code == "unparsed_value"]
    sent = [v for rows in chunks.get("cases", []) for row in rows for k, v in row.items()
            if k.startswith("hdm_cf_") and isinstance(v, str)]
    assert not [v for v in sent if re.search(r"\d\d:\d\d:\d\d [A-Z]{3,4}$", v)]


def test_the_custom_answers_arrive_typed(migrated, sf_factory):
    version, records, _, _ = migrated
    answered = [t for t in records["ticket"] if t.custom.get("incident_start")]
    assert answered, version
    fields = {d.name: d.type for d in records["custom_field"]}
    assert fields["incident_start"] == "date"  # the recorded field has no time picker: osTicket shows "1/31/25"
    sf = sf_factory()
    for t in answered:
        (case,) = sf.query(f"SELECT hdm_cf_incident_start__c, hdm_cf_warranty__c FROM Case "
                           f"WHERE hdm_Legacy_Id__c = '{MIG}/{t.key}'")["records"]
        assert case["hdm_cf_incident_start__c"] == t.custom["incident_start"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", case["hdm_cf_incident_start__c"])


def test_entries_read_as_osticket_shows_them(migrated, sf_factory):
    version, records, chunks, results = migrated
    rows = {r["_message"]: r for part in chunks["comments"] for r in part if r["_part"] == 0}
    msgs = {m.key: m for m in records["message"]}
    # the recordings hold entity-escaped plain text: the osTicket source decodes it as it reads (osTicket's own
    # storage rule), so what arrives is the text osTicket shows, never the escaped form
    text = [m for m in msgs.values() if m.body_format == "text" and m.body_text and ">" in m.body_text]
    assert text, version
    for m in text:
        assert "&gt;" not in m.body_text
        assert "&gt;" not in rows[m.key]["CommentBody"] and ">" in rows[m.key]["CommentBody"]
    titled = [m for m in msgs.values() if m.title]
    assert any(m.visibility.value == "internal" for m in titled)
    for m in titled:
        assert "· Title: " in rows[m.key]["CommentBody"].split("\n", 1)[0], m.key
    # inline images: the recorded cid: images have their files; no false warning
    with_images = [m for m in msgs.values() if "cid:" in (m.body_html or "")]
    assert with_images, version
    for m in with_images:
        assert m.inline_images, m.key
        assert "cid_unresolved" not in [f["code"] for f in rows[m.key]["_flags"]]
    flags = [f for r in results for f in r.flags]
    assert not [f for f in flags if f["code"] == "cid_unresolved"]
