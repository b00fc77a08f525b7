"""The providers the contract suites and the rehearsal matrix run on: found by folder, each naming a registered
connector, and the matrix holding every pair that has a default mapping."""

from __future__ import annotations

from hdm import registry
from hdm_infra import providers, rehearsal


def test_every_provider_names_a_registered_connector():
    sources, destinations = providers.sources(), providers.destinations()
    assert {"osticket"} <= set(sources) and {"salesforce"} <= set(destinations)
    assert set(sources) <= set(registry.connectors("source"))
    assert set(destinations) <= set(registry.connectors("destination"))


def test_the_matrix_is_every_provided_pair_with_a_mapping():
    expected = [(s, d) for s in sorted(providers.sources()) for d in sorted(providers.destinations())
                if providers.has_mapping(s, d)]
    assert ("osticket", "salesforce") in rehearsal.pairs() == expected
    assert not providers.has_mapping("osticket", "no-such-destination")

