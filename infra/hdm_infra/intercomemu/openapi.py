"""The official Intercom OpenAPI 2.16 description, parsed once per process, and the validator the emulator runs on
every request and every response (openapi-core, a maintained validator; no hand-written schema checks).

- ``load_spec()``: the vendored YAML (``spec/``) as a dict, parsed once per process (``functools.cache``);
- ``Validator``: ``check_request(request)`` / ``check_response(request, status, body)`` return a list of readable
  problems (empty: valid). Requests are presented to openapi-core as if sent to ``https://api.intercom.io`` (the
  spec's first server), so the spec is used unchanged. A response whose status the operation does not document
  (409, 429, 404 where the spec lists none, ...) must still be a valid ``error`` (``error.list``) body: it is checked
  against ``components.schemas.error`` of the same document.
- ``operations()``: every (path template, method) → operationId, for routing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import ValidationError, best_match
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parent / "spec"
SPEC_FILE = SPEC_DIR / "api.intercom.io.2.16.yaml"
SPEC_SHA256 = "212b09336bf561992d998e6650d4eaacb44aa0a0f02504e398cf10f1cfb9d238"
SPEC_HOST = "https://api.intercom.io"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

LOAD_SECONDS: dict[str, float] = {}  # measured once per process: {"parse": s, "build": s}


@functools.cache
def load_spec() -> dict[str, Any]:
    """The spec as a dict (parsed once per process; the file's sha256 is checked so an edited copy is refused), with
    ``ERRATA`` applied in memory."""
    started = time.perf_counter()
    raw = SPEC_FILE.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SPEC_SHA256:
        raise RuntimeError(f"{SPEC_FILE} is not the vendored Intercom OpenAPI 2.16 file (sha256 {digest}); "
                           f"restore it from spec/README.md's source")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader
    _apply_errata(spec)
    LOAD_SECONDS["parse"] = time.perf_counter() - started
    return spec


@functools.cache
def operations() -> dict[tuple[str, str], str]:
    """(path template, lower-case method) → operationId for every operation of the spec."""
    out: dict[tuple[str, str], str] = {}
    for path, item in load_spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                out[(path, method)] = item[method].get("operationId") or f"{method} {path}"
    return out


def documented_statuses(path: str, method: str) -> set[str]:
    return set(load_spec()["paths"][path][method].get("responses", {}))


@dataclass
class _Request:
    """An HTTP request as openapi-core's ``Request`` protocol sees it."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    host_url: str = SPEC_HOST

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@dataclass
class _Response:
    status_code: int
    data: bytes
    content_type: str = "application/json"
    headers: Headers = field(default_factory=Headers)


# Errata: the two places where the 2.16 document contradicts itself about an id a real client must send. They are
# applied to the parsed copy in memory (the vendored file stays byte-for-byte upstream's) and listed in README.md.
ERRATA: list[tuple[str, str]] = [
    ("paths./contacts/{contact_id}/notes.post: path parameter contact_id is `type: integer`",
     "contact ids are 24-hex-digit strings (the same path's GET, and every other /contacts/{contact_id} operation, "
     "declare a string): the parameter is validated as a string"),
    ("components.schemas.create_conversation_request.properties.from.properties.id: `format: uuid`",
     "the same schema says minLength 24, maxLength 24 and gives 536e564f316c83104c000020 as the example (a contact "
     "id; a UUID has 36 characters): the format is dropped, the length limits stay"),
]


def _apply_errata(spec: dict[str, Any]) -> None:
    for param in spec["paths"]["/contacts/{contact_id}/notes"]["post"]["parameters"]:
        if param.get("name") == "contact_id" and param.get("in") == "path":
            param["schema"] = {**param["schema"], "type": "string"}
    sender = spec["components"]["schemas"]["create_conversation_request"]["properties"]["from"]["properties"]["id"]
    sender.pop("format", None)


def _describe(exc: BaseException) -> str:
    """One readable line for a validation problem (the deepest, most relevant schema error when there is one)."""
    text = str(exc)
    causes: list[ValidationError] = []
    for candidate in (exc, exc.__cause__):
        causes.extend(getattr(candidate, "schema_errors", None) or ())
    if causes:
        best = best_match(causes)
        deepest = best_match(best.context) if best.context else best
        where = "/".join(str(p) for p in deepest.absolute_path) or "(root)"
        text = f"{text.split(': Value ')[0]}: at {where}: {deepest.message}"
    elif exc.__cause__ is not None:
        text = f"{text}: {exc.__cause__}"
    return text[:1000]


class Validator:
    """Request and response validation against the one parsed spec."""

    def __init__(self) -> None:
        started = time.perf_counter()
        spec = load_spec()
        # the spec document is fixed (sha256-checked); checking the document itself on every start costs seconds
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self.error_validator = OAS30Validator(spec["components"]["schemas"]["error"])
        LOAD_SECONDS["build"] = time.perf_counter() - started

    @staticmethod
    def _request(method: str, path: str, query: ImmutableMultiDict, headers: Headers, body: bytes | None,
                 content_type: str) -> _Request:
        params = RequestParameters(query=query, header=headers, cookie=ImmutableMultiDict(), path={})
        return _Request(method=method.lower(), path=path, body=body, content_type=content_type or "application/json",
                        parameters=params)

    def check_request(self, method: str, path: str, query: ImmutableMultiDict, headers: Headers,
                      body: bytes | None, content_type: str) -> list[str]:
        request = self._request(method, path, query, headers, body or None, content_type)
        result = self.api.unmarshal_request(request)
        return [_describe(e) for e in result.errors]

    def check_response(self, method: str, path: str, template: str, status: int, body: bytes,
                       query: ImmutableMultiDict, headers: Headers,
                       content_type: str = "application/json") -> list[str]:
        """Problems with a response to ``method path`` (``template``: the spec path it matched)."""
        if str(status) not in documented_statuses(template, method.lower()) and "default" not in \
                documented_statuses(template, method.lower()):
            try:
                document = json.loads(body or b"null")
            except ValueError as exc:
                return [f"undocumented status {status} with a non-JSON body: {exc}"]
            errors = sorted(self.error_validator.iter_errors(document), key=lambda e: list(e.absolute_path))
            return [f"undocumented status {status}: the body is not a valid `error` object: {e.message}"
                    for e in errors]
        request = self._request(method, path, query, headers, None, "application/json")
        result = self.api.unmarshal_response(request, _Response(status, body, content_type))
        return [_describe(e) for e in result.errors]


@functools.cache
def validator() -> Validator:
    """The process's validator (built once)."""
    return Validator()
