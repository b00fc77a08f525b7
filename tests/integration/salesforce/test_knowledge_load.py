"""Knowledge articles and their categories into the emulator: KbCategory → Topic (path in Description, name
limits, case-insensitive collisions), KbArticle → Knowledge__kav (UrlName valid and de-duplicated, language from
the locale, published / draft / archived), TopicAssignment, a re-run without duplicates, rollback (archive then
delete) and Knowledge disabled (held, prepare finding). Hand-built canonical v2 records, no source."""

from __future__ import annotations

from dataset import load_all, rollback_all, transform_all
from hdm.crosswalk.base import State
from hdm.model import ArticleState, Attachment, KbArticle, KbCategory, Provenance

MIG = "mig-kb"


def prov(obj: str, i: int) -> Provenance:
    return Provenance("export", obj, str(i))


def kb_data(stage=None) -> dict[str, list]:
    cats = [KbCategory(prov("section", 1), name="Billing"),
            KbCategory(prov("section", 2), name="Refunds", parent="kb_category:1", description="<p>Money back</p>"),
            KbCategory(prov("section", 3), name="  BILLING ", parent="kb_category:2"),  # folds onto "Billing"
            KbCategory(prov("section", 4), name="L" * 120)]
    arts = [KbArticle(prov("article", 1), title="How to get a refund", url_name="how to/get a refund!",
                      body_html="<p>Ask us</p>", summary="Refunds in short", category="kb_category:2",
                      state=ArticleState.PUBLISHED, locale="de-DE"),
            KbArticle(prov("article", 2), title="Reset password", body_html="<p>one</p>", category="kb_category:1",
                      state=ArticleState.DRAFT, locale="en-US"),
            KbArticle(prov("article", 3), title="Reset password", body_html="<p>two</p>", category="kb_category:4",
                      state=ArticleState.ARCHIVED, locale="xx", attachments=["attachment:77"])]
    data = {"kb_category": cats, "kb_article": arts}
    if stage is not None:  # the archived article's file, staged
        blob, sha, size = stage.put_blob([b"%PDF-1.4 refund form"])
        data["attachment"] = [Attachment(prov("file", 77), file_name="form.pdf", size=size, sha256=sha, blob=blob)]
    return data


def _run(dest, crosswalk, run="run-1", verify=False):
    # two chunks of articles: the slug clash spans them
    chunks = transform_all(dest, kb_data(dest.options.stage), chunk_rows=2)
    results = load_all(dest, chunks, crosswalk, MIG, run)
    if verify:  # every loaded record read back: no mismatch
        for phase in ("topics", "knowledge", "topic_assignments", "files"):
            for rows in chunks.get(phase, []):
                assert dest.verify_chunk(phase, [dict(r) for r in rows], crosswalk, MIG) == [], phase
    return results


def _by_key(results):
    return {o.source_key: o for r in results for o in r.outcomes}


def test_categories_become_topics_and_articles_knowledge_published_by_state(make_dest, crosswalk, sf_factory,
                                                                           sf_admin):
    dest = make_dest()
    report = dest.prepare({})
    assert report["knowledge"]["enabled"] is True and report["knowledge"]["body_field"] == "Body__c"
    results = _run(dest, crosswalk, verify=True)
    out = _by_key(results)
    flags = [f for r in results for f in r.flags]
    sf = sf_factory()
    topics = {t["Name"]: t for t in sf.query("SELECT Id, Name, Description FROM Topic")["records"]}
    assert set(topics) == {"Billing", "Refunds", "L" * 99}
    assert topics["Refunds"]["Description"].startswith("Path: Billing / Refunds\nMoney back")
    sf.Topic.update(topics["Refunds"]["Id"], {"Description": "edited"})  # verification sees a change
    rows = dest.transform("kb_category", kb_data()["kb_category"])["topics"]
    assert [m["field"] for m in dest.verify_chunk("topics", rows, crosswalk, MIG)] == ["Description"]
    # "  BILLING " folds onto "Billing": one Topic, flagged with its own path
    assert out["kb_category:3"].dest_id == topics["Billing"]["Id"]
    assert any(f["source_key"] == "kb_category:3" and f["code"] == "topic_name_collision" for f in flags)
    assert any(f["source_key"] == "kb_category:4" and f["code"] == "truncated" and f["field"] == "Name"
               for f in flags)
    arts = {a["Id"]: a for a in sf.query(
        "SELECT Id, Title, UrlName, Summary, Body__c, Language, PublishStatus FROM Knowledge__kav WHERE "
        "PublishStatus IN ('Draft', 'Online', 'Archived')")["records"]}
    a1, a2, a3 = (arts[out[f"kb_article:{i}"].dest_id] for i in (1, 2, 3))
    assert (a1["UrlName"], a1["PublishStatus"], a1["Language"], a1["Summary"], a1["Body__c"]) == (
        "how-to-get-a-refund", "Online", "de", "Refunds in short", "<p>Ask us</p>")
    assert (a2["UrlName"], a2["PublishStatus"], a2["Language"]) == ("Reset-password", "Draft", "en_US")
    assert (a3["UrlName"], a3["PublishStatus"]) == ("Reset-password-3", "Archived")  # de-duplicated with the id
    assert any(f["source_key"] == "kb_article:3" and f["code"] == "language_not_active" for f in flags)
    # the article's file is published onto its version
    doc = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{a3['Id']}'")
    assert out["attachment:77"].status == "created" and doc["totalSize"] == 1
    links = sf.query(f"SELECT TopicId, EntityId FROM TopicAssignment WHERE EntityId = '{a1['Id']}'")["records"]
    assert [lk["TopicId"] for lk in links] == [topics["Refunds"]["Id"]]
    assert sf_admin.counts()["TopicAssignment"] == 3

    # a re-run creates nothing twice
    again = _by_key(_run(dest, crosswalk, "run-2"))
    assert {o.status for k, o in again.items()} <= {"unchanged", "updated", "matched"}
    counts = sf_admin.counts()
    assert (counts["Topic"], counts["Knowledge__kav"], counts["TopicAssignment"]) == (3, 3, 3)

    # rollback: links, articles (the Online one archived first, the archived and draft deleted), topics
    rollback_all(dest, crosswalk, MIG, "rb-1")
    counts = sf_admin.counts()
    assert (counts.get("Topic", 0), counts.get("Knowledge__kav", 0), counts.get("TopicAssignment", 0),
            counts.get("ContentDocument", 0)) == (0, 0, 0, 0)
    proof = dest.rollback_proof(list(crosswalk.iter_migration(MIG)))
    assert proof["remaining_by_id"] == {}


def test_a_rerun_from_a_fresh_state_folder_finds_its_articles(make_dest, crosswalk, tmp_path, sf_admin):
    from hdm.crosswalk.sqlite import SqliteCrosswalk

    dest = make_dest()
    dest.prepare({})
    _run(dest, crosswalk)
    fresh = SqliteCrosswalk(tmp_path / "fresh.sqlite")
    out = _by_key(_run(make_dest(), fresh, "run-2"))
    counts = sf_admin.counts()
    assert (counts["Topic"], counts["Knowledge__kav"], counts["TopicAssignment"]) == (3, 3, 3)
    assert out["kb_article:1"].status == "unchanged" and out["kb_article:2"].status in ("updated", "unchanged")


def test_knowledge_disabled_holds_every_article_and_prepare_says_so(make_dest, crosswalk, sf_server, stage):
    from dataset import USERS
    from hdm_infra.sfemu.client import AdminClient

    AdminClient(sf_server).reset(users=USERS, knobs={"knowledge_enabled": False})
    dest = make_dest()
    assert not any(n["what"] == "Salesforce Knowledge" for n in dest.prepare({})["needs_admin"])  # nothing to load
    stage.write_records("extract/kb_article/0001.jsonl.gz", [a.to_dict() for a in kb_data()["kb_article"]])
    report = dest.prepare({})
    assert report["knowledge"]["enabled"] is False
    assert any(n["what"] == "Salesforce Knowledge" for n in report["needs_admin"])
    out = _by_key(_run(dest, crosswalk))
    for i in (1, 2, 3):
        assert out[f"kb_article:{i}"].status == "held"
        assert "Knowledge disabled" in out[f"kb_article:{i}"].message
        assert crosswalk.get(MIG, f"kb_article:{i}", "Knowledge__kav").state == State.HELD
    assert out["kb_article:1#topic"].status == "skipped"  # its article is not there: accounted, not dropped
    assert out["attachment:77"].status == "skipped"  # the held article's file likewise
    assert out["kb_category:1"].status == "created"  # topics still load


def test_tags_as_a_multiselect_made_from_the_staged_tags_and_slas_reported(sf_factory, stage, crosswalk, sf_server):
    from dataset import USERS
    from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
    from hdm.mapping import load_mapping
    from hdm.model import SlaPolicy, Tag, Ticket
    from hdm_infra.sfemu.client import AdminClient

    AdminClient(sf_server).reset(users=USERS, knobs={"entitlements_enabled": True})
    stage.write_records("extract/tag/0001.jsonl.gz", [Tag(prov("tag", i), name=n).to_dict()
                                                      for i, n in ((1, "vip"), (2, "refund"), (3, "x" * 300))])
    stage.write_records("extract/sla_policy/0001.jsonl.gz", [
        SlaPolicy(prov("sla", 1), name="Gold", first_response_hours=2, grace_period_hours=24).to_dict()])
    mapping = load_mapping("osticket", "salesforce", override={"policies": {"ticket_tags": {
        "field": "hdm_Tags__c", "as": "multipicklist"}}})
    dest = SalesforceDestination(sf_factory, mapping, SalesforceOptions(
        stage=stage, default_owner_email="owner@helpdesk.test", retry_base_seconds=0.01, retry_max_seconds=0.05))
    report = dest.prepare({})
    assert "Case.hdm_Tags__c" in report["created"]
    assert any(n.get("field") == "Case.hdm_Tags__c" for n in report["notes"])  # the 300-character tag left out
    ent = report["entitlements"]
    assert ent["enabled"] is True and ent["policies"] == 1 and ent["cases_get_entitlements"] is False
    assert "entitlementProcesses/gold.entitlementProcess" in ent["metadata_files"]
    sf = sf_factory()
    field = {f["name"]: f for f in sf.Case.describe()["fields"]}["hdm_Tags__c"]
    assert field["type"] == "multipicklist" and {v["value"] for v in field["picklistValues"]} == {"vip", "refund"}
    tickets = [Ticket(prov("ticket", 1), subject="a", tags=["tag:1", "tag:2", "tag:3"], status="open"),
               Ticket(prov("ticket", 2), subject="b", tags=[], status="open")]
    chunks = {"cases": [dest.transform("ticket", tickets)["cases"]]}
    results = load_all(dest, chunks, crosswalk, MIG, "run-1", phases=["cases"])
    out = _by_key(results)
    assert out["ticket:1"].status == "created" and out["ticket:2"].status == "created"
    got = sf.query("SELECT hdm_Tags__c, hdm_Legacy_Id__c FROM Case WHERE hdm_Legacy_Id__c = 'ticket:1'")
    assert got["records"][0]["hdm_Tags__c"] == "vip;refund"
    flags = [f for r in results for f in r.flags]
    assert any(f["source_key"] == "ticket:1" and f["code"] == "tag_too_long" for f in flags)
    assert not any(c.get("EntitlementId") for c in sf.query("SELECT Id FROM Case")["records"])


def test_policy_case_topics_gives_each_case_its_category_topic(sf_factory, stage, crosswalk, sf_admin):
    from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
    from hdm.mapping import load_mapping
    from hdm.model import Category, Ticket

    mapping = load_mapping("osticket", "salesforce", override={"policies": {"case_topics": True}})
    dest = SalesforceDestination(sf_factory, mapping, SalesforceOptions(
        stage=stage, default_owner_email="owner@helpdesk.test", retry_base_seconds=0.01, retry_max_seconds=0.05))
    dest.prepare({})
    data = {"category": [Category(prov("topic", 1), name="Hardware"),
                         Category(prov("topic", 2), name="Printers", parent="category:1")],
            "ticket": [Ticket(prov("ticket", 1), subject="jam", category="category:2", status="open"),
                       Ticket(prov("ticket", 2), subject="none", status="open")]}
    out = _by_key(load_all(dest, transform_all(dest, data), crosswalk, MIG, "run-1",
                           phases=["topics", "cases", "topic_assignments"]))
    sf = sf_factory()
    topic = sf.query("SELECT Id, Description FROM Topic WHERE Name = 'Printers'")["records"][0]
    assert topic["Description"] == "Path: Hardware / Printers"
    links = sf.query(f"SELECT EntityId FROM TopicAssignment WHERE TopicId = '{topic['Id']}'")["records"]
    assert [lk["EntityId"] for lk in links] == [out["ticket:1"].dest_id]
    assert "ticket:2#topic" not in out and sf_admin.counts()["TopicAssignment"] == 1
    # without the policy, categories stay inventory only
    plain = SalesforceDestination(sf_factory, load_mapping("osticket", "salesforce"), SalesforceOptions(stage=stage))
    assert set(plain.transform("category", data["category"])) == {"_skipped"}
