"""template.yaml grants what each part needs and no more: no wildcard actions, no "*" resources except
where AWS offers no resource-level permission (each exception is listed here with its reason)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hdm_infra.testing.sam_harness import load_template

# Actions AWS only grants on Resource "*" (no resource-level permissions exist for them).
STAR_RESOURCE_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
}
# Resource policies whose "*" means "this very resource" or "anyone" in a Deny.
KEY_POLICY_STAR = "a KMS key policy's Resource \"*\" means the key itself"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for lid, res in template["Resources"].items():
        props = res.get("Properties", {})
        kind = res["Type"]
        if kind == "AWS::IAM::ManagedPolicy":
            for st in props["PolicyDocument"]["Statement"]:
                yield lid, st
        elif kind == "AWS::IAM::Role":
            for pol in props.get("Policies", []):
                for st in pol["PolicyDocument"]["Statement"]:
                    yield lid, st
        elif kind == "AWS::Serverless::Function":
            for pol in props.get("Policies", []):
                if isinstance(pol, dict) and "Statement" in pol:
                    for st in pol["Statement"]:
                        yield lid, st


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_every_identity_statement_is_an_allow_with_named_actions(template):
    statements = list(_policy_statements(template))
    assert len(statements) >= 15
    for lid, st in statements:
        assert st["Effect"] == "Allow", lid
        for action in _as_list(st["Action"]):
            assert "*" not in action, f"{lid}: wildcard action {action}"


def test_no_identity_statement_grants_every_resource_without_a_documented_reason(template):
    for lid, st in _policy_statements(template):
        for resource in _as_list(st["Resource"]):
            if resource == "*":
                actions = _as_list(st["Action"])
                unexplained = [a for a in actions if a not in STAR_RESOURCE_ALLOWED]
                assert not unexplained, f"{lid}: Resource '*' for {unexplained}"


def test_resource_patterns_are_scoped_to_this_stack(template):
    """A Sub'd ARN may end in a wildcard (objects, executions, secrets under a prefix) but names the stack's own
    resources; a bare service-wide pattern is refused."""
    for lid, st in _policy_statements(template):
        for resource in _as_list(st["Resource"]):
            if resource == "*" or isinstance(resource, dict) and ("Ref" in resource or "Fn::GetAtt" in resource):
                continue
            text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
            if isinstance(text, list):
                text = text[0]
            assert "*" not in text or any(anchor in text for anchor in (
                "${StageBucket.Arn}/migrations/", "hdm-${Customer}-", "secret:${SecretsPrefix}${Customer}/",
            )), f"{lid}: unscoped resource pattern {text}"


def test_secrets_are_read_only_and_only_under_the_customer_prefix(template):
    for lid, st in _policy_statements(template):
        actions = _as_list(st["Action"])
        if any(a.startswith("secretsmanager:") for a in actions):
            assert actions == ["secretsmanager:GetSecretValue"], lid
            assert "secret:${SecretsPrefix}${Customer}/*" in st["Resource"]["Fn::Sub"], lid


def test_the_key_policy_and_bucket_policy_are_the_only_star_resource_policies(template):
    key_policy = template["Resources"]["StageKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert all(st["Resource"] == "*" for st in key_policy), KEY_POLICY_STAR
    assert all("root" in st["Principal"]["AWS"]["Fn::Sub"] for st in key_policy)
    bucket_policy = template["Resources"]["StageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [st["Effect"] for st in bucket_policy] == ["Deny"]  # TLS only
    assert bucket_policy[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_no_function_uses_a_broad_managed_policy(template):
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for pol in res["Properties"].get("Policies", []):
            assert not isinstance(pol, str), f"{lid}: AWS managed policy {pol}"
            if isinstance(pol, dict) and "Ref" in pol:
                assert pol["Ref"] == "PipelineAccessPolicy", lid
