"""The vendored Intercom OpenAPI 2.16 document and the validation built on it (no server)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hdm_infra.intercomemu import openapi
from werkzeug.datastructures import Headers, ImmutableMultiDict

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "intercom" / "api.intercom.io.2.16.yaml"
HEADERS = Headers({"Intercom-Version": "2.16", "Authorization": "Bearer x"})


def test_the_vendored_file_is_upstreams_unchanged_with_its_licence():
    raw = openapi.SPEC_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == openapi.SPEC_SHA256
    assert (openapi.SPEC_DIR / "LICENSE.md").read_text().startswith("MIT License")
    assert openapi.SPEC_SHA256 in (openapi.SPEC_DIR / "README.md").read_text()
    if SHARED.exists():  # CI has ../shared beside the repo: the copy is byte-for-byte the reference one
        assert SHARED.read_bytes() == raw


def test_the_spec_is_parsed_once_per_process_and_an_edited_copy_is_refused(tmp_path, monkeypatch):
    assert openapi.load_spec() is openapi.load_spec()
    assert len(openapi.operations()) == 231
    edited = tmp_path / "api.yaml"
    edited.write_bytes(openapi.SPEC_FILE.read_bytes().replace(b"2.16", b"2.99", 1))
    monkeypatch.setattr(openapi, "SPEC_FILE", edited)
    with pytest.raises(RuntimeError, match="not the vendored"):
        openapi.load_spec.__wrapped__()


def test_the_parse_is_cached_as_json_keyed_by_the_files_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("HDM_CACHE_DIR", str(tmp_path))
    first = openapi.load_spec.__wrapped__()
    cached = json.loads(openapi._cache_file().read_text())
    assert cached["sha256"] == openapi.SPEC_SHA256 and cached["spec"]["info"]["version"] == "2.16"
    assert openapi.load_spec.__wrapped__() == first


def test_errata_are_applied_in_memory_only():
    spec = openapi.load_spec()
    params = spec["paths"]["/contacts/{contact_id}/notes"]["post"]["parameters"]
    assert [p["schema"]["type"] for p in params if p.get("name") == "contact_id"] == ["string"]
    sender = spec["components"]["schemas"]["create_conversation_request"]["properties"]["from"]["properties"]["id"]
    assert "format" not in sender and sender["minLength"] == 24
    assert b"format: uuid\n              minLength: 24" in openapi.SPEC_FILE.read_bytes()
    tags = spec["paths"]["/tags"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "anyOf" in tags and "oneOf" not in tags


def check(template, method, body, args=None, query=None, cross_check=True, path=None):
    raw = json.dumps(body).encode() if body is not None else b""
    return openapi.validator().check_request(template, method, args or {}, ImmutableMultiDict(query or {}), HEADERS,
                                             raw, "application/json", cross_check=cross_check,
                                             path=path or template)


def test_requests_are_judged_alike_by_the_compiled_validators_and_openapi_core():
    assert check("/contacts", "post", {"email": "a@b.example", "role": "user"}) == ([], [])
    problems, disagreements = check("/contacts", "post", {"email": 5})
    assert problems and "email" in problems[0] and disagreements == []
    problems, disagreements = check("/conversations", "get", None, query={"per_page": "151"})
    assert "150" in problems[0] and disagreements == []
    problems, _ = check("/tickets/{ticket_id}/reply", "post", {"message_type": "comment", "type": "admin",
                                                             "body": "x"}, args={"ticket_id": "1"},
                        path="/tickets/1/reply")
    assert problems == ["Request body validation error: at (root): 'admin_id' is a required property"]


def test_a_disagreement_with_openapi_core_is_reported(monkeypatch):
    op = openapi.validator().operation("/contacts", "post")

    class AcceptsAnything:
        def iter_errors(self, document):
            return iter(())

    monkeypatch.setattr(op, "body_validator", AcceptsAnything())
    problems, disagreements = check("/contacts", "post", {"email": 5})
    assert problems and disagreements and "openapi-core refuses" in disagreements[0]


def test_responses_are_checked_against_the_status_returned_or_the_error_schema():
    v = openapi.validator()
    tag = json.dumps({"type": "tag", "id": "1", "name": "x"}).encode()
    assert v.check_response("/tags/{tag_id}", "get", 200, tag, cross_check=True, path="/tags/1") == []
    bad = json.dumps({"type": "tag", "id": 1, "name": "x"}).encode()
    problems = v.check_response("/tags/{tag_id}", "get", 200, bad, cross_check=True, path="/tags/1")
    assert problems and "id" in problems[0]
    conflict = json.dumps({"type": "error.list", "errors": [{"code": "conflict", "message": "m"}]}).encode()
    assert v.check_response("/contacts", "post", 409, conflict) == []  # 409 is not documented: the error schema
    assert v.check_response("/contacts", "post", 409, b'{"errors": "no"}')


def test_addresses_are_masked_in_log_lines():
    from hdm_infra.intercomemu.app import mask

    line = "Response body (200) validation error: at email: 'ann.o+x@customer.example.co.uk' is not of type 'integer'"
    assert mask(line) == "Response body (200) validation error: at email: '<email>' is not of type 'integer'"
