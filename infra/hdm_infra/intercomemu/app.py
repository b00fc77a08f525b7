"""`IntercomEmulator`: the Intercom REST API (2.16) on the emulator kit.

Request flow: route by the official spec's paths (every operation of the document is known; the ones this emulator
does not implement answer 501 ``not_implemented``) → bearer auth (401 ``error.list``, no rate-limit headers) →
the rate limit (429 past ``ceil(rate_per_minute / 6)`` calls in the current 10-second window) → request validation
against the spec (400 ``parameter_invalid`` naming the problem) → the kit's ``call`` (count + fault injection) → the
workspace's handler → response validation against the spec (always on: an invalid response becomes a 500
``server_error``, is logged to stderr (``server.log`` for a subprocess) and kept for ``GET /__admin/validation``).
Every authenticated response carries ``X-RateLimit-Limit/Remaining/Reset`` and ``Intercom-Version``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from hdm_infra.emulators.kit import ConnectionReset, EmulatorApp, json_response, merge_knobs, write_private
from hdm_infra.emulators.kit.app import read_json

from . import openapi
from .knobs import DEFAULT_ADMINS, DEFAULT_TEAMS, IntercomFaultDice, IntercomKnobs
from .store import Store
from .workspace import Call, IntercomError, Workspace, error_list

log = logging.getLogger("hdm_infra.intercomemu")

ADMIN_TOKEN_HEADER = "X-Intercom-Emulator-Admin-Token"
CREDENTIALS_FILE = "credentials.json"
JSON = "application/json; charset=utf-8"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def mask(text: str) -> str:
    """``text`` for the log: e-mail addresses (a validation message may quote a value) replaced."""
    return EMAIL.sub("<email>", text)


def _rule_path(template: str) -> str:
    return template.replace("{", "<").replace("}", ">")


class IntercomEmulator(EmulatorApp):
    admin_token_header = ADMIN_TOKEN_HEADER

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.validator = openapi.validator()
        self.lock = threading.RLock()
        self.knobs = IntercomKnobs()
        self._dice = IntercomFaultDice(self.knobs.faults)
        self.store = Store(self.state_dir / "workspace.sqlite3")
        self.workspace = Workspace(self.store, lambda: self.knobs, lambda: self.calls.api_used, lambda: self.base_url)
        self.access_token = self._load_credentials()
        self.validation_failures: list[dict[str, Any]] = []
        self._window = (0, 0)  # (window start, calls in it)
        self.routes = Map([Rule(_rule_path(path), methods=[method.upper()], endpoint=(path, method, op_id))
                           for (path, method), op_id in openapi.operations().items()])
        self.admin.route("reset", ["POST"])(self.admin_reset)
        self.admin.route("seed", ["POST"])(self.admin_seed)
        self.admin.route("dump", ["GET"])(self.admin_dump)
        self.admin.route("counts", ["GET"])(self.admin_counts)
        self.admin.route("deliveries", ["GET"])(self.admin_deliveries)
        self.admin.route("validation", ["GET", "DELETE"])(self.admin_validation)

    # ----- credentials -------------------------------------------------------------------------------------------
    def _load_credentials(self) -> str:
        path = self.state_dir / CREDENTIALS_FILE
        if path.exists():
            token = json.loads(path.read_text(encoding="utf-8")).get("access_token")
            if token:
                return token
        token = "dG9rOmhkbS1lbXU6" + secrets.token_urlsafe(24)
        write_private(path, json.dumps({"access_token": token, "token_type": "Bearer"}))
        return token

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), self.access_token.encode())

    # ----- rate limit --------------------------------------------------------------------------------------------
    def window_limit(self) -> int:
        """This app's calls per 10-second window (what ``X-RateLimit-Limit`` says)."""
        return max(1, math.ceil(self.knobs.rate_per_minute * self.knobs.window_seconds / 60))

    def workspace_window_limit(self) -> int:
        """The workspace's calls per 10-second window, shared with its other private apps."""
        return max(1, math.ceil(self.knobs.workspace_rate_per_minute * self.knobs.window_seconds / 60))

    def _take_rate(self, now: float) -> tuple[bool, int, int, int]:
        """(allowed, remaining, reset, the limit that refused) for one call now; a refused call is not charged."""
        window = self.knobs.window_seconds
        start = int(now // window) * window
        with self.lock:
            window_start, used = self._window
            if window_start != start:
                used = 0
            limit = self.window_limit()
            shared = self.workspace_window_limit() - max(0, self.knobs.other_apps_per_window)
            refused_by = limit if used >= limit else (self.workspace_window_limit() if used >= shared else 0)
            if not refused_by:
                used += 1
            self._window = (start, used)
        return not refused_by, max(0, min(limit, shared) - used), start + window, refused_by

    # ----- request flow ------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            (template, method, op_id), args = self.routes.bind("api.intercom.io").match(
                request.path, method=request.method)
        except HTTPException as exc:
            code = exc.code or 404
            return self._json(code, error_list([{"code": "not_found" if code == 404 else "method_not_allowed",
                                                 "message": f"{request.method} {request.path}: no such operation in "
                                                            f"the Intercom API 2.16"}]))
        if not self._authorised(request):
            self.calls.count("unauthorized")
            return self._finish_response(request, template, method, 401, error_list(
                [{"code": "unauthorized", "message": "Access Token Invalid"}]))
        request.environ["intercomemu.authenticated"] = True
        now = time.time()
        allowed, remaining, reset, refused_by = self._take_rate(now)
        request.environ["intercomemu.rate"] = (remaining, reset)
        if not allowed:
            self.calls.count("rate_limited")
            return self._finish_response(request, template, method, 429, self._rate_error(refused_by))
        problems, disagreements = self.validator.check_request(
            template, method, dict(args), request.args, request.headers, request.get_data(),
            request.content_type or "", cross_check=self.knobs.cross_check, path=request.path)
        if disagreements:
            self._record_failure(request, template, 0, disagreements, "request")
        if problems:
            self.calls.count("invalid_request")
            return self._finish_response(request, template, method, 400, error_list(
                [{"code": "parameter_invalid", "message": p} for p in problems]))
        response = self.call(op_id, lambda: self._dispatch(request, template, method, op_id, args, now))
        if not request.environ.get("intercomemu.validated"):  # an injected fault's answer: checked like the rest
            response = self._finish_response(request, template, method, response.status_code, response.get_json())
        return response

    def _rate_error(self, limit: int | None = None) -> dict[str, Any]:
        return error_list([{"code": "rate_limit_exceeded",
                            "message": f"Exceeded rate limit of {limit or self.window_limit()} in "
                                       f"{self.knobs.window_seconds}_seconds"}])

    def _dispatch(self, request: Request, template: str, method: str, op_id: str, args: dict[str, str],
                  now: float) -> Response:
        handler = getattr(self.workspace, f"op_{op_id}", None)
        if handler is None:
            return self._finish_response(request, template, method, 501, error_list([{
                "code": "not_implemented", "message": f"{op_id} ({method.upper()} {template}) is in the spec but "
                                                      f"not emulated by hdm's Intercom emulator"}]))
        body = read_json(request) if request.get_data() else None
        call = Call(args=dict(args), query=request.args.to_dict(), body=body,
                    version=request.headers.get("Intercom-Version") or self.knobs.default_version,
                    call_number=self.calls.api_used, now=now)
        try:
            with self.lock, self.store.lock:
                status, payload = handler(call)
        except IntercomError as exc:
            status, payload = exc.status, exc.body()
        if status == 200 and op_id in self.knobs.corrupt_responses:
            payload = _corrupt(payload)
        return self._finish_response(request, template, method, status, payload)

    def _json(self, status: int, payload: Any) -> Response:
        data = b"" if payload is None else json.dumps(payload).encode()
        return Response(data, status=status, content_type=JSON)

    def _finish_response(self, request: Request, template: str, method: str, status: int, payload: Any) -> Response:
        """Serialise ``payload`` and validate it against the spec; an invalid response becomes a 500."""
        request.environ["intercomemu.validated"] = True
        response = self._json(status, payload)
        problems = self.validator.check_response(template, method, status, response.get_data(),
                                                 cross_check=self.knobs.cross_check, path=request.path,
                                                 query=request.args, headers=request.headers)
        if problems:
            self._record_failure(request, template, status, problems, "response")
            response = self._json(500, error_list([{
                "code": "server_error",
                "message": f"emulator response failed OpenAPI 2.16 validation ({request.method} {template} -> "
                           f"{status}): {'; '.join(problems)[:800]}"}]))
        return response

    def _record_failure(self, request: Request, template: str, status: int, problems: list[str], what: str) -> None:
        failure = {"what": what, "method": request.method, "path": request.path, "operation": template,
                   "status": status, "problems": problems, "at": time.time()}
        with self.lock:
            self.validation_failures.append(failure)
        log.error("%s failed OpenAPI validation: %s %s -> %s: %s", what, request.method, request.path, status,
                  mask("; ".join(problems)))

    def fault_response(self, kind: str) -> Response:
        if kind == "429":
            return self._json(429, self._rate_error())
        if kind == "500":
            return self._json(500, error_list([{"code": "server_error", "message": "Server Error"}]))
        return self._json(503, error_list([{"code": "service_unavailable", "message": "Service Unavailable"}]))

    def error_response(self, exc: Exception) -> Response | None:
        if isinstance(exc, ValueError):
            return self._json(400, error_list([{"code": "parameter_invalid", "message": "body is not JSON"}]))
        return None

    def finish(self, request: Request, response: Response) -> None:
        # "They are not sent when the request has no valid credentials" (Intercom's rate-limiting page)
        if request.environ.get("intercomemu.authenticated"):
            remaining, reset = request.environ["intercomemu.rate"]
            response.headers["X-RateLimit-Limit"] = str(self.window_limit())
            response.headers["X-RateLimit-Remaining"] = "0" if response.status_code == 429 else str(remaining)
            response.headers["X-RateLimit-Reset"] = str(reset)
            response.headers["Intercom-Version"] = request.headers.get("Intercom-Version") or \
                self.knobs.default_version

    # ----- knobs -------------------------------------------------------------------------------------------------
    def call(self, family: str, handler: Callable[[], Response]) -> Response:
        """The kit's count-then-fault flow, plus ``rate_500`` (a 500 instead of the handler) and ``rate_reset_after``
        (the handler runs, then the connection is dropped)."""
        def run() -> Response:
            if self._dice.server_error(family):
                if family == "scrollOverAllCompanies":
                    self.workspace.end_scroll()
                    return self._json(500, error_list([{
                        "code": "server_error", "message": "Request failed due to an internal network error. "
                                                           "Please restart the scroll operation."}]))
                return self.fault_response("500")
            response = handler()
            if self._dice.reset_after(family):
                raise ConnectionReset()  # the work is done; its answer is lost
            return response

        return super().call(family, run)

    def fault_dice(self) -> IntercomFaultDice:
        return self._dice

    def knobs_json(self) -> dict[str, Any]:
        return asdict(self.knobs)

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        knobs = merge_knobs(IntercomKnobs, data, None if replace else self.knobs)
        if min(knobs.rate_per_minute, knobs.workspace_rate_per_minute) < 1 or knobs.window_seconds not in (1, 2, 5, 10):
            raise ValueError("rate_per_minute and workspace_rate_per_minute must be at least 1; window_seconds one of "
                             "1, 2, 5, 10")
        self.knobs = knobs
        self._dice = IntercomFaultDice(knobs.faults)

    # ----- admin API ---------------------------------------------------------------------------------------------
    def admin_reset(self, request: Request) -> Response:
        """Empty workspace; body (optional): {"admins": [...], "teams": [...], "knobs": {...}} (default admins and
        teams when none are given)."""
        body = read_json(request) or {}
        try:
            with self.lock, self.store.lock:
                self.store.clear()
                self.knobs = IntercomKnobs()
                if body.get("knobs"):
                    self.set_knobs_json(body["knobs"], replace=False)
                self._dice = IntercomFaultDice(self.knobs.faults)
                self._window = (0, 0)
                self.validation_failures.clear()
                self.workspace.end_scroll()
                if body.get("admins") or body.get("teams"):
                    seeded = self.workspace.seed(body.get("admins"), body.get("teams"))
                else:
                    seeded = self.workspace.seed(DEFAULT_ADMINS, DEFAULT_TEAMS)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        self.calls.clear(usage=True)
        return json_response({"reset": True, **seeded})

    def admin_seed(self, request: Request) -> Response:
        body = read_json(request) or {}
        try:
            with self.lock, self.store.lock:
                return json_response(self.workspace.seed(body.get("admins"), body.get("teams")))
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)

    def admin_dump(self, request: Request) -> Response:
        return json_response(self.store.dump())

    def admin_counts(self, request: Request) -> Response:
        return json_response(self.store.counts())

    def admin_deliveries(self, request: Request) -> Response:
        return json_response({"deliveries": self.store.values("delivery")})

    def admin_validation(self, request: Request) -> Response:
        with self.lock:
            failures = list(self.validation_failures)
            if request.method == "DELETE":
                self.validation_failures.clear()
                self.workspace.end_scroll()
        return json_response({"failures": failures, "spec_sha256": openapi.SPEC_SHA256,
                              "load_seconds": openapi.LOAD_SECONDS})


def _corrupt(payload: Any) -> Any:
    """Test-only: a response body that breaks the spec (ids become numbers, lists become strings)."""
    if isinstance(payload, dict):
        out = dict(payload)
        for key, value in payload.items():
            if key in ("id", "type") and isinstance(value, str):
                out[key] = 12345
            elif isinstance(value, list):
                out[key] = "not-a-list"
        return out
    return payload
