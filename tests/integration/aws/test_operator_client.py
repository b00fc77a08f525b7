"""The operator's side (`hdm … --engine aws`): TriggerApiClient drives a migration over HTTP through an
IAM-authorised (SigV4-checking) endpoint in front of the real API handler, on moto."""

from __future__ import annotations

import boto3
import pytest
from hdm.engines.aws import TriggerApiClient, TriggerApiError
from hdm_infra.testing.aws import migration_config, store_secret
from hdm_infra.testing.sam_harness import serve_api

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def api(sam_stack):
    session = boto3.Session(aws_access_key_id="AKIAOPERATOR", aws_secret_access_key="operator-secret",
                            region_name="us-east-1")
    url, stop = serve_api(sam_stack, session.get_credentials().get_frozen_credentials())
    yield url, session
    stop()


def test_the_operator_starts_approves_and_watches_a_migration(sam_stack, api, osticket_db, sfemu):
    url, session = api
    client = TriggerApiClient(url, session=session)
    db = osticket_db(tickets=8, seed=5)
    config = migration_config("m-operator", db, sfemu.running,
                              lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v), chunk_rows=4)
    started = client.start(config)
    assert started["migration_id"] == "m-operator" and started["created"] is True

    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-operator"
    sam_stack.wait(arn, timeout=300, until=lambda _d: client.status("m-operator")["status"] == "awaiting_approval")
    approved = client.approve("m-operator")
    assert {k: approved[k] for k in ("migration_id", "approved")} == {"migration_id": "m-operator", "approved": True}
    assert len(approved["mapping_hash"]) > 8  # the effective mapping's hash the approval binds the load to
    assert sam_stack.wait(arn, timeout=300)["status"] == "SUCCEEDED"
    status = client.status("m-operator")
    assert status["status"] == "succeeded" and status["execution"]["status"] == "SUCCEEDED"
    assert status["progress"]["report"]

    with pytest.raises(TriggerApiError) as err:
        client.status("m-unknown")
    assert err.value.status == 404


def test_unsigned_or_wrongly_signed_calls_are_refused(api):
    url, _session = api
    import requests

    assert requests.get(f"{url}/migrations/m-x", timeout=10).status_code == 403
    forged = boto3.Session(aws_access_key_id="AKIAOPERATOR", aws_secret_access_key="not-the-secret",
                           region_name="us-east-1")
    with pytest.raises(TriggerApiError) as err:
        TriggerApiClient(url, session=forged).status("m-x")
    assert err.value.status == 403 and "signature" in err.value.body["message"]
