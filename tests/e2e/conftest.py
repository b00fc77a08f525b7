"""e2e fixtures: rows of the rehearsal matrix (source fixture x destination emulator, hdm_infra.rehearsal)."""

from __future__ import annotations

import pytest
from hdm_infra import rehearsal as matrix
from hdm_infra.providers import PytestResources


@pytest.fixture(params=matrix.pairs(), ids="-".join)
def rehearsal_row(request, tmp_path_factory) -> matrix.Rehearsal:
    """One row of the matrix per pair with a mapping, its destination reset to the customer's starting point."""
    row = matrix.rehearsal(*request.param, PytestResources(request, tmp_path_factory))
    row.prepare()
    return row


@pytest.fixture
def rehearsal(request, tmp_path_factory, sfemu, tmp_path):
    """(config factory, generated db, emulator handle): the osTicket x Salesforce row (a 1.18 database of 60
    tickets), for the tests that read Salesforce itself."""
    row = matrix.rehearsal("osticket", "salesforce", PytestResources(request, tmp_path_factory))
    row.prepare()

    def make(migration_id: str = "e2e-local", **overrides):
        return row.config(migration_id, tmp_path / "secrets", **overrides)

    return make, row.source.db, sfemu
