"""Each function's own role grants every AWS action that function performs (issue #10 item 10).

A migration (with approval), its rollback and a failing run go through the committed state machines on moto
with the real handlers; every AWS API call is recorded with the function that made it (worker threads inherit
it) and checked against that function's role in template.yaml. A function calling what its role lacks would be
AccessDenied once deployed; the static per-role expectations live in tests/unit/aws/test_iam_least_privilege.py.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import boto3
import botocore.handlers
import pytest
from hdm_infra.testing.aws import migration_config, store_secret
from hdm_infra.testing.sam_harness import HANDLERS, load_template

pytestmark = pytest.mark.timeout(900)

CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("hdm_function", default=None)
# API operation → the IAM actions it needs, where they differ from "<signing name>:<operation>"
ACTIONS = {
    "s3:HeadObject": {"s3:GetObject"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "s3:ListObjects": {"s3:ListBucket"},
    "s3:CopyObject": {"s3:GetObject", "s3:PutObject"},
    "s3:UploadPartCopy": {"s3:GetObject", "s3:PutObject"},
    "s3:CreateMultipartUpload": {"s3:PutObject"},
    "s3:UploadPart": {"s3:PutObject"},
    "s3:CompleteMultipartUpload": {"s3:PutObject"},
    "s3:DeleteObjects": {"s3:DeleteObject"},
}
# SSE-KMS: S3 asks KMS for the caller, who needs these on the stage key
KMS_FOR = {"s3:PutObject": "kms:GenerateDataKey", "s3:GetObject": "kms:Decrypt"}


@pytest.fixture
def small_db(osticket_db):
    return osticket_db(tickets=12, seed=11)


@pytest.fixture
def recording(request):
    calls: list[tuple[str | None, str]] = []

    def hook(model: Any, **_kwargs: Any) -> None:
        calls.append((CURRENT.get(), f"{model.service_model.signing_name}:{model.name}"))

    from aws_lambda_powertools.utilities import parameters

    real_get_secret = parameters.get_secret

    def get_secret(name, *args, **kwargs):  # Powertools caches values per process; each Lambda fetches its own
        calls.append((CURRENT.get(), "secretsmanager:GetSecretValue"))
        return real_get_secret(name, *args, **kwargs)

    real_submit = ThreadPoolExecutor.submit

    def submit(self, fn, /, *args, **kwargs):  # worker threads make calls on behalf of the function
        return real_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    with mock.patch.object(botocore.handlers, "BUILTIN_HANDLERS",
                           [*botocore.handlers.BUILTIN_HANDLERS, ("before-call", hook)]), \
            mock.patch.object(ThreadPoolExecutor, "submit", submit), \
            mock.patch.object(parameters, "get_secret", get_secret), \
            mock.patch.object(boto3, "DEFAULT_SESSION", None):  # sessions made from here on carry the hook
        stack = request.getfixturevalue("sam_stack")
        for lid, name in stack.function_names.items():
            HANDLERS[name] = _attributed(lid, HANDLERS[name])
        api = stack.modules["ApiFunction"]
        api.lambda_handler = _attributed("ApiFunction", api.lambda_handler)
        yield stack, calls


def _attributed(lid: str, handler: Any) -> Any:
    def run(event: dict, context: Any) -> Any:
        token = CURRENT.set(lid)
        try:
            return handler(event, context)
        finally:
            CURRENT.reset(token)
    return run


def _granted(template: dict[str, Any], function_lid: str) -> set[str]:
    role_lid = template["Resources"][function_lid]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = template["Resources"][role_lid]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    out: set[str] = set()
    for st in statements:
        out.update(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    return out


def _exec_arn(stack, migration_id: str) -> str:
    return f"{stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:{migration_id}"


def test_every_call_a_function_makes_is_granted_by_its_own_role(recording, small_db, sfemu):
    stack, calls = recording

    stored: dict[str, str] = {}

    def secret(name, value):  # both runs share the credentials
        if name not in stored:
            stored[name] = store_secret(f"hdm/{stack.customer}/{name}", value)
        return stored[name]

    # 1. a migration through the approval gate, 2. its rollback, 3. a run whose load fails (failure report)
    config = migration_config("m-roles", small_db, sfemu.running, secret, chunk_rows=5, max_workers=2)
    assert stack.api("POST", "/migrations", config)[0] == 202
    stack.wait(_exec_arn(stack, "m-roles"), timeout=300,
               until=lambda _d: stack.api("GET", "/migrations/m-roles")[1]["status"] == "awaiting_approval")
    assert stack.api("POST", "/migrations/m-roles/approve", {"approved": True})[0] == 200
    assert stack.wait(_exec_arn(stack, "m-roles"), timeout=300)["status"] == "SUCCEEDED"
    assert stack.api("POST", "/migrations/m-roles/rollback", {})[0] == 202
    rollback_arn = stack.api("GET", "/migrations/m-roles")[1]["rollback_execution_arn"]
    assert stack.wait(rollback_arn, timeout=300)["status"] == "SUCCEEDED"
    stack.inject_failure("LoadFunction", lambda e: e.get("phase") == "cases", times=1)
    failing = migration_config("m-roles-fail", small_db, sfemu.running, secret, chunk_rows=5, max_workers=2,
                               require_approval=False)
    assert stack.api("POST", "/migrations", failing)[0] == 202
    assert stack.wait(_exec_arn(stack, "m-roles-fail"), timeout=300)["status"] == "FAILED"

    template = load_template()
    by_function: dict[str, set[str]] = {}
    for lid, call in calls:
        if lid is not None:
            by_function.setdefault(lid, set()).add(call)
    functions = {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    unseen = functions - set(by_function)
    assert not unseen, f"no AWS calls recorded from {unseen}"
    assert any("secretsmanager:GetSecretValue" in c for c in by_function.values()), "secret reads not recorded"
    missing = {}
    for lid, seen in sorted(by_function.items()):
        granted = _granted(template, lid)
        needed = set()
        for call in seen:
            actions = ACTIONS.get(call, {call})
            needed |= actions | {KMS_FOR[a] for a in actions if a in KMS_FOR}
        if needed - granted:
            missing[lid] = sorted(needed - granted)
    assert not missing, f"calls the function's role does not grant: {missing}"
