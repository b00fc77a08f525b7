"""The Salesforce destination declares its load phases once (phases.PHASES); order, routing, dispatch,
verification and rollback order derive from that declaration."""

from __future__ import annotations

from hdm.destinations.salesforce import SalesforceDestination
from hdm.destinations.salesforce import destination as D
from hdm.destinations.salesforce import phases as P

TODAY = ["users", "queues", "accounts", "contacts", "cases", "case_parents", "comments", "topics", "knowledge", "files",
         "case_contacts", "case_events", "topic_assignments"]


def test_the_declaration_yields_exactly_the_load_order_of_before():
    dest = SalesforceDestination(lambda: None)
    assert [p.name for p in dest.phases()] == TODAY
    assert [p.name for p in dest.phase_graph().rollback_order()] == list(reversed(TODAY))
    assert {p.name: p.max_concurrency for p in dest.phases()} == {
        **{n: 2 for n in TODAY}, "users": 1, "queues": 1, "topics": 1}


def test_every_phase_has_one_loader_and_every_output_one_phase():
    assert set(D._LOADERS) == set(P.GRAPH.by_name)
    assert {o: P.GRAPH.phase_of_output(o) for o in P.TRANSFORM_OUTPUTS} == {n: n for n in TODAY}
    assert P.PRIMARY_OBJECT == {"users": "User", "queues": "Group", "accounts": "Account", "contacts": "Contact",
                                "cases": "Case", "case_parents": "Case", "comments": "CaseComment",
                                "files": "ContentVersion", "case_contacts": "CaseContactRole",
                                "case_events": "hdm_Case_Event__c", "topics": "Topic", "knowledge": "Knowledge__kav",
                                "topic_assignments": "TopicAssignment"}


def test_topic_assignments_wait_for_topics_and_articles():
    assert P.GRAPH.dependants("topics") == ["topic_assignments"]
    assert P.GRAPH.dependants("knowledge") == ["files", "topic_assignments"]  # an article's files


def test_dependants_of_a_phase_come_from_after():
    assert P.GRAPH.dependants("accounts") == ["contacts", "cases", "case_parents", "comments", "files",
                                              "case_contacts", "case_events", "topic_assignments"]
    assert P.GRAPH.dependants("case_parents") == []
    assert P.GRAPH.dependants("contacts") == ["cases", "case_parents", "comments", "files", "case_contacts",
                                              "case_events", "topic_assignments"]


def test_the_transform_fingerprint_follows_the_transform_codes_version(monkeypatch):
    """A migration resumed across an upgrade that changes the transform's output transforms its chunks again."""
    from hdm.destinations.salesforce import destination as d

    dest = d.SalesforceDestination(lambda: None)
    before = dest.fingerprint()
    assert dest.fingerprint() == before  # stable for the same code, mapping and options
    monkeypatch.setattr(d, "TRANSFORM_VERSION", d.TRANSFORM_VERSION + 1)
    assert dest.fingerprint() != before


def test_from_config_without_a_source_type_is_refused_not_given_the_osticket_mapping():
    import pytest
    from hdm.destinations.salesforce.config import SalesforceDestinationConfig
    from hdm.destinations.salesforce.destination import SalesforceDestination

    cfg = SalesforceDestinationConfig.model_validate({"type": "salesforce", "username": "u@example.com"})
    with pytest.raises(ValueError, match="source type"):
        SalesforceDestination.from_config(cfg, lambda: None, stage=None)
    assert SalesforceDestination.from_config(cfg, lambda: None, stage=None, source_type="kayako").mapping.source \
        == "kayako"
