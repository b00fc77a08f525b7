"""Where the org grants "Set Audit Fields upon Record Creation" (the emulator's audit knob), Cases and comments
carry the original CreatedDate, and comments the CreatedById of their matched agent; otherwise the original time
stays in the comment header (emulator over HTTPS, real simple-salesforce)."""

from __future__ import annotations

import pytest
from dataset import load_all, small_dataset, transform_all

MIG = "mig-audit"


def run(make_dest, stage, crosswalk, sf_admin, audit: bool, bulk_threshold: int = 2000):
    sf_admin.knobs(audit_fields=audit)
    dest = make_dest(legacy_namespace=MIG, bulk_threshold=bulk_threshold)
    dest.prepare({})
    data = small_dataset(stage, tickets=3)
    for m in data["message"]:
        if m.kind.value == "agent":
            m.author = "agent:1"  # Ann, matched to a User by e-mail
    load_all(dest, transform_all(dest, {k: v for k, v in data.items() if k != "attachment"}), crosswalk, MIG, "r1")
    return data


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_with_the_permission_cases_and_comments_keep_their_original_creation(
        make_dest, stage, crosswalk, sf_admin, sf_factory, bulk_threshold):
    data = run(make_dest, stage, crosswalk, sf_admin, True, bulk_threshold)
    sf = sf_factory()
    ann = sf.query("SELECT Id FROM User WHERE Email = 'ann@helpdesk.test'")["records"][0]["Id"]
    api_user = sf.query("SELECT Id FROM User WHERE Email != 'ann@helpdesk.test' AND Email != "
                        "'owner@helpdesk.test'")["records"][0]["Id"]
    cases = sf.query_all(f"SELECT hdm_Legacy_Id__c, CreatedDate FROM Case WHERE hdm_Legacy_Id__c LIKE '{MIG}/%'"
                         )["records"]
    created = {t.key: t.created_at for t in data["ticket"]}
    for c in cases:
        assert c["CreatedDate"].startswith(created[c["hdm_Legacy_Id__c"].split("/", 1)[1]][:19])
    rows = sf.query_all("SELECT CommentBody, CreatedDate, CreatedById FROM CaseComment")["records"]
    assert rows
    by_time = {m.created_at[:19]: m for m in data["message"]}
    for c in rows:
        m = by_time[c["CreatedDate"][:19]]  # every comment carries its entry's original time
        assert c["CreatedById"] == (ann if m.author == "agent:1" else api_user), c
    assert {c["CreatedById"] for c in rows} == {ann, api_user}


def test_without_the_permission_the_original_time_stays_in_the_header(
        make_dest, stage, crosswalk, sf_admin, sf_factory):
    run(make_dest, stage, crosswalk, sf_admin, False)
    sf = sf_factory()
    rows = sf.query_all("SELECT CommentBody, CreatedDate, CreatedById FROM CaseComment")["records"]
    assert rows and not any(c["CreatedDate"].startswith("2023-01-01") for c in rows)
    assert all("2023-01-01" in c["CommentBody"].split("\n", 1)[0] for c in rows)
    ann = sf.query("SELECT Id FROM User WHERE Email = 'ann@helpdesk.test'")["records"][0]["Id"]
    assert not any(c["CreatedById"] == ann for c in rows)
