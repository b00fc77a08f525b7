"""template.yaml grants what each part needs and no more: no wildcard actions, no "*" resources except
where AWS offers no resource-level permission (each exception is listed here with its reason)."""

from __future__ import annotations

import re
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
    # Step Functions' vended log delivery (the documented policy for state machine logging): no resource-level
    # permissions exist for these; only the two workflow roles hold them.
    **{f"logs:{a}": "CloudWatch Logs delivery actions have no resource-level permissions" for a in (
        "CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery", "ListLogDeliveries",
        "PutResourcePolicy", "DescribeResourcePolicies", "DescribeLogGroups")},
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


def test_the_key_policies_and_bucket_policy_are_the_only_star_resource_policies(template):
    key_policy = template["Resources"]["StageKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert all(st["Resource"] == "*" for st in key_policy), KEY_POLICY_STAR
    assert all("root" in st["Principal"]["AWS"]["Fn::Sub"] for st in key_policy)
    bucket_policy = template["Resources"]["StageBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [st["Effect"] for st in bucket_policy] == ["Deny"]  # TLS only
    assert bucket_policy[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_log_delivery_exception_is_held_by_the_workflow_roles_only(template):
    delivery = {a for a in STAR_RESOURCE_ALLOWED if a.startswith("logs:")}
    holders = {lid for lid, st in _policy_statements(template) if delivery & set(_as_list(st["Action"]))}
    assert holders == {"MigrationStateMachineRole", "RollbackStateMachineRole"}


def test_no_function_uses_a_managed_policy_or_sam_policies(template):
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in res["Properties"], f"{lid}: SAM policies (its own explicit role is the one)"
    assert not [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"], (
        "a managed policy shared between functions")


# -- one least-privilege role per function ----------------------------------------------------------------

STAGE = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "kms:Decrypt", "kms:GenerateDataKey"}
RUNS = {"dynamodb:GetItem", "dynamodb:UpdateItem"}
CROSSWALK_READ = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
CROSSWALK_WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
SECRET = {"secretsmanager:GetSecretValue"}
BASE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "xray:GetSamplingRules", "xray:GetSamplingTargets"}
# What each function may do beyond writing its own logs and traces, and on which resources (logical ids).
EXPECTED = {
    "DiscoverFunction": (STAGE | RUNS | SECRET, {"StageBucket", "StageKey", "RunsTable", "secrets"}),
    "ExtractFunction": (STAGE | RUNS | SECRET, {"StageBucket", "StageKey", "RunsTable", "secrets"}),
    "TransformFunction": (STAGE | RUNS | SECRET, {"StageBucket", "StageKey", "RunsTable", "secrets"}),
    "PlanLoadFunction": (STAGE | RUNS | SECRET, {"StageBucket", "StageKey", "RunsTable", "secrets"}),
    "ApprovalWaitFunction": ({"dynamodb:UpdateItem", "kms:Decrypt", "kms:GenerateDataKey"}, {"StageKey", "RunsTable"}),
    "PrepareFunction": (STAGE | RUNS | SECRET, {"StageBucket", "StageKey", "RunsTable", "secrets"}),
    "LoadFunction": (STAGE | RUNS | SECRET | CROSSWALK_READ | CROSSWALK_WRITE,
                     {"StageBucket", "StageKey", "RunsTable", "CrosswalkTable", "secrets"}),
    "ReconcileFunction": (STAGE | RUNS | CROSSWALK_READ, {"StageBucket", "StageKey", "RunsTable", "CrosswalkTable"}),
    "ReportFunction": (STAGE | RUNS, {"StageBucket", "StageKey", "RunsTable"}),
    "FailureReportFunction": (STAGE | RUNS, {"StageBucket", "StageKey", "RunsTable"}),
    "RollbackFunction": (STAGE | RUNS | SECRET | CROSSWALK_READ | CROSSWALK_WRITE,
                         {"StageBucket", "StageKey", "RunsTable", "CrosswalkTable", "secrets"}),
    "RollbackPlanFunction": (STAGE | RUNS | SECRET | CROSSWALK_READ,  # the rollback proof lists the crosswalk
                             {"StageBucket", "StageKey", "RunsTable", "CrosswalkTable", "secrets"}),
    "ApiFunction": ({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Decrypt",
                     "kms:GenerateDataKey", "states:StartExecution", "states:SendTaskSuccess",
                     "states:SendTaskFailure", "states:DescribeExecution", "states:ListMapRuns",
                     "states:DescribeMapRun"},
                    {"RunsTable", "StageKey", "MigrationStateMachine", "RollbackStateMachine", "executions"}),
}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def _role_of(template: dict[str, Any], function_lid: str) -> tuple[str, dict[str, Any]]:
    role = template["Resources"][function_lid]["Properties"].get("Role")
    assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{function_lid}: no explicit Role"
    role_lid, attr = role["Fn::GetAtt"]
    assert attr == "Arn"
    return role_lid, template["Resources"][role_lid]


def _targets(resource: Any) -> set[str]:
    """The logical ids (or kinds: secrets, executions) a statement's resource names."""
    if resource == "*":
        return {"*"}
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return {resource["Fn::GetAtt"][0]}
    if isinstance(resource, dict) and "Ref" in resource:
        return {resource["Ref"]}
    text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
    text = text[0] if isinstance(text, list) else text
    if ":secret:" in text:
        return {"secrets"}
    if ":execution:" in text or ":mapRun:" in text:
        return {"executions"}
    named = {m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z]+(?:\.Arn)?)\}", text)}
    return named - {"AWS::Partition", "AWS::Region", "AWS::AccountId", "Customer", "SecretsPrefix"}


def test_every_function_has_its_own_role(template):
    functions = _functions(template)
    assert set(functions) == set(EXPECTED), "a function was added or renamed: give it its own role here"
    roles = [_role_of(template, lid)[0] for lid in functions]
    assert len(set(roles)) == len(roles), "two functions share a role"
    for lid in functions:
        role_lid, role = _role_of(template, lid)
        assert role["Type"] == "AWS::IAM::Role", lid
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}], lid
        assert "ManagedPolicyArns" not in role["Properties"], f"{role_lid}: managed policies"
        assert len(role["Properties"]["Policies"]) == 1, role_lid


def test_each_function_role_grants_exactly_what_that_function_needs(template):
    for lid, (actions, targets) in EXPECTED.items():
        role_lid, role = _role_of(template, lid)
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        granted = {a for st in statements for a in _as_list(st["Action"])}
        assert granted == actions | BASE, f"{role_lid}: extra {granted - actions - BASE}, missing {actions - granted}"
        named = {t for st in statements for r in _as_list(st["Resource"]) for t in _targets(r)}
        log_group = template["Resources"][lid]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert named == targets | {"*", log_group}, f"{role_lid}: resources {named}"


def test_a_function_writes_logs_only_to_its_own_log_group(template):
    for lid in _functions(template):
        _, role = _role_of(template, lid)
        own = template["Resources"][lid]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for st in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            if any(a.startswith("logs:") for a in _as_list(st["Action"])):
                assert st["Resource"] == {"Fn::GetAtt": [own, "Arn"]}, lid
                assert set(_as_list(st["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}, lid


def test_only_functions_that_reach_the_source_or_destination_read_secrets(template):
    for lid in ("ApiFunction", "ApprovalWaitFunction", "ReconcileFunction", "ReportFunction",
                "FailureReportFunction"):
        _, role = _role_of(template, lid)
        actions = {a for st in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                   for a in _as_list(st["Action"])}
        assert not {a for a in actions if a.startswith("secretsmanager:")}, lid
