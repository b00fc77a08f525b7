"""Run the committed SAM stack on moto: the real ASL executed by moto's Step Functions interpreter, with
Lambda invocations dispatched in-process to the real handlers in ``functions/<name>/app.py``.

Recipe (reference/notes/serverless.md §1): ``mock_aws`` with ``execute_state_machine``; patch
``LambdaFunction._invoke_lambda`` to call the registered handler and shape errors as the Python
runtime does (``errorType`` = exception class); create buckets, tables, functions and state machines
from template.yaml with ``DefinitionSubstitutions`` resolved as SAM resolves them; raise recursion and
thread stack limits; cache the interpreter's Lambda client; no-op the retry sleep.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Optional
from unittest import mock

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def load_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """template.yaml as a dict; short-form tags (!Ref, !GetAtt, !Sub …) become their long forms."""
    from cfnlint.decode import cfn_yaml

    return _plain(cfn_yaml.load(str(path)))


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def table_create_args(template: dict[str, Any], logical_id: str, table_name: str) -> dict[str, Any]:
    """CreateTable arguments from a template's AWS::DynamoDB::Table (settings moto ignores are dropped)."""
    props = template["Resources"][logical_id]["Properties"]
    args = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            if k in props}
    args["TableName"] = table_name
    return args


# -- in-process Lambda -----------------------------------------------------------------------------

@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline: float = field(default_factory=lambda: time.monotonic() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


HANDLERS: dict[str, Callable[[dict, Any], Any]] = {}
INVOCATIONS: list[tuple[str, dict]] = []
_INVOCATIONS_LOCK = threading.Lock()


def _invoke_in_process(self: Any, event: Any) -> tuple[str, bool, str]:
    """Replaces moto's Docker step: call the handler registered under the function's name."""
    handler = HANDLERS.get(self.function_name)
    payload = json.loads(event) if isinstance(event, (str, bytes)) and event else (event or {})
    with _INVOCATIONS_LOCK:
        INVOCATIONS.append((self.function_name, payload))
    if handler is None:
        body = {"errorType": "HandlerNotRegistered", "errorMessage": self.function_name, "stackTrace": []}
        return json.dumps(body), True, ""
    ctx = LambdaContext(function_name=self.function_name, invoked_function_arn=self.function_arn,
                        log_group_name=f"/aws/lambda/{self.function_name}")
    try:
        result = _call(handler, payload, ctx)
    except Exception as exc:  # the Python runtime's error shape: Retry/Catch match on errorType
        body = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__)}
        return json.dumps(body), True, ""
    return json.dumps(result), False, ""


_MOTO_RACE_ATTEMPTS = 3


def _moto_race(exc: BaseException) -> bool:
    """moto's in-memory backends are not thread-safe: map iterations running side by side in this one process can
    make a DynamoDB query fail with "dictionary changed size during iteration" inside moto itself. A real Lambda
    never meets it (each invocation is its own process against the real service)."""
    if not (isinstance(exc, RuntimeError) and "changed size during iteration" in str(exc)):
        return False
    return any("/moto/" in frame.filename for frame in traceback.extract_tb(exc.__traceback__))


def _call(handler: Callable[[dict, Any], Any], payload: dict, ctx: Any) -> Any:
    """The handler, invoked again (at most twice) when moto's own race failed it: chunk steps are idempotent by
    contract, as Step Functions' retries require, so a second invocation is what AWS would do on a retry."""
    for attempt in range(1, _MOTO_RACE_ATTEMPTS + 1):
        try:
            return handler(payload, ctx)
        except RuntimeError as exc:
            if attempt == _MOTO_RACE_ATTEMPTS or not _moto_race(exc):
                raise
    raise AssertionError("unreachable")


@contextmanager
def tuned_interpreter() -> Iterator[None]:
    """Recursion/stack headroom for wide maps, a cached Lambda client, and no real sleeping in Retry."""
    import moto.awslambda.models as lambda_models
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))
    old_stack = threading.stack_size()
    threading.stack_size(256 * 1024 * 1024)
    original_client_for = lambda_eval_utils.boto_client_for
    clients: dict[tuple, Any] = {}
    lock = threading.Lock()

    def cached_client_for(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
        with lock:
            if key not in clients:
                clients[key] = original_client_for(*args, **kwargs)
            return clients[key]

    class _NoSleep:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(_seconds: float) -> None:
            return None

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(lambda_models.LambdaFunction, "_invoke_lambda", _invoke_in_process))
        stack.enter_context(mock.patch.object(lambda_eval_utils, "boto_client_for", cached_client_for))
        stack.enter_context(mock.patch.object(retrier_decl, "time", _NoSleep()))
        try:
            yield
        finally:
            threading.stack_size(old_stack)


# -- the stack -------------------------------------------------------------------------------------

def _tiny_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def lambda_handler(event, context):\n    raise RuntimeError('dispatched in-process')\n")
    return buf.getvalue()


def import_handler_module(code_uri: str, unique: str) -> ModuleType:
    """Import functions/<name>/app.py as a fresh module (fresh module-level caches per stack)."""
    path = REPO / code_uri / "app.py"
    name = f"hdm_fn_{Path(code_uri).name}_{unique}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class SamStack:
    """The resources of template.yaml created on moto, with handlers registered for in-process dispatch.

    Use inside ``mock_aws`` (the ``moto_aws`` fixture). ``env`` receives the functions' merged
    environment (it is also set in ``os.environ`` until :meth:`close`).
    """

    def __init__(self, customer: str = "test", template: Optional[dict[str, Any]] = None,
                 parameters: Optional[dict[str, str]] = None):
        import boto3

        self.template = template or load_template()
        self.customer = customer
        self.stack_name = f"hdm-{customer}"
        self.params = {name: str(p.get("Default", "")) for name, p in self.template.get("Parameters", {}).items()}
        self.params.update({"Customer": customer, **(parameters or {})})
        self.refs: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.modules: dict[str, ModuleType] = {}
        self.function_names: dict[str, str] = {}
        self._saved_env: dict[str, Optional[str]] = {}
        self._unique = uuid.uuid4().hex[:8]
        with _INVOCATIONS_LOCK:
            INVOCATIONS.clear()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.lambda_ = boto3.client("lambda", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        self.kms = boto3.client("kms", region_name=REGION)
        self._create()

    # -- intrinsic functions --------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._getatt(logical, attr)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if fn == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _pseudo(self) -> dict[str, str]:
        return {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com"}

    def _ref(self, name: str) -> str:
        if name in self._pseudo():
            return self._pseudo()[name]
        if name in self.params:
            return self.params[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"unresolved Ref {name} (not created yet or not supported by the harness)")

    def _getatt(self, logical: str, attr: str) -> str:
        if attr == "Arn" and logical in self.arns:
            return self.arns[logical]
        raise KeyError(f"unresolved GetAtt {logical}.{attr}")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        import re

        def repl(m: re.Match) -> str:
            name = m.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attr = name.split(".", 1)
                return self._getatt(logical, attr)
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", repl, text)

    # -- creation -------------------------------------------------------------------------------
    def _resources(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lid, r.get("Properties", {})) for lid, r in self.template["Resources"].items() if r["Type"] == kind]

    def _create(self) -> None:
        for lid, _props in self._resources("AWS::KMS::Key"):
            meta = self.kms.create_key(Description=lid)["KeyMetadata"]
            self.refs[lid], self.arns[lid] = meta["KeyId"], meta["Arn"]
        for lid, props in self._resources("AWS::S3::Bucket"):
            name = self.resolve(props.get("BucketName")) or f"{self.stack_name}-{lid}".lower()
            self.s3.create_bucket(Bucket=name)
            self.refs[lid], self.arns[lid] = name, f"arn:aws:s3:::{name}"
        for lid, props in self._resources("AWS::DynamoDB::Table"):
            name = self.resolve(props.get("TableName")) or f"{self.stack_name}-{lid}"
            desc = self.ddb.create_table(**table_create_args(self.template, lid, name))["TableDescription"]
            self.refs[lid], self.arns[lid] = name, desc["TableArn"]
        for lid, _props in self._resources("AWS::IAM::ManagedPolicy"):
            self.refs[lid] = f"arn:aws:iam::{ACCOUNT}:policy/{self.stack_name}-{lid}"
        role = self.iam.create_role(RoleName=f"{self.stack_name}-lambda-{self._unique}",
                                    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        role_arn = role["Role"]["Arn"]
        globals_env = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        functions = self._resources("AWS::Serverless::Function")
        code = _tiny_zip()
        for lid, _props in functions:
            name = f"{self.stack_name}-{lid}"
            arn = self.lambda_.create_function(
                FunctionName=name, Runtime="python3.13", Role=role_arn, Handler="app.lambda_handler",
                Code={"ZipFile": code},
            )["FunctionArn"]
            self.refs[lid], self.arns[lid], self.function_names[lid] = name, arn, name
        state_machines = self._resources("AWS::Serverless::StateMachine")
        for lid, props in state_machines:  # ARNs are known before creation (the API function needs them)
            name = self.resolve(props.get("Name")) or f"{self.stack_name}-{lid}"
            self.refs[lid] = self.arns[lid] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        # environment: globals + every function's own variables, merged; conflicts are an error
        env = {k: str(self.resolve(v)) for k, v in globals_env.items()}
        for lid, props in functions:
            own = props.get("Environment", {}).get("Variables", {})
            for k, v in own.items():
                value = str(self.resolve(v))
                if k in env and env[k] != value:
                    raise ValueError(f"environment variable {k} differs between functions ({lid})")
                env[k] = value
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
        env["POWERTOOLS_METRICS_DISABLED"] = "false"
        self.env = env
        for k, v in env.items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v
        for lid, props in functions:
            module = import_handler_module(props["CodeUri"].rstrip("/"), self._unique)
            self.modules[lid] = module
            HANDLERS[self.function_names[lid]] = module.lambda_handler
        sm_role = self.iam.create_role(RoleName=f"{self.stack_name}-sfn-{self._unique}",
                                       AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
                                                                            "Statement": []}))["Role"]["Arn"]
        for lid, props in state_machines:
            definition = (REPO / props["DefinitionUri"]).read_text()
            subs = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
            for k, v in subs.items():
                definition = definition.replace("${" + k + "}", v)
            if "${" in definition:
                raise ValueError(f"{props['DefinitionUri']}: unsubstituted placeholder left")
            name = self.arns[lid].rsplit(":", 1)[1]
            arn = self.sfn.create_state_machine(name=name, definition=definition, roleArn=sm_role,
                                                type=props.get("Type", "STANDARD"))["stateMachineArn"]
            assert arn == self.arns[lid], (arn, self.arns[lid])

    def close(self) -> None:
        for lid in [lid for lid, _ in self._resources("AWS::Serverless::StateMachine")]:
            try:  # stop what a failed test left running, before the mock goes away under it
                running = self.sfn.list_executions(stateMachineArn=self.arns[lid], statusFilter="RUNNING")
                for execution in running["executions"]:
                    self.sfn.stop_execution(executionArn=execution["executionArn"])
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
        for fn in self.function_names.values():
            HANDLERS.pop(fn, None)
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for name in [n for n in sys.modules if n.endswith(self._unique) and n.startswith("hdm_fn_")]:
            del sys.modules[name]

    def inject_failure(self, logical_id: str, when: Callable[[dict], bool], error: type[Exception] = RuntimeError,
                       times: Optional[int] = None) -> list[dict]:
        """Make the real handler raise ``error`` for events where ``when(event)`` holds (at most ``times``
        times); returns the list of events that failed. Everything else still reaches the real handler."""
        name = self.function_names[logical_id]
        real = self.modules[logical_id].lambda_handler
        failed: list[dict] = []
        lock = threading.Lock()

        def handler(event: dict, context: Any) -> Any:
            with lock:
                fire = when(event) and (times is None or len(failed) < times)
                if fire:
                    failed.append(event)
            if fire:
                raise error(f"injected failure in {logical_id}")
            return real(event, context)

        HANDLERS[name] = handler
        return failed

    def track_concurrency(self, logical_id: str, key: Callable[[dict], str] = lambda e: "all") -> dict[str, Any]:
        """Count the function's invocations in flight, per ``key(event)``: ``peak[key]`` is the most at once."""
        name = self.function_names[logical_id]
        inner = HANDLERS[name]
        seen: dict[str, Any] = {"now": {}, "peak": {}, "calls": 0, "overlaps": 0}
        lock = threading.Lock()

        def handler(event: dict, context: Any) -> Any:
            k = key(event)
            with lock:
                if any(n for other, n in seen["now"].items() if other != k):
                    seen["overlaps"] += 1  # another key's invocations were in flight at the same time
                seen["now"][k] = seen["now"].get(k, 0) + 1
                seen["calls"] += 1
                seen["peak"][k] = max(seen["peak"].get(k, 0), seen["now"][k])
            try:
                time.sleep(0.02)  # long enough for siblings to overlap if the map lets them
                return inner(event, context)
            finally:
                with lock:
                    seen["now"][k] -= 1

        HANDLERS[name] = handler
        return seen

    # -- driving runs ---------------------------------------------------------------------------
    def start(self, logical_id: str, name: str, payload: dict[str, Any]) -> str:
        return self.sfn.start_execution(stateMachineArn=self.arns[logical_id], name=name,
                                        input=json.dumps(payload))["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 120, until: Optional[Callable[[dict], bool]] = None,
             poll: float = 0.05) -> dict[str, Any]:
        """Poll until the execution ends (or ``until(description)`` holds); bounded by ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] in TERMINAL or (until and until(desc)):
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {desc['status']} after {timeout}s")
            time.sleep(poll)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def api(self, method: str, path: str, body: Optional[dict[str, Any]] = None,
            path_parameters: Optional[dict[str, str]] = None) -> tuple[int, Any]:
        """Call the trigger API handler with an API Gateway (REST, IAM-authorised) proxy event."""
        event = api_gateway_event(method, path, body)
        module = self.modules["ApiFunction"]
        response = module.lambda_handler(event, LambdaContext(function_name=self.function_names["ApiFunction"]))
        payload = response.get("body")
        try:
            payload = json.loads(payload) if payload else None
        except ValueError:
            pass
        return response["statusCode"], payload


def api_gateway_event(method: str, path: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    path, _, query = path.partition("?")
    queries = dict(p.split("=", 1) for p in query.split("&") if "=" in p) or None
    parts = path.strip("/").split("/")
    resource = "/" + "/".join("{migration_id}" if i == 1 else p for i, p in enumerate(parts))
    params = {"migration_id": parts[1]} if len(parts) > 1 else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "queryStringParameters": queries,
        "multiValueQueryStringParameters": {k: [v] for k, v in queries.items()} if queries else None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/v1{path}", "stage": "v1",
            "requestId": str(uuid.uuid4()), "accountId": ACCOUNT,
            "identity": {"userArn": f"arn:aws:iam::{ACCOUNT}:user/migration-engineer", "caller": "AIDATEST",
                         "sourceIp": "127.0.0.1"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


# -- API Gateway in front of the API handler (REST, AWS_IAM auth) ---------------------------------------

def _verify_sigv4(method: str, url: str, headers: dict[str, str], body: bytes, credentials: Any,
                  region: str) -> Optional[str]:
    """None when the request carries a valid SigV4 signature for ``execute-api``; otherwise why not."""
    import re as _re

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    m = _re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/execute-api/aws4_request, "
                  r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "missing or malformed SigV4 Authorization header"
    key_id, _day, req_region, signed, signature = m.groups()
    if key_id != credentials.access_key or req_region != region:
        return "unknown access key or wrong region"
    request = AWSRequest(method=method, url=url, data=body or None,
                         headers={name: lower[name] for name in signed.split(";") if name in lower})
    request.context["timestamp"] = lower.get("x-amz-date", "")
    signer = SigV4Auth(credentials, "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if expected == signature else "signature does not match"


def serve_api(stack: SamStack, credentials: Any, region: str = REGION) -> tuple[str, Callable[[], None]]:
    """An HTTP endpoint on 127.0.0.1 that checks SigV4 (as API Gateway's AWS_IAM auth does) and passes
    each request to the API handler as a REST proxy event. Returns (base URL, stop)."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    @Request.application
    def app(request: Request) -> Response:
        path = request.path.removeprefix("/v1")
        body = request.get_data()
        problem = _verify_sigv4(request.method, request.url, dict(request.headers), body, credentials, region)
        if problem:
            return Response(json.dumps({"message": problem}), status=403, content_type="application/json")
        status, payload = stack.api(request.method, path, json.loads(body) if body else None)
        return Response(json.dumps(payload), status=status, content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.server_port}/v1", stop
