"""The Salesforce emulator over TLS on 127.0.0.1, driven by the real simple-salesforce client."""

from __future__ import annotations

import pytest
from dataset import USERS  # shared with tests that restart the org
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.salesforce import SalesforceDestination, SalesforceOptions
from hdm.stage.local import LocalStage

sfemu_server = pytest.importorskip("hdm_infra.sfemu.server")
sfemu_client = pytest.importorskip("hdm_infra.sfemu.client")


@pytest.fixture(scope="session")
def sf_server(tmp_path_factory):
    running = sfemu_server.serve_in_thread(tmp_path_factory.mktemp("sfemu"))
    yield running
    running.stop()


@pytest.fixture
def sf_admin(sf_server):
    admin = sfemu_client.AdminClient(sf_server)
    admin.reset(users=USERS)
    return admin


@pytest.fixture
def sf_factory(sf_server, sf_admin):
    return lambda: sfemu_client.connect(sf_server)


@pytest.fixture
def stage(tmp_path):
    return LocalStage(tmp_path / "stage")


@pytest.fixture
def crosswalk(tmp_path):
    return SqliteCrosswalk(tmp_path / "crosswalk.sqlite")


@pytest.fixture
def make_dest(sf_factory, stage):
    def make(**opts):
        options = SalesforceOptions(stage=stage, bulk_poll_seconds=0.01, retry_base_seconds=0.01,
                                    retry_max_seconds=0.05, default_owner_email="owner@helpdesk.test",
                                    reference_names={"category:1": "Billing", "sla_policy:1": "Default SLA",
                                                     "team:1": "Support", "agent:1": "Ann Agent <ann@helpdesk.test>",
                                                     "agent:2": "Ghost Agent <ghost@nowhere.test>"},
                                    **opts)
        return SalesforceDestination(sf_factory, options=options)
    return make
