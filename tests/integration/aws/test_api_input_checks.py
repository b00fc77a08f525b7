"""The trigger API refuses what the stack did not allow, before anything is stored or any secret is read:
a host, domain, local path or secret per field (422), oversized bodies (413), malformed JSON (400, never
500). Only moto is needed: the configs point at hosts that are never contacted."""

from __future__ import annotations

import base64
import json

import pytest
from hdm_infra.testing.aws import store_secret
from hdm_infra.testing.sam_harness import ACCOUNT, LambdaContext, api_gateway_event

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def secrets_read(monkeypatch):
    """Every attempt to read a secret or to build a Secrets Manager client, recorded."""
    import boto3.session
    import hdm.pipeline.secrets as secrets_module
    from aws_lambda_powertools.utilities import parameters

    seen: list[str] = []
    real_client = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        if service_name == "secretsmanager":
            seen.append("client")
        return real_client(self, service_name, *args, **kwargs)

    def resolve(ref, field=None):
        seen.append(f"resolve {ref}")
        raise AssertionError("a secret was read")

    def get_secret(*args, **kwargs):
        seen.append("get_secret")
        raise AssertionError("a secret was read")

    monkeypatch.setattr(boto3.session.Session, "client", client)
    monkeypatch.setattr(secrets_module, "resolve_secret", resolve)
    monkeypatch.setattr(parameters, "get_secret", get_secret)
    return seen


def _good(stack, tmp_path_factory, migration_id="m-api-ok"):
    base = str(tmp_path_factory.getbasetemp())
    ref = store_secret(f"hdm/{stack.customer}/salesforce-password", "s3cr3t-value")
    return ref, {
        "migration_id": migration_id,
        "source": {"type": "osticket", "host": "127.0.0.1", "port": 3306, "database": "osticket", "user": "reader",
                   "password": ref, "attachments_dir": f"{base}/files"},
        "destination": {"type": "salesforce", "login_domain": "acme.my", "username": "u@example.com",
                        "password": ref, "security_token": ref, "ca_bundle": f"{base}/ca.pem"},
    }


def _with(config: dict, path: str, value) -> dict:
    out = json.loads(json.dumps(config))
    section, name = path.split(".")
    out[section][name] = value
    return out


OTHER_ACCOUNT = "arn:aws:secretsmanager:us-east-1:999999999999:secret:hdm/test/salesforce-password-AbCdEf"
OTHER_REGION = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:hdm/test/salesforce-password-AbCdEf"
OTHER_PREFIX = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hdm/other/salesforce-password-AbCdEf"
OTHER_PARTITION = f"arn:aws-cn:secretsmanager:us-east-1:{ACCOUNT}:secret:hdm/test/salesforce-password-AbCdEf"

HOSTILE = [
    # where a stack secret would be sent
    ("destination.login_domain", "attacker.example.com/x", "login host attacker.example.com"),
    ("destination.login_domain", "evil", "login host evil.salesforce.com"),
    ("destination.login_domain", "attacker.example.com#", "not a login domain"),
    ("destination.login_domain", "user@attacker.example.com", "not a login domain"),
    ("destination.login_domain", "10.0.0.5:8443/login", "login host 10.0.0.5:8443"),
    ("destination.instance_url", "https://attacker.example.com", "host attacker.example.com"),
    ("destination.instance_url", "http://acme.my.salesforce.com", "https URL"),
    ("source.host", "db.attacker.example.com", "source host db.attacker.example.com"),
    ("source.host", "127.0.0.1/x", "not a host name"),
    # local files and folders
    ("destination.ca_bundle", "/etc/ssl/certs/evil.pem", "local path /etc/ssl/certs/evil.pem"),
    ("source.attachments_dir", "/proc/self", "local path /proc/self"),
    ("source.attachments_dir", "relative/dir", "absolute, normalised"),
    ("destination.mapping_overrides", "/var/task/evil.yaml", "local path /var/task/evil.yaml"),
    # secrets the stack must not read
    ("source.password", "env:AWS_SECRET_ACCESS_KEY", "Secrets Manager ARN"),
    ("source.password", "file:/proc/self/environ", "Secrets Manager ARN"),
    ("destination.password", OTHER_ACCOUNT, "this stack's account and region"),
    ("destination.security_token", OTHER_REGION, "this stack's account and region"),
    ("destination.consumer_secret", OTHER_PREFIX, "under hdm/test/"),
    ("source.password", OTHER_PARTITION, "this stack's account and region"),
    # protections the caller may not switch off
    ("source.insecure_plaintext_connection", True, "cannot be chosen through the trigger API"),
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE, ids=[f"{f}={v}" for f, v, _ in HOSTILE])
def test_a_hostile_field_is_refused_before_any_secret_is_read(sam_stack, secrets_read, tmp_path_factory,
                                                              field, value, message):
    _ref, good = _good(sam_stack, tmp_path_factory)
    if field == "source.host":  # a host off this machine needs TLS (the system's CAs) to pass the config schema
        good = _with(good, "source.ssl", {})
    secrets_read.clear()
    status, body = sam_stack.api("POST", "/migrations", _with(good, field, value))
    assert status == 422, body
    assert message in body["message"] and field in body["message"]
    assert [".".join(e["loc"]) for e in body["errors"]] == [field]
    assert secrets_read == []  # no Secrets Manager client built, no secret resolved
    assert "Item" not in sam_stack.ddb.get_item(TableName=sam_stack.refs["RunsTable"],
                                                Key={"migration_id": {"S": "m-api-ok"}})
    assert sam_stack.sfn.list_executions(stateMachineArn=sam_stack.arns["MigrationStateMachine"])["executions"] == []


@pytest.mark.parametrize(("section", "value", "loc"), [
    ("attachment_roots", ["/proc/self"], "source.attachment_roots[0]"),
    ("ssl", {"ca_bundle": "/etc/ssl/certs/evil.pem"}, "source.ssl.ca_bundle"),
    ("ssl", {"ca_bundle": "/var/task/ca.pem", "client_cert": "/root/.ssh/id_rsa"}, "source.ssl.ca_bundle"),
    # a protection the caller may not switch off: the server certificate must name the host
    ("ssl", {"verify_identity": False}, "source.ssl.verify_identity"),
])
def test_nested_source_paths_are_refused_too(sam_stack, secrets_read, tmp_path_factory, section, value, loc):
    _ref, good = _good(sam_stack, tmp_path_factory, "m-api-nested")
    secrets_read.clear()
    status, body = sam_stack.api("POST", "/migrations", _with(good, f"source.{section}", value))
    assert status == 422, body
    assert loc in [".".join(e["loc"]) for e in body["errors"]]
    assert secrets_read == []
    assert sam_stack.sfn.list_executions(stateMachineArn=sam_stack.arns["MigrationStateMachine"])["executions"] == []


def test_an_allowed_config_is_accepted(sam_stack, secrets_read, tmp_path_factory):
    _ref, good = _good(sam_stack, tmp_path_factory, "m-api-allowed")
    secrets_read.clear()
    sam_stack.inject_failure("DiscoverFunction", lambda e: True)  # nothing downstream: only the API is tested
    status, body = sam_stack.api("POST", "/migrations", good)
    assert status == 202, body
    assert body["execution_name"] == "m-api-allowed"
    assert secrets_read == []  # the API itself never reads a secret


def test_the_check_finds_secret_fields_by_their_type_not_by_a_list():
    from typing import Optional

    from hdm.pipeline.config import SECRET, MigrationConfig, SecretRef, _Strict, fields_of_kind
    from hdm.pipeline.stack_policy import StackPolicy

    class Extra(_Strict):
        api_key: Optional[SecretRef] = None
        keys: list[SecretRef] = []

    class WithNewFields(MigrationConfig):
        extra: Extra = Extra()

    cfg = WithNewFields.model_validate({
        "migration_id": "m-new", "source": {"type": "osticket", "database": "d", "user": "u", "password": "env:A"},
        "destination": {"type": "salesforce", "consumer_secret": "env:B"},
        "extra": {"api_key": "env:C", "keys": ["env:D", "env:E"]},
    })
    found = dict(fields_of_kind(cfg, SECRET))
    assert found == {"source.password": "env:A", "destination.consumer_secret": "env:B", "extra.api_key": "env:C",
                     "extra.keys[0]": "env:D", "extra.keys[1]": "env:E"}
    policy = StackPolicy(source_hosts=("127.0.0.1",), login_domains=("login.salesforce.com",),
                         account=ACCOUNT, region="us-east-1", secrets_prefix="hdm/test/")
    refused = {".".join(e["loc"]) for e in policy.problems(cfg)}
    assert refused == set(found)


def test_an_empty_allow_list_allows_nothing():
    from hdm.pipeline.stack_policy import StackPolicy

    policy = StackPolicy.from_env({})
    assert "none" in policy.source_host_problem("127.0.0.1")
    assert "none" in policy.local_path_problem("/tmp/x")
    assert "unknown" in policy.secret_problem(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hdm/x")
    allowed = StackPolicy.from_env({"HDM_ALLOWED_LOGIN_DOMAINS": "login.salesforce.com, *.my.salesforce.com",
                                    "HDM_ALLOWED_LOCAL_PATHS": "/mnt/files"})
    assert allowed.login_domain_problem("login") is None and allowed.login_domain_problem("acme.my") is None
    assert allowed.login_domain_problem("test") is not None
    assert allowed.local_path_problem("/mnt/files/a/b") is None
    assert allowed.local_path_problem("/mnt/files/../etc") is not None
    assert allowed.local_path_problem("/mnt/filesystem") is not None


def _raw(stack, body: str, method="POST", path="/migrations", base64_encoded=False) -> tuple[int, dict]:
    event = api_gateway_event(method, path)
    event["body"] = base64.b64encode(body.encode()).decode() if base64_encoded else body
    event["isBase64Encoded"] = base64_encoded
    response = stack.modules["ApiFunction"].lambda_handler(event, LambdaContext(function_name="api"))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("body", ["{", "{\"migration_id\": ", "not json", "[1,", "\"\\ud800", "{\"a\": 1}}"])
def test_malformed_json_answers_400_never_500(sam_stack, body):
    status, payload = _raw(sam_stack, body)
    assert status == 400 and "not valid JSON" in payload["message"]
    assert _raw(sam_stack, body, path="/migrations/m-x/approve")[0] == 400
    assert _raw(sam_stack, body, path="/migrations/m-x/rollback")[0] == 400


def test_wrong_json_shapes_answer_4xx(sam_stack):
    assert _raw(sam_stack, "[]")[0] == 400
    assert _raw(sam_stack, "null")[0] == 400
    assert _raw(sam_stack, "\"x\"")[0] == 400
    assert _raw(sam_stack, "{}")[0] == 422
    assert _raw(sam_stack, "[]", path="/migrations/m-x/approve")[0] in (400, 404, 422)
    assert _raw(sam_stack, "{\"approved\": \"maybe\"}", path="/migrations/m-x/approve")[0] in (404, 422)


def test_oversized_bodies_answer_413(sam_stack, secrets_read):
    big = json.dumps({"migration_id": "m-big", "padding": "x" * (64 * 1024)})
    assert _raw(sam_stack, big)[0] == 413
    assert _raw(sam_stack, big, base64_encoded=True)[0] == 413
    assert _raw(sam_stack, "x" * (1024 * 1024))[0] == 413
    assert secrets_read == []


def test_a_bad_migration_id_in_the_path_is_not_a_lookup(sam_stack):
    status, body = sam_stack.api("GET", "/migrations/..%2F..")
    assert status == 404 and "ids are" in body["message"]


@pytest.mark.parametrize(("field", "value"), [("source.prefix", "ost_` UNION SELECT 1 -- "),
                                             ("destination.api_version", "62.0/../../x"),
                                             ("migration_id", "../../etc")])
def test_text_that_reaches_sql_urls_or_names_must_have_its_shape(sam_stack, tmp_path_factory, field, value):
    _ref, good = _good(sam_stack, tmp_path_factory)
    if "." in field:
        body = _with(good, field, value)
    else:
        body = {**good, field: value}
    status, answer = sam_stack.api("POST", "/migrations", body)
    assert status == 422 and [".".join(e["loc"]) for e in answer["errors"]] == [field]
    assert value not in json.dumps(answer)


def test_validation_errors_never_echo_the_value(sam_stack):
    literal = {"migration_id": "m-lit", "source": {"type": "osticket", "database": "d", "user": "u",
                                                   "password": "hunter2-literal"},
               "destination": {"type": "salesforce", "password": "hunter2-literal"}}
    status, body = sam_stack.api("POST", "/migrations", literal)
    assert status == 422 and "hunter2" not in json.dumps(body)
    assert {".".join(e["loc"]) for e in body["errors"]} == {"source.password", "destination.password"}


PLAIN_TEXT_FIELDS = {  # text fields that name no host, path or secret (what the stack policy need not check)
    "migration_id", "source.database", "source.user", "source.prefix", "destination.username",
    "destination.consumer_key", "destination.api_version", "destination.default_owner_email",
    "source.staged",  # a stage key held to ^inputs/bundle-<16 hex>/$ by its pattern: no host, path or secret
    "source.updated_since",  # kayako: an ISO-8601 instant, parsed by its validator: no host, path or secret
    "destination.default_admin_email", "destination.ticket_type_name",  # Intercom: an admin's e-mail, a type's name
}


def _text_fields(model: type, prefix: str = "") -> set[str]:
    from hdm.pipeline.config import FieldKind, _members
    from pydantic import BaseModel

    out: set[str] = set()
    for name, info in model.model_fields.items():
        members, kinds = _members(info.annotation)
        kinds |= {m for m in info.metadata if isinstance(m, FieldKind)}
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                out |= _text_fields(member, f"{prefix}{name}.")
            elif member is str and not kinds:
                out.add(f"{prefix}{name}")
    return out


def test_every_text_field_of_the_config_has_a_kind_or_is_known_plain():
    """A new text field must say what it is (SecretRef, LocalPath, SourceHost, LoginDomain, DestinationUrl in
    hdm.pipeline.config), so the trigger API checks it; or be added to PLAIN_TEXT_FIELDS on purpose."""
    from hdm.pipeline.config import MigrationConfig

    assert _text_fields(MigrationConfig) == PLAIN_TEXT_FIELDS


REMOTE_DB = "osticket-db.internal.example"


@pytest.fixture
def remote_db_stack(moto_aws, tmp_path_factory):
    """The stack as an operator deploys it for a database off the machine: a non-loopback source host allowed."""
    from hdm.engines import aws as aws_engine
    from hdm_infra.testing.aws import rehearsal_parameters
    from hdm_infra.testing.sam_harness import SamStack, tuned_interpreter

    aws_engine.reset_caches()
    parameters = rehearsal_parameters(str(tmp_path_factory.getbasetemp()))
    parameters["AllowedSourceHosts"] += f",{REMOTE_DB}"
    with tuned_interpreter():
        stack = SamStack(customer="test", parameters=parameters)
        try:
            yield stack
        finally:
            stack.close()
            aws_engine.reset_caches()


def test_a_remote_source_with_its_ca_as_a_secret_is_accepted(remote_db_stack, secrets_read, tmp_path_factory):
    """On Lambda the CA cannot be a local file: ``ssl.ca_pem``, an ARN of the stack's account, is how it is given."""
    stack = remote_db_stack
    _ref, good = _good(stack, tmp_path_factory, "m-api-ca-pem")
    ca_arn = store_secret(f"hdm/{stack.customer}/osticket-db-ca", "-----BEGIN CERTIFICATE-----\n...")
    body = _with(_with(good, "source.host", REMOTE_DB), "source.ssl", {"ca_pem": ca_arn})
    secrets_read.clear()
    stack.inject_failure("DiscoverFunction", lambda e: True)  # nothing downstream: only the API is tested
    status, answer = stack.api("POST", "/migrations", body)
    assert status == 202, answer
    assert secrets_read == []  # the API checks the ARN's shape and account, it never reads the CA
    for refused in ("env:HDM_CA_PEM", "file:/proc/self/environ", OTHER_ACCOUNT, OTHER_PREFIX):
        bad = _with(_with(good, "source.host", REMOTE_DB), "source.ssl", {"ca_pem": refused})
        bad["migration_id"] = "m-api-ca-pem-bad"
        status, answer = stack.api("POST", "/migrations", bad)
        assert status == 422, answer
        assert [".".join(e["loc"]) for e in answer["errors"]] == ["source.ssl.ca_pem"]
    both = _with(_with(good, "source.host", REMOTE_DB), "source.ssl",
                 {"ca_pem": ca_arn, "ca_bundle": str(tmp_path_factory.getbasetemp() / "ca.pem")})
    both["migration_id"] = "m-api-ca-both"
    status, answer = stack.api("POST", "/migrations", both)
    assert status == 422, answer
    assert [(".".join(e["loc"]), "give one" in e["msg"]) for e in answer["errors"]] == [("source.ssl", True)]
    assert secrets_read == []
