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


# connectors whose provider is being written on another branch (with the connector itself, so they may not be
# registered yet), each with its reason; an entry for a connector that now has a provider fails the test below
PROVIDER_IN_PROGRESS: dict[tuple[str, str], str] = {}  # none now: kayako, kustomer and intercom have theirs


def test_every_registered_connector_has_a_provider():
    provided = {"source": set(providers.sources()), "destination": set(providers.destinations())}
    missing = [(kind, name) for kind in registry.KINDS for name in sorted(registry.connectors(kind))
               if name not in provided[kind] and (kind, name) not in PROVIDER_IN_PROGRESS]
    assert missing == [], f"add infra/hdm_infra/providers/<name>.py for: {missing}"
    stale = [(kind, name) for kind, name in PROVIDER_IN_PROGRESS if name in provided[kind]]
    assert stale == [], f"remove these PROVIDER_IN_PROGRESS entries: {stale}"


def test_the_matrix_is_every_provided_pair_with_a_mapping():
    expected = [(s, d) for s, p in sorted(providers.sources().items()) for d in sorted(providers.destinations())
                if providers.has_mapping(s, d) and not getattr(p, "not_in_rehearsal", None)]
    assert ("osticket", "salesforce") in rehearsal.pairs() == expected
    assert not providers.has_mapping("osticket", "no-such-destination")

