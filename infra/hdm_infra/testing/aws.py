"""pytest fixtures for the AWS side on moto: a mocked account, the stack from template.yaml, adapters.

Registered in tests/conftest.py as ``hdm_infra.testing.aws``. The Step Functions harness itself
(in-process Lambda dispatch, template-driven stack) lives in :mod:`hdm_infra.testing.sam_harness`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@pytest.fixture
def moto_aws(monkeypatch) -> Iterator[None]:
    """A fresh moto account (S3, DynamoDB, Lambda, Step Functions executing real ASL …) for one test."""
    from moto import mock_aws

    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    import boto3

    # a default session made before moto was imported lacks moto's request hook: start a fresh one
    boto3.DEFAULT_SESSION = None
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def s3_stage(moto_aws):
    """An S3Stage on a moto bucket (with a KMS key, as the stack configures it)."""
    import boto3
    from hdm.stage.s3 import S3Stage

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="hdm-stage-test")
    key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    return S3Stage("hdm-stage-test", prefix="migrations/m-test", client=s3, kms_key_id=key_id)


@pytest.fixture
def dynamodb_crosswalk(moto_aws):
    """A DynamoDBCrosswalk on a moto table created from template.yaml's CrosswalkTable."""
    import boto3
    from hdm.crosswalk.dynamodb import DynamoDBCrosswalk

    from hdm_infra.testing.sam_harness import load_template, table_create_args

    args = table_create_args(load_template(), "CrosswalkTable", "hdm-crosswalk-test")
    boto3.client("dynamodb", region_name=REGION).create_table(**args)
    return DynamoDBCrosswalk("hdm-crosswalk-test", resource=boto3.resource("dynamodb", region_name=REGION))


def repo_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(os.path.join(here, "..", "..", ".."))


def rehearsal_parameters(local_root: str) -> dict[str, str]:
    """Stack parameters that let the trigger API accept the local rehearsal: the Salesforce emulator and
    MariaDB on 127.0.0.1, and files (emulator certificate, attachments) under ``local_root``."""
    return {
        "AllowedLoginDomains": "login.salesforce.com,test.salesforce.com,*.my.salesforce.com,127.0.0.1:*",
        "AllowedSourceHosts": "127.0.0.1,localhost",
        "AllowedLocalPaths": local_root,
    }


@pytest.fixture
def sam_stack(moto_aws, tmp_path_factory):
    """template.yaml's stack on moto with the real handlers dispatched in-process (customer ``test``),
    allowing the local rehearsal's hosts and pytest's temporary folders (see :func:`rehearsal_parameters`)."""
    from hdm.engines import aws as aws_engine

    from hdm_infra.testing.sam_harness import SamStack, tuned_interpreter

    aws_engine.reset_caches()
    with tuned_interpreter():
        stack = SamStack(customer="test", parameters=rehearsal_parameters(str(tmp_path_factory.getbasetemp())))
        try:
            yield stack
        finally:
            stack.close()
            aws_engine.reset_caches()


def store_secret(name: str, value: str) -> str:
    """A Secrets Manager secret on moto; returns its ARN (configs carry ARNs, never values)."""
    import boto3

    return boto3.client("secretsmanager", region_name=REGION).create_secret(Name=name, SecretString=value)["ARN"]


def migration_config(migration_id: str, db, sfemu_running, secret_ref, **options):
    """A MigrationConfig dict for a generated osTicket database and a running Salesforce emulator.

    ``secret_ref(name, value)`` turns a credential into a reference: :func:`store_secret` (an ARN, for the
    AWS engine) or anything that yields ``env:``/``file:`` references (for the local engine).
    """
    from hdm_infra.rehearsal import config_document

    return config_document(migration_id, db, sfemu_running, secret_ref, **options)
