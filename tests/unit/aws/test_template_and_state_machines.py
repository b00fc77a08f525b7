"""Structure promises of template.yaml and the committed ASL (read as data; moto's own parser included)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hdm.crosswalk.dynamodb import INDEX_NAME, table_definition
from hdm_infra.testing.sam_harness import REPO, load_template, table_create_args

ASL = {name: json.loads((REPO / "statemachine" / f"{name}.asl.json").read_text()) for name in ("migration", "rollback")}
LAMBDA_RETRY_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                       "Lambda.TooManyRequestsException"}


def _states(definition: dict[str, Any]):
    for name, state in definition["States"].items():
        yield name, state
        if state["Type"] == "Map":
            yield from _states(state["ItemProcessor"])


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_every_placeholder_has_a_substitution_and_every_function_exists(template):
    for lid in ("MigrationStateMachine", "RollbackStateMachine"):
        props = template["Resources"][lid]["Properties"]
        text = (REPO / props["DefinitionUri"]).read_text()
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
        assert placeholders == set(props["DefinitionSubstitutions"]), lid
        for value in props["DefinitionSubstitutions"].values():
            target = value["Fn::GetAtt"][0]
            assert template["Resources"][target]["Type"] == "AWS::Serverless::Function"


def test_every_function_code_uri_has_a_handler(template):
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            app = REPO / res["Properties"]["CodeUri"] / "app.py"
            assert app.is_file() and "def lambda_handler" in app.read_text(), lid


def test_every_lambda_task_retries_lambda_errors_and_is_caught(template):
    for kind, definition in ASL.items():
        for name, state in _states(definition):
            if state["Type"] != "Task":
                continue
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            assert LAMBDA_RETRY_ERRORS <= retried, f"{kind}.{name}"
            assert all(r.get("BackoffRate", 1) > 1 for r in state["Retry"]), f"{kind}.{name}"
    top_tasks = [n for n, s in ASL["migration"]["States"].items() if s["Type"] in ("Task", "Map")]
    for name in top_tasks:
        catch = ASL["migration"]["States"][name].get("Catch")
        assert catch and catch[0]["ErrorEquals"] == ["States.ALL"], name
        assert catch[0]["Next"] in ("RecordFailure", "Failed"), name


def test_distributed_maps_avoid_what_moto_cannot_execute_and_bound_concurrency():
    maps = [(n, s) for n, s in _states(ASL["migration"]) if s["Type"] == "Map"]
    assert {n for n, _ in maps} == {"Extract", "Transform", "LoadPhase"}
    for name, state in maps:
        assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        assert state["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
        assert "ItemBatcher" not in state and "ResultWriter" not in state
        assert "MaxConcurrencyPath" in state or "MaxConcurrency" in state, name
        assert isinstance(state["ToleratedFailurePercentage"], float) and state["ToleratedFailurePercentage"] == 0.0


def test_the_approval_gate_comes_before_any_destination_write():
    states = ASL["migration"]["States"]
    gate = states["AwaitApproval"]
    assert gate["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert gate["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert 86400 <= gate["TimeoutSeconds"] <= 30 * 86400
    # walk from the start: no path reaches PrepareDestination or LoadPhase without passing the gate's Choice
    order, name = [], ASL["migration"]["StartAt"]
    while name not in ("NeedsApproval",):
        order.append(name)
        name = states[name]["Next"]
    assert "PrepareDestination" not in order and "LoadPhase" not in order
    assert states["Approved"]["Choices"][0]["Next"] == "PrepareDestination"


def test_the_crosswalk_table_in_the_template_matches_the_adapter(template):
    from_template = table_create_args(template, "CrosswalkTable", "t")
    ours = table_definition("t")
    assert from_template["KeySchema"] == ours["KeySchema"]
    assert sorted(a["AttributeName"] for a in from_template["AttributeDefinitions"]) == sorted(
        a["AttributeName"] for a in ours["AttributeDefinitions"])
    assert [g["IndexName"] for g in from_template["GlobalSecondaryIndexes"]] == [INDEX_NAME]


def test_storage_is_encrypted_private_and_recoverable(template):
    res = template["Resources"]
    bucket = res["StageBucket"]["Properties"]
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["StageKey", "Arn"]}}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "StagedDataRetentionDays"}
    for table in ("CrosswalkTable", "RunsTable"):
        props = res[table]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert res["RunsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    assert res["StageKey"]["Properties"]["EnableKeyRotation"] is True


def test_the_api_requires_iam_auth_and_secrets_are_never_parameters_with_values(template):
    api = template["Resources"]["TriggerApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    for name, param in template["Parameters"].items():
        assert "password" not in name.lower() and "token" not in name.lower(), name
        assert not param.get("NoEcho"), name  # nothing secret is passed to the stack at all


def test_moto_parses_both_definitions():
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    for kind, definition in ASL.items():
        text = json.dumps(definition)
        text = re.sub(r"\$\{([A-Za-z0-9]+)\}", "arn:aws:lambda:us-east-1:123456789012:function:x", text)
        program, _ = AmazonStateLanguageParser.parse(text)
        assert program is not None, kind


def test_samconfig_keeps_one_environment_per_customer():
    import tomllib

    config = tomllib.loads(Path(REPO / "samconfig.toml").read_text())
    assert "acme" in config
    deploy = config["acme"]["deploy"]["parameters"]
    assert deploy["stack_name"] == "hdm-acme"
    assert "Customer=acme" in deploy["parameter_overrides"]
