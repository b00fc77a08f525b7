"""The Kustomer source past the search cap: with pageSize 2, more than 100 search pages of customers share ONE
updatedAt (the generator's burst); the source's keyset walk stages every customer exactly once, and each createdAt
window of the plan holds its own records only."""

from __future__ import annotations

from collections import Counter

import pytest
from hdm.http import RetryPolicy
from hdm.sources.kustomer.client import KustomerApi
from hdm.sources.kustomer.source import KustomerSource
from hdm_infra.testing.kustomeremu import read_all, seed_org

NO_LIMITS = {"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000}


@pytest.fixture(scope="module")
def burst_org(kustomeremu_server):
    handle, seeded = seed_org(kustomeremu_server, 300, seed=11, burst=250)
    handle.admin.replace_knobs(NO_LIMITS)
    handle.seeded = seeded
    return handle


def _source(org, page: int) -> KustomerSource:
    api = KustomerApi(org.api_base, org.running.api_key, ca_bundle=org.running.cert_path, search_page_size=page,
                      rate_limit_per_minute=1_000_000, search_rate_limit_per_minute=1_000_000,
                      retry=RetryPolicy(attempts=3, base=0.01, cap=0.02, total=10.0))
    return KustomerSource(api)


def test_more_than_100_pages_on_one_updated_at_are_read_exactly_once(burst_org):
    org = burst_org
    assert org.seeded["seeded"]["burst"]["customer"] > 200  # > 100 pages of 2 on one timestamp
    source = _source(org, page=2)
    chunks = [c for c in source.plan(10_000) if c.object_type == "contact"]
    assert len(chunks) == 1
    staged = list(source.extract(chunks[0]))
    ids = Counter(r.provenance.id for r in staged)
    expected = sorted(r["id"] for r in read_all(org.session(), org.api_base, "/customers"))
    assert sorted(ids) == expected and max(ids.values()) == 1
    searches = source.last_stats.calls["POST /customers/search [customer]"]
    assert searches >= 150  # one search per page of 2, past page 100 (the emulator refuses page 101)
    stamps = Counter(r.updated_at for r in staged)
    assert max(stamps.values()) == org.seeded["seeded"]["burst"]["customer"]


def test_createdat_windows_partition_the_records(burst_org):
    source = _source(burst_org, page=500)
    chunks = [c for c in source.plan(70) if c.object_type == "contact"]
    assert len(chunks) >= 4
    seen: Counter = Counter()
    for chunk in chunks:
        got = [r.provenance.id for r in source.extract(chunk)]
        assert got and len(got) <= 2 * 70
        seen.update(got)
    assert sum(seen.values()) == len(seen) == 300
