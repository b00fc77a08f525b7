"""The official Intercom OpenAPI 2.16 description, parsed once per process, and the validation the emulator runs on
every request and every response, with maintained validators only (no hand-written schema checks).

- ``load_spec()``: the vendored YAML (``spec/``) as a dict, parsed once per process (``functools.cache``), sha256
  checked, ``ERRATA`` applied in memory; ``operations()``: (path template, method) → operationId, for routing.
- ``Validator.check_request`` / ``check_response`` return a list of readable problems (empty: valid):
  - the always-on path compiles, per operation, the spec's own schemas into ``openapi-schema-validator`` validators
    (OAS 3.0 read/write semantics, formats, ``$ref`` resolved through one ``referencing`` registry over the whole
    document): parameters (path, query, header: cast from their text by their declared type, then validated),
    the JSON request body, and the response body of the status returned. A status the operation does not document
    (409, 429, 404 where the spec lists none, ...) must still be a valid ``error`` (``error.list``) body;
  - ``cross_check=True`` also runs ``openapi-core`` (the full request/response validator over the same document;
    requests are presented as sent to ``https://api.intercom.io``, the spec's first server) and reports any
    disagreement, or any problem openapi-core finds. Tests run with it on; it costs ~10-40 ms a call, so the demo
    and benchmarks run the compiled path alone (~1-2 ms a call).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jsonschema.exceptions import ValidationError, relevance
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parent / "spec"
SPEC_FILE = SPEC_DIR / "api.intercom.io.2.16.yaml"
SPEC_SHA256 = "212b09336bf561992d998e6650d4eaacb44aa0a0f02504e398cf10f1cfb9d238"
SPEC_HOST = "https://api.intercom.io"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

LOAD_SECONDS: dict[str, float] = {}  # measured once per process: {"parse": s, "build": s}


def _cache_file() -> Path:
    root = os.environ.get("HDM_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "hdm")
    return Path(root) / f"intercom-openapi-2.16-{SPEC_SHA256[:16]}.json"


def _parse(raw: bytes) -> dict[str, Any]:
    """The YAML parsed (~1 s), or the JSON copy of an earlier parse of the same bytes (~30 ms) when one is cached."""
    cache = _cache_file()
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("sha256") == SPEC_SHA256:
            return cached["spec"]
    except (OSError, ValueError, AttributeError):
        pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"sha256": SPEC_SHA256, "spec": spec}), encoding="utf-8")
        os.replace(partial, cache)
    except OSError:
        pass  # a cache is an optimisation only
    return spec


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
    spec = _parse(raw)
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


# Errata: the places where the 2.16 document contradicts itself so that a documented call cannot be made. They are
# applied to the parsed copy in memory (the vendored file stays byte-for-byte upstream's) and listed in README.md.
ERRATA: list[tuple[str, str]] = [
    ("paths./contacts/{contact_id}/notes.post: path parameter contact_id is `type: integer`",
     "contact ids are 24-hex-digit strings (the same path's GET, and every other /contacts/{contact_id} operation, "
     "declare a string): the parameter is validated as a string"),
    ("components.schemas.create_conversation_request.properties.from.properties.id: `format: uuid`",
     "the same schema says minLength 24, maxLength 24 and gives 536e564f316c83104c000020 as the example (a contact "
     "id; a UUID has 36 characters): the format is dropped, the length limits stay"),
    ("paths./tags.post: the request body is `oneOf` create_or_update_tag / tag_company / untag_company / "
     "tag_multiple_users",
     "none of the four forbids other properties, so every company or user body also matches create_or_update_tag "
     "(only `name` required) and no company or bulk-user tagging body can ever be valid: read as `anyOf`"),
]


def _apply_errata(spec: dict[str, Any]) -> None:
    for param in spec["paths"]["/contacts/{contact_id}/notes"]["post"]["parameters"]:
        if param.get("name") == "contact_id" and param.get("in") == "path":
            param["schema"] = {**param["schema"], "type": "string"}
    sender = spec["components"]["schemas"]["create_conversation_request"]["properties"]["from"]["properties"]["id"]
    sender.pop("format", None)
    tags = spec["paths"]["/tags"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "oneOf" in tags:
        tags["anyOf"] = tags.pop("oneOf")



SPEC_URI = "urn:intercom-openapi-2.16"


def _pointer(*parts: str) -> str:
    """A ``$ref`` to a place in the spec (JSON pointer, each part escaped)."""
    escaped = "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
    return f"{SPEC_URI}#/{quote(escaped, safe='/~')}"


@dataclass
class _Request:
    """An HTTP request as openapi-core's ``Request`` protocol sees it."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: Any = None  # openapi_core.datatypes.RequestParameters
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


def _where(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(root)"


def _best(errors: list[ValidationError]) -> ValidationError:
    """The error to report: jsonschema's best match, descending into oneOf/anyOf through the branch that failed on
    the fewest points (the branch the document was most likely meant to be)."""
    best = max(errors, key=relevance)
    while best.context:
        branches: dict[Any, list[ValidationError]] = {}
        for error in best.context:
            branches.setdefault(error.relative_schema_path[0], []).append(error)
        best = max(min(branches.values(), key=lambda branch: sum(_weight(e) for e in branch)), key=relevance)
    return best


def _weight(error: ValidationError) -> int:
    return 1 + sum(_weight(e) for e in error.context)


def _describe(exc: BaseException) -> str:
    """One readable line for an openapi-core problem (the deepest, most relevant schema error when there is one)."""
    text = str(exc)
    causes: list[ValidationError] = []
    for candidate in (exc, exc.__cause__):
        causes.extend(getattr(candidate, "schema_errors", None) or ())
    if causes:
        deepest = _best(causes)
        text = f"{text.split(': Value ')[0]}: at {_where(deepest)}: {deepest.message}"
    elif exc.__cause__ is not None:
        text = f"{text}: {exc.__cause__}"
    return text[:1000]


@dataclass
class _Param:
    name: str
    location: str  # path, query, header
    required: bool
    kind: str | None  # the declared type (None: a $ref'd schema, treated as a string)
    validator: Any


class _Operation:
    """One operation's compiled validators (response validators compiled on first use)."""

    def __init__(self, owner: Validator, template: str, method: str) -> None:
        spec = owner.spec
        op = spec["paths"][template][method]
        self.owner = owner
        self.template, self.method = template, method
        self.params: list[_Param] = []
        self.complex_params = False
        for i, param in enumerate(op.get("parameters", [])):
            if "$ref" in param:
                param = owner.resolve(param["$ref"])
            schema = param.get("schema") or {}
            kind = schema.get("type")
            if kind in ("object",) or (kind == "array" and (schema.get("items") or {}).get("type") not in
                                       ("string", "integer", None)):
                self.complex_params = True
            ref = {"$ref": _pointer("paths", template, method, "parameters", str(i), "schema")}
            self.params.append(_Param(param["name"], param["in"], bool(param.get("required")), kind,
                                      owner.write_validator(ref)))
        body = op.get("requestBody") or {}
        if "$ref" in body:
            body = owner.resolve(body["$ref"])
        self.body_required = bool(body.get("required"))
        self.body_types = set(body.get("content", {}))
        self.body_validator = None
        if "application/json" in self.body_types and body["content"]["application/json"].get("schema"):
            self.body_validator = owner.write_validator(
                {"$ref": _pointer("paths", template, method, "requestBody", "content", "application/json", "schema")})
        self.responses: dict[str, dict[str, Any]] = op.get("responses", {})
        self._response_validators: dict[str, Any] = {}

    def response_validator(self, status: str) -> Any:
        """The validator of a documented status's JSON body (None: the spec declares no JSON schema for it)."""
        if status not in self._response_validators:
            content = (self.responses.get(status) or {}).get("content") or {}
            media = content.get("application/json")
            self._response_validators[status] = None if not media or not media.get("schema") else \
                self.owner.read_validator({"$ref": _pointer("paths", self.template, self.method, "responses", status,
                                                            "content", "application/json", "schema")})
        return self._response_validators[status]


def _cast(kind: str | None, raw: str, items: bool = False) -> Any:
    """A parameter's text as its declared type (ValueError when it is not one)."""
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(f"{raw!r} is not true or false")
        return raw == "true"
    if kind == "array":
        return raw.split(",")
    return raw


class Validator:
    """Request and response validation against the one parsed spec (see the module's docstring)."""

    def __init__(self) -> None:
        started = time.perf_counter()
        self.spec = load_spec()
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(self.spec,
                                                                                  default_specification=DRAFT4))
        self.error_validator = self.read_validator({"$ref": _pointer("components", "schemas", "error")})
        self._operations: dict[tuple[str, str], _Operation] = {}
        self._core: Any = None  # openapi_core.OpenAPI, imported and built on first use (~1 s)
        LOAD_SECONDS["build"] = time.perf_counter() - started

    # ----- the compiled path ---------------------------------------------------------------------------------------
    def resolve(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def write_validator(self, schema: dict[str, Any]) -> Any:
        return OAS30WriteValidator(schema, registry=self.registry, format_checker=oas30_format_checker)

    def read_validator(self, schema: dict[str, Any]) -> Any:
        return OAS30ReadValidator(schema, registry=self.registry, format_checker=oas30_format_checker)

    def operation(self, template: str, method: str) -> _Operation:
        key = (template, method.lower())
        if key not in self._operations:
            self._operations[key] = _Operation(self, template, method.lower())
        return self._operations[key]

    @staticmethod
    def _errors(validator: Any, document: Any, label: str) -> list[str]:
        errors = list(validator.iter_errors(document))
        if not errors:
            return []
        deepest = _best(errors)
        return [f"{label}: at {_where(deepest)}: {deepest.message}"[:1000]]

    def check_request(self, template: str, method: str, path_args: dict[str, str], query: ImmutableMultiDict,
                      headers: Headers, body: bytes | None, content_type: str, cross_check: bool = False,
                      path: str = "") -> tuple[list[str], list[str]]:
        """(problems, disagreements): what is wrong with the request (the client gets a 400 naming it), and where
        openapi-core (``cross_check``) judged the request differently (an emulator defect: tests fail on it)."""
        op = self.operation(template, method)
        problems: list[str] = []
        sources = {"path": path_args, "query": query, "header": headers}
        for param in op.params:
            source = sources.get(param.location)
            if source is None:
                continue
            raw = source.get(param.name)
            if raw is None:
                if param.required:
                    problems.append(f"Missing required {param.location} parameter: {param.name}")
                continue
            try:
                value = _cast(param.kind, raw)
            except ValueError as exc:
                problems.append(f"Invalid {param.location} parameter: {param.name}: {exc}")
                continue
            problems += self._errors(param.validator, value, f"Invalid {param.location} parameter: {param.name}")
        if body:
            media = (content_type or "").split(";")[0].strip().lower()
            if op.body_types and media not in op.body_types:
                problems.append(f"Request body: content type {media or '(none)'} is not one of {sorted(op.body_types)}")
            elif op.body_validator is not None:
                try:
                    document = json.loads(body)
                except ValueError as exc:
                    problems.append(f"Request body is not JSON: {exc}")
                else:
                    problems += self._errors(op.body_validator, document, "Request body validation error")
        elif op.body_required:
            problems.append("Missing required request body")
        disagreements: list[str] = []
        if cross_check or op.complex_params:
            core = self._core_request_problems(method, path, query, headers, body, content_type)
            if core and not problems:
                problems = [f"openapi-core: {p}" for p in core]
                if not op.complex_params:
                    disagreements = [f"openapi-core refuses a request the compiled validators accepted: {core}"]
            elif problems and not core and cross_check:
                disagreements = [f"openapi-core accepts a request the compiled validators refused: {problems}"]
        return problems, disagreements

    def check_response(self, template: str, method: str, status: int, body: bytes, cross_check: bool = False,
                       path: str = "", query: ImmutableMultiDict | None = None,
                       headers: Headers | None = None) -> list[str]:
        op = self.operation(template, method)
        key = str(status) if str(status) in op.responses else ("default" if "default" in op.responses else None)
        problems: list[str] = []
        if key is None:
            try:
                document = json.loads(body or b"null")
            except ValueError as exc:
                return [f"undocumented status {status} with a non-JSON body: {exc}"]
            problems = self._errors(self.error_validator, document,
                                    f"undocumented status {status}: the body is not a valid `error` object")
            return problems
        validator = op.response_validator(key)
        content = (op.responses.get(key) or {}).get("content") or {}
        if validator is None:
            if body and not content:
                problems.append(f"status {status} is documented without a body, but one was sent")
        else:
            try:
                document = json.loads(body)
            except ValueError as exc:
                return [f"Response body of {status} is not JSON: {exc}"]
            problems = self._errors(validator, document, f"Response body ({status}) validation error")
        if cross_check:
            problems += self._cross_check_response(method, path, query or ImmutableMultiDict(), headers or Headers(),
                                                   status, body, not problems)
        return problems

    # ----- openapi-core, the cross-check -----------------------------------------------------------------------
    def core(self) -> Any:
        """openapi-core's ``OpenAPI`` over the same parsed document (imported and built on first use)."""
        if self._core is None:
            from openapi_core import Config, OpenAPI

            # the spec document is fixed (sha256-checked): checking the document itself on every start costs seconds
            self._core = OpenAPI.from_dict(self.spec, config=Config(spec_validator_cls=None))
        return self._core

    @staticmethod
    def _core_request(method: str, path: str, query: ImmutableMultiDict, headers: Headers, body: bytes | None,
                      content_type: str) -> _Request:
        from openapi_core.datatypes import RequestParameters

        params = RequestParameters(query=query, header=headers, cookie=ImmutableMultiDict(), path={})
        return _Request(method=method.lower(), path=path, body=body or None,
                        content_type=content_type or "application/json", parameters=params)

    def _core_request_problems(self, method: str, path: str, query: ImmutableMultiDict, headers: Headers,
                               body: bytes | None, content_type: str) -> list[str]:
        result = self.core().unmarshal_request(self._core_request(method, path, query, headers, body, content_type))
        # the emulator authenticates before validating; openapi-core's security check adds nothing here
        return [_describe(e) for e in result.errors
                if type(e).__name__ not in ("SecurityNotFound", "SecurityValidationError")]

    def _cross_check_response(self, method: str, path: str, query: ImmutableMultiDict, headers: Headers,
                              status: int, body: bytes, fast_valid: bool) -> list[str]:
        request = self._core_request(method, path, query, headers, None, "application/json")
        result = self.core().unmarshal_response(request, _Response(status, body))
        core_problems = [_describe(e) for e in result.errors if type(e).__name__ != "ResponseNotFound"]
        if core_problems and fast_valid:
            return [f"openapi-core: {p}" for p in core_problems]
        return []


@functools.cache
def validator() -> Validator:
    """The process's validator (built once)."""
    return Validator()
