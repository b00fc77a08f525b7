"""The contract suites run once per provider (``hdm_infra/providers/<name>.py``): a connector that adds its
provider gets every test here. Fixtures are module-scoped so each suite builds its fixtures once per provider."""

from __future__ import annotations

import pytest
from hdm_infra import providers
from hdm_infra.providers import PytestResources

SOURCE_PROVIDERS = providers.sources()
PAIRS = providers.pairs()


@pytest.fixture(scope="module")
def resources(request, tmp_path_factory) -> PytestResources:
    return PytestResources(request, tmp_path_factory)


@pytest.fixture(scope="module", params=sorted(SOURCE_PROVIDERS), ids=str)
def source_provider(request) -> providers.SourceProvider:
    return SOURCE_PROVIDERS[request.param]


@pytest.fixture(scope="module", params=PAIRS, ids=lambda pair: "-".join(pair))
def pair(request) -> tuple[str, str]:
    return request.param
