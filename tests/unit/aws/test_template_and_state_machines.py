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


# -- logs, keys, runtime (issue #10 items 10, 11) ----------------------------------------------------------

def _log_group(template: dict[str, Any], ref: Any) -> dict[str, Any]:
    lid = ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0]
    res = template["Resources"][lid]
    assert res["Type"] == "AWS::Logs::LogGroup", lid
    return res["Properties"]


def test_every_log_group_has_the_stacks_retention_and_the_optional_key(template):
    groups = {lid: r["Properties"] for lid, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) >= 16  # 13 functions, 2 workflows, the API's access log
    for lid, props in groups.items():
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, lid
        assert props["KmsKeyId"] == {"Fn::If": ["HasLogsKmsKey", {"Ref": "LogsKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    names = [p["LogGroupName"]["Fn::Sub"] for p in groups.values()]
    assert len(set(names)) == len(names) and all("${Customer}" in n for n in names)
    retention = template["Parameters"]["LogRetentionDays"]
    assert retention["Default"] in retention["AllowedValues"] and 3653 in retention["AllowedValues"]
    assert template["Parameters"]["LogsKmsKeyArn"]["Default"] == ""


def test_every_function_logs_to_its_own_log_group(template):
    seen = set()
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        group = res["Properties"]["LoggingConfig"]["LogGroup"]
        _log_group(template, group)
        assert group["Ref"] not in seen, lid
        seen.add(group["Ref"])


def test_the_api_writes_access_logs_and_no_execution_logs_or_bodies(template):
    api = template["Resources"]["TriggerApi"]
    props = api["Properties"]
    _log_group(template, props["AccessLogSetting"]["DestinationArn"])
    fmt = props["AccessLogSetting"]["Format"]
    assert "$context.requestId" in fmt and "$context.identity.userArn" in fmt and "$context.status" in fmt
    assert "requestBody" not in fmt and "$input" not in fmt
    for setting in props["MethodSettings"]:
        assert setting["LoggingLevel"] == "OFF" and setting["DataTraceEnabled"] is False
    assert api["DependsOn"] == "ApiGatewayAccount"  # access logs need the account's CloudWatch role first
    account = template["Resources"]["ApiGatewayAccount"]["Properties"]
    assert account["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


def test_the_workflows_log_without_execution_data(template):
    level = template["Parameters"]["WorkflowLogLevel"]
    assert level["Default"] in ("ALL", "ERROR") and set(level["AllowedValues"]) <= {"ALL", "ERROR", "FATAL"}
    for lid in ("MigrationStateMachine", "RollbackStateMachine"):
        logging = template["Resources"][lid]["Properties"]["Logging"]
        assert logging["IncludeExecutionData"] is False, lid  # ticket data and secrets never reach the logs
        assert logging["Level"] == {"Ref": "WorkflowLogLevel"}
        (dest,) = logging["Destinations"]
        props = _log_group(template, dest["CloudWatchLogsLogGroup"]["LogGroupArn"])
        assert props["LogGroupName"]["Fn::Sub"].startswith("/aws/vendedlogs/states/"), lid


def test_the_alarm_topic_uses_a_customer_key_that_cloudwatch_may_use(template):
    res = template["Resources"]
    key_ref = res["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert key_ref == {"Fn::GetAtt": ["AlarmKey", "Arn"]}  # not alias/aws/sns: CloudWatch cannot use that key
    key = res["AlarmKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    cloudwatch = [st for st in statements if st["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert len(cloudwatch) == 1 and cloudwatch[0]["Effect"] == "Allow"
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    others = [st for st in statements if st not in cloudwatch]
    assert all("root" in st["Principal"]["AWS"]["Fn::Sub"] for st in others)
    for alarm in ("MigrationFailedAlarm", "RollbackFailedAlarm", "ChunkErrorsAlarm", "ApiErrorsAlarm"):
        assert res[alarm]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_runtime_layer_and_build_agree_on_python_313(template):
    fn = template["Globals"]["Function"]
    assert fn["Runtime"] == "python3.13"
    layer = template["Resources"]["HdmLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    powertools = [x["Fn::Sub"] for x in fn["Layers"] if isinstance(x, dict) and "Fn::Sub" in x]
    assert powertools and all("-python313-" in arn for arn in powertools), powertools  # its compiled deps match
