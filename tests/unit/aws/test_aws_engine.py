"""The AWS engine's plain parts: settings from the environment, PII masking in logs, chunk metrics,
and the operator's SigV4-signed trigger API client (over HTTP to 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from hdm.engines import aws


def test_settings_come_from_the_function_environment():
    s = aws.AwsSettings.from_env({"HDM_STAGE_BUCKET": "b", "HDM_CROSSWALK_TABLE": "x", "HDM_RUNS_TABLE": "r",
                                  "HDM_STAGE_KMS_KEY_ID": "arn:aws:kms:us-east-1:1:key/k"})
    assert (s.stage_bucket, s.crosswalk_table, s.runs_table) == ("b", "x", "r")
    assert s.stage_kms_key_id.endswith("key/k") and s.migration_state_machine_arn is None


def test_a_missing_setting_is_a_clear_error():
    with pytest.raises(RuntimeError, match="HDM_RUNS_TABLE"):
        aws.AwsSettings.from_env({"HDM_STAGE_BUCKET": "b", "HDM_CROSSWALK_TABLE": "x"})


def test_logs_never_carry_bodies_emails_or_tokens():
    masked = aws.mask_pii({"message": "sent to jane.doe@example.com", "body": "<p>my password is x</p>",
                           "task_token": "AAAA", "counts": {"created": 3}, "rows": [{"email": "a@b.co"}]})
    assert masked["message"] == "sent to ***@***"
    assert masked["body"] == "***" and masked["task_token"] == "***"
    assert masked["counts"] == {"created": 3} and masked["rows"] == [{"email": "***"}]


def test_the_powertools_logger_masks_every_record(capsys):
    logger = aws.logger(service="hdm-test")
    logger.info("contact jane@example.com failed", extra={"subject": "Refund for order 12", "chunk_id": "c-1"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "contact ***@*** failed"
    assert line["subject"] == "***" and line["chunk_id"] == "c-1"


def test_chunk_metrics_count_migrated_failed_and_skipped(monkeypatch):
    from aws_lambda_powertools import Metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "hdm-test")
    metrics = Metrics()
    aws.add_chunk_metrics(metrics, {"counts": {"created": 5, "matched": 2, "rejected": 1, "skipped": 3, "held": 1}})
    emf = metrics.serialize_metric_set()
    assert emf["RecordsMigrated"] == [7.0] and emf["RecordsFailed"] == [1.0] and emf["RecordsSkipped"] == [4.0]
    metrics.clear_metrics()


def test_a_fan_out_child_without_output_is_a_failure():
    assert aws.require_all_chunks("extract", [{"ok": True}, {"ok": True}]) == 2
    with pytest.raises(aws.ChunkFailed, match="1 of 3"):
        aws.require_all_chunks("load", [{"ok": True}, None, {"ok": True}])


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        _Recorder.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                               "body": body})
        status = 404 if self.path.endswith("/nope") else 200
        payload = json.dumps({"message": "no migration nope"} if status == 404 else {"ok": True}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def api_server():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    thread.join(timeout=5)


def test_the_operator_client_signs_every_call_with_sigv4(api_server, monkeypatch):
    import boto3

    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")
    client = aws.TriggerApiClient(api_server, session=session)
    assert client.approve("m-1") == {"ok": True}
    assert client.status("m-1") == {"ok": True}
    with pytest.raises(aws.TriggerApiError) as err:
        client.status("nope")
    assert err.value.status == 404
    first = _Recorder.seen[0]
    assert first["method"] == "POST" and first["path"] == "/v1/migrations/m-1/approve"
    assert json.loads(first["body"]) == {"approved": True, "reason": None}
    auth = first["headers"]["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in auth and "Signature=" in auth
    assert "X-Amz-Date" in first["headers"]
    assert "secret" not in json.dumps(first["headers"])


class DuplicateValue(Exception):
    pass


def test_errors_leave_handlers_with_pii_masked_but_their_name_kept():
    @aws.masked_errors
    def handler(event, context):
        raise DuplicateValue("duplicate value found: Email jane.doe@example.com on record 003A")

    with pytest.raises(Exception) as err:
        handler({}, None)
    assert type(err.value).__name__ == "DuplicateValue"  # Retry/Catch match on the name
    assert str(err.value) == "duplicate value found: Email ***@*** on record 003A"
    assert err.value.__cause__ is None and err.value.__context__ is None  # the unmasked original is not kept


def test_errors_without_pii_pass_through_unchanged():
    @aws.masked_errors
    def handler(event, context):
        raise DuplicateValue("chunk c-1 failed")

    with pytest.raises(DuplicateValue, match="chunk c-1 failed"):
        handler({}, None)


def test_a_task_event_without_ids_is_a_clear_error():
    with pytest.raises(ValueError, match="migration_id and run_id"):
        aws.context_for({"item": {}})


@pytest.mark.parametrize("event", [{"migration_id": "../x", "run_id": "r1"}, {"migration_id": "m-1", "run_id": ""},
                                   {"migration_id": "m-1", "run_id": "a" * 200}])
def test_a_task_event_with_malformed_ids_is_refused(event):
    with pytest.raises(ValueError, match="short ids"):
        aws.context_for(event)


def test_the_operator_client_refuses_a_url_that_is_not_https():
    with pytest.raises(aws.AwsEngineError, match="not an https:// URL"):
        aws.TriggerApiClient("http://api.example.com/v1")
    with pytest.raises(aws.AwsEngineError):
        aws.TriggerApiClient("not-a-url")
