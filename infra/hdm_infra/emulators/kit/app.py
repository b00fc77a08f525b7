"""`EmulatorApp`: the WSGI base of an emulator, with call counting, fault injection and the admin API.

A subclass answers its API in ``handle(request)`` and wraps each counted call in ``self.call(family, handler)``
(count, then maybe a fault, then the handler). Everything under ``/__admin`` goes to the admin API: ``health``
answers anyone; every other endpoint needs the header ``admin_token_header`` carrying the token kept in
``<state_dir>/admin-token`` (mode 0600), else 401. The kit registers ``knobs`` and ``counters``; the subclass adds
its own with ``self.admin.route(...)``.
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .counters import CallCounters
from .http11 import RESET_KEY
from .knobs import FaultDice, Faults, merge_knobs
from .state import ADMIN_TOKEN_FILE, load_admin_token, private_state_dir, write_private

ADMIN_PREFIX = "/__admin"
Handler = Callable[[Request], Response]


class ConnectionReset(Exception):
    """Fault injection: drop the TCP connection without a response."""


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json;charset=UTF-8") -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type=content_type)


def read_json(request: Request) -> Any:
    """The request body as JSON (None when empty); ValueError when it is not JSON."""
    return json.loads(request.get_data() or b"null")


class AdminApi:
    """The token-protected admin endpoints, routed by werkzeug under ``/__admin/<name>``."""

    def __init__(self, token: str, header: str, prefix: str = ADMIN_PREFIX) -> None:
        self.token = token
        self.header = header
        self.prefix = prefix
        self.url_map = Map()
        self.open: set[str] = set()  # paths answered without the token

    def route(self, name: str, methods: list[str] | None = None, open: bool = False) -> Callable[[Handler], Handler]:
        """Register ``handler(request) -> Response`` for ``<prefix>/<name>`` (``methods`` None: any method)."""

        def register(handler: Handler) -> Handler:
            path = f"{self.prefix}/{name}"
            self.url_map.add(Rule(path, methods=methods, endpoint=handler))
            if open:
                self.open.add(path)
            return handler

        return register

    def authorised(self, request: Request) -> bool:
        given = request.headers.get(self.header, "")
        return secrets.compare_digest(given.encode(), self.token.encode())

    def __call__(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path not in self.open and not self.authorised(request):
            return json_response({"error": f"admin API: missing or wrong {self.header} header "
                                           f"(the token is in <state_dir>/{ADMIN_TOKEN_FILE})"}, 401)
        try:
            handler, _ = self.url_map.bind("127.0.0.1").match(path, method=request.method)
        except HTTPException:
            return json_response({"error": f"unknown admin endpoint {request.method} {path}"}, 404)
        return handler(request)


class EmulatorApp:
    """WSGI application base: state folder, admin token and API, counters, faults. Subclasses fill the hooks."""

    admin_token_header = "X-Emulator-Admin-Token"
    uncounted_families: frozenset[str] = frozenset()  # counted per family, not charged to the usage total

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = private_state_dir(state_dir)
        self.base_url = ""  # set by the server once the port is known
        self.admin_token = load_admin_token(self.state_dir)
        self._dice = FaultDice(Faults())
        families, used = self.load_counters()
        self.calls = CallCounters(families, used, self.save_counters, self.uncounted_families)
        self.admin = AdminApi(self.admin_token, self.admin_token_header)
        self.admin.route("health", open=True)(self.admin_health)
        self.admin.route("knobs", ["GET", "POST", "PUT", "PATCH"])(self.admin_knobs)
        self.admin.route("counters", ["GET", "DELETE"])(self.admin_counters)

    # ----- hooks ------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """The emulated API (everything outside /__admin)."""
        raise NotImplementedError

    def error_response(self, exc: Exception) -> Response | None:
        """The response for an exception ``handle`` raised (None: let it propagate as a server error)."""
        return None

    def finish(self, request: Request, response: Response) -> None:
        """Adjust every API (non-admin) response, e.g. add rate-limit headers."""

    def fault_dice(self) -> FaultDice:
        """The current fault stream (the subclass keeps it beside its knobs)."""
        return self._dice

    def fault_response(self, kind: str) -> Response:
        """The response of an injected '429' or '503' fault."""
        if kind == "429":
            return json_response({"error": "Too many requests, please retry later"}, 429, {"Retry-After": "1"})
        return json_response({"error": "Server too busy"}, 503)

    def knobs_json(self) -> dict[str, Any]:
        return {"faults": asdict(self._dice.faults)}

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        """Apply a (partial, unless ``replace``) knob document; ValueError/TypeError for a bad one."""
        faults = (data or {}).get("faults", {})
        self._dice = FaultDice(merge_knobs(Faults, faults, None if replace else self._dice.faults))

    def load_counters(self) -> tuple[dict[str, int], int]:
        path = self.state_dir / "counters.json"
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            return saved.get("families", {}), int(saved.get("api_used", 0))
        return {}, 0

    def save_counters(self, families: dict[str, int], api_used: int) -> None:
        write_private(self.state_dir / "counters.json", json.dumps({"families": families, "api_used": api_used}))

    # ----- request flow -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        admin = request.path.startswith(ADMIN_PREFIX)
        try:
            response = self.admin(request) if admin else self.handle(request)
        except ConnectionReset:
            self._reset_connection(environ)
            response = Response(b"", status=500)
        except Exception as exc:  # noqa: BLE001 - mapped by the subclass or re-raised
            mapped = self.error_response(exc)
            if mapped is None:
                raise
            response = mapped
        if not admin:
            self.finish(request, response)
        return response(environ, start_response)

    def call(self, family: str, handler: Callable[[], Response]) -> Response:
        """Count one call of ``family``, then inject the fault the dice pick (if any), else run ``handler``."""
        self.calls.count(family)
        dice = self.fault_dice()
        fault = dice.request_fault(family)
        if fault == "reset":
            raise ConnectionReset()
        if fault in ("503", "429"):
            return self.fault_response(fault)
        if fault == "slow":
            time.sleep(dice.faults.slow_seconds)
        return handler()

    def flush(self) -> None:
        """Persist what is kept in memory (called on shutdown)."""
        self.calls.flush()

    @staticmethod
    def _reset_connection(environ: dict[str, Any]) -> None:
        environ[RESET_KEY] = True  # the server sends nothing more and closes the connection
        sock = environ.get("werkzeug.socket")
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ----- admin endpoints the kit provides -------------------------------------------------------------
    def admin_health(self, request: Request) -> Response:
        return json_response({"ok": True, "url": self.base_url})

    def admin_knobs(self, request: Request) -> Response:
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                self.set_knobs_json(read_json(request) or {}, replace=request.method == "PUT")
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response(self.knobs_json())

    def admin_counters(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.calls.clear()
        return json_response(self.calls.snapshot())
