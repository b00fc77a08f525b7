"""The Kayako API v1 emulator on the emulator kit (see README.md for endpoints, behaviours and their sources)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Request, Response

from hdm_infra.emulators.kit import EmulatorApp, json_response
from hdm_infra.emulators.kit.app import read_json
from hdm_infra.emulators.kit.knobs import FaultDice, Faults, merge_knobs
from hdm_infra.emulators.kit.state import write_private

from .generator import generate, touch_cases
from .render import FieldsSpec, Renderer
from .store import BASE, Store

ADMIN_TOKEN_HEADER = "X-Kayako-Admin-Token"
API_PREFIX = "/api/v1/"
MORE_INFO = "https://developer.kayako.com/api/v1/reference/errors/"
CREDENTIALS_FILE = "credentials.json"
MAX_SESSIONS = 10_000  # a client that sends Basic on every call opens a session each time: keep the newest

# collection path -> resource type (GET <path> lists, GET <path>/<id> reads one)
COLLECTIONS: dict[str, str] = {
    "cases": "case", "users": "user", "organizations": "organization", "teams": "team", "roles": "role",
    "brands": "brand", "mailboxes": "mailbox", "channels": "channel", "businesshours": "business_hour",
    "slas": "sla", "triggers": "trigger", "monitors": "monitor", "categories": "category", "sections": "section",
    "articles": "article", "tags": "tag",
    "cases/fields": "case_field", "users/fields": "user_field", "organizations/fields": "organization_field",
    "cases/statuses": "case_status", "cases/priorities": "case_priority", "cases/types": "case_type",
}
# nested collections: (parent path, name) -> (stored type, served resource type); GET <parent>/<id>/<name>
NESTED: dict[tuple[str, str], tuple[str, str]] = {
    ("cases", "posts"): ("post", "post"), ("cases", "notes"): ("note", "note"),
    ("users", "notes"): ("user_note", "note"), ("organizations", "notes"): ("organization_note", "note"),
}


@dataclass
class KayakoKnobs:
    default_limit: int = 10  # "By default the API returns first 10 items" (reference/pagination)
    max_limit: int = 1000  # UNVERIFIED: Kayako's maximum limit is not documented
    cursor_resources: list[str] = field(default_factory=lambda: ["cases", "posts", "users", "organizations"])
    rate_limit_per_minute: int = 0  # 0: off; requests per window per session user
    rate_limit_window_seconds: float = 60.0  # "API rate limits are defined per minute" (reference/rate_limiting)
    rate_limited_families: list[str] = field(default_factory=list)  # empty: every API family
    session_ttl_seconds: float = 0.0  # 0: sessions never expire
    session_max_calls: int = 0  # 0: unlimited; else a session expires after this many calls
    expired_session_status: int = 401  # 401 AUTHENTICATION_FAILED or 454 SESSION_LOADING_FAILED (see README)
    fault_retry_after_seconds: int = 1  # Retry-After of an injected 429
    classic: bool = False  # answer as Kayako Classic (4.x) does: no /api/v1, XML REST at /api/index.php
    faults: Faults = field(default_factory=Faults, metadata={"knob_label": "fault knob"})


@dataclass
class Session:
    email: str
    created: float
    calls: int = 0


class KayakoError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "errors": [{"code": code, "message": message, "more_info": MORE_INFO + code}]}


class KayakoEmulator(EmulatorApp):
    admin_token_header = ADMIN_TOKEN_HEADER
    uncounted_families = frozenset({"media"})

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.store = Store(self.state_dir)
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.windows: dict[str, tuple[float, int]] = {}
        self.credentials = self._load_credentials()
        self.knobs = KayakoKnobs()
        self._dice = FaultDice(self.knobs.faults)
        for name, method, handler in [("reset", "POST", self.admin_reset), ("seed", "POST", self.admin_seed),
                                      ("counts", "GET", self.admin_counts), ("plan", "GET", self.admin_plan),
                                      ("credentials", "GET", self.admin_credentials),
                                      ("expire-sessions", "POST", self.admin_expire_sessions),
                                      ("touch", "POST", self.admin_touch)]:
            self.admin.route(name, [method])(handler)

    def _load_credentials(self) -> dict[str, str]:
        path = self.state_dir / CREDENTIALS_FILE
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        creds = {"email": "admin@acme.example", "password": secrets.token_urlsafe(18)}
        write_private(path, json.dumps(creds))
        return creds

    # ----- request flow ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        if self.knobs.classic:
            return self.call("classic", lambda: self.classic_response(request))
        if path.startswith("/media/url/"):
            return self.call("media", lambda: self.media(path.removeprefix("/media/url/")))
        if not path.startswith(API_PREFIX):
            return self.error(404, "NOT_FOUND", "Not found")
        rel = path.removeprefix(API_PREFIX).removesuffix(".json").strip("/")
        family, route = self.route(request.method, rel)
        return self.call(family, lambda: self.authenticated(request, family, route))

    def route(self, method: str, rel: str) -> tuple[str, tuple[Any, ...]]:
        parts = rel.split("/") if rel else []
        if method != "GET" and not (rel == "session" and method == "DELETE"):
            return "not_allowed", ("not_allowed",)
        if rel == "session":
            return "session", ("session",)
        if rel in COLLECTIONS:
            return rel.replace("/", "_") + "_list", ("list", rel, None)
        if len(parts) >= 2 and "/".join(parts[:-1]) in COLLECTIONS and parts[-1].isdigit():
            coll = "/".join(parts[:-1])
            return coll.replace("/", "_") + "_get", ("get", coll, int(parts[-1]))
        if len(parts) == 3 and parts[1].isdigit() and (parts[0], parts[2]) in NESTED:
            return f"{parts[0]}_{parts[2]}_list", ("nested", parts[0], int(parts[1]), parts[2])
        if len(parts) == 4 and parts[1].isdigit() and parts[3].isdigit() and (parts[0], parts[2]) in NESTED:
            return f"{parts[0]}_{parts[2]}_get", ("nested_get", parts[0], int(parts[1]), parts[2], int(parts[3]))
        if len(parts) == 3 and parts[0] == "cases" and parts[1].isdigit() and parts[2] == "tags":
            return "case_tags_list", ("case_tags", int(parts[1]))
        if (len(parts) == 7 and parts[0] == "cases" and parts[2] in ("messages", "notes") and parts[4] ==
                "attachments" and parts[6] in ("download", "url") and parts[1].isdigit() and parts[5].isdigit()):
            return "attachment_download", ("attachment", f"case:{parts[1]}", int(parts[5]))
        if (len(parts) == 5 and parts[0] == "articles" and parts[1].isdigit() and parts[2] == "attachments"
                and parts[3].isdigit() and parts[4] in ("download", "url")):
            return "attachment_download", ("attachment", f"article:{parts[1]}", int(parts[3]))
        return "not_found", ("not_found",)

    def authenticated(self, request: Request, family: str, route: tuple[Any, ...]) -> Response:
        try:
            session_id, fresh = self.authenticate(request)
            request.environ["kayakoemu.session_id"] = session_id
            self.rate_limit(family, session_id)
            response = self.dispatch(request, route)
        except KayakoError as exc:
            return self.error(exc.status, exc.code, exc.message, exc.headers)
        if fresh and response.mimetype == "application/json":
            body = json.loads(response.get_data())
            body["session_id"] = session_id
            response.set_data(json.dumps(body, ensure_ascii=False))
        return response

    def dispatch(self, request: Request, route: tuple[Any, ...]) -> Response:
        kind = route[0]
        if kind == "session":
            return self.session_resource(request)
        if kind == "list":
            return self.listing(request, route[1], COLLECTIONS[route[1]], None)
        if kind == "get":
            return self.single(request, route[1], COLLECTIONS[route[1]], route[2])
        if kind == "nested":
            _, parent_coll, parent_id, name = route
            if self.store.get(COLLECTIONS[parent_coll], parent_id) is None:
                raise KayakoError(404, "RESOURCE_NOT_FOUND", "Resource can not be found")
            stored, served = NESTED[(parent_coll, name)]
            return self.listing(request, name, stored, parent_id, served=served, parent_coll=parent_coll)
        if kind == "nested_get":
            _, parent_coll, parent_id, name, rid = route
            stored, served = NESTED[(parent_coll, name)]
            row = self.store.get(stored, rid)
            if row is None or self.store.parent_of(stored, rid) != parent_id:
                raise KayakoError(404, "RESOURCE_NOT_FOUND", "Resource can not be found")
            renderer = self.renderer(request)
            data = renderer.item(FieldsSpec(request.args.get("fields")).apply(
                {**row, "resource_url": self.resource_url(name, rid, parent_id, parent_coll)}))
            return self.envelope({"status": 200, "data": data, "resource": served}, renderer)
        if kind == "case_tags":
            case = self.store.get("case", route[1])
            if case is None:
                raise KayakoError(404, "RESOURCE_NOT_FOUND", "Resource can not be found")
            renderer = self.renderer(request)
            tags = [renderer.lookup("tag", t["id"]) for t in case.get("tags", [])]
            return self.envelope({"status": 200, "data": [t for t in tags if t], "resource": "tag",
                                  "total_count": len(tags)}, renderer)
        if kind == "attachment":
            return self.attachment(route[1], route[2])
        if kind == "not_allowed":
            raise KayakoError(405, "METHOD_NOT_ALLOWED", "The emulator serves reads only")
        raise KayakoError(404, "NOT_FOUND", "Endpoint not found")

    # ----- auth ----------------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[str, bool]:
        """(session id, whether it was created by this request's Basic authentication)."""
        header = request.headers.get("Authorization", "")
        given = request.headers.get("X-Session-ID") or request.args.get("_session_id")
        with self.lock:
            if header.lower().startswith("basic "):
                email = self._check_basic(header[6:].strip())
                if given:
                    known = self.sessions.get(given)
                    if known is None or known.email != email:
                        raise KayakoError(454, "SESSION_LOADING_FAILED", "The server failed to load the session")
                session_id = secrets.token_urlsafe(48)
                self.sessions[session_id] = Session(email=email, created=time.monotonic(), calls=1)
                while len(self.sessions) > MAX_SESSIONS:
                    del self.sessions[next(iter(self.sessions))]
                return session_id, True
            if not given:
                raise KayakoError(401, "AUTHENTICATION_FAILED", "Authentication required")
            session = self.sessions.get(given)
            knobs = self.knobs
            expired = session is not None and (
                (knobs.session_ttl_seconds and time.monotonic() - session.created > knobs.session_ttl_seconds)
                or (knobs.session_max_calls and session.calls >= knobs.session_max_calls))
            if expired:
                del self.sessions[given]
            if session is None or expired:
                if knobs.expired_session_status == 454:
                    raise KayakoError(454, "SESSION_LOADING_FAILED", "The server failed to load the session")
                raise KayakoError(401, "AUTHENTICATION_FAILED",
                                  "Used authentication credentials are invalid or signature verification failed")
            session.calls += 1
            return given, False

    def _check_basic(self, token: str) -> str:
        try:
            email, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            email, password = "", ""
        ok = secrets.compare_digest(email.encode(), self.credentials["email"].encode()) and \
            secrets.compare_digest(password.encode(), self.credentials["password"].encode())
        if not ok:
            raise KayakoError(401, "AUTHENTICATION_FAILED",
                              "Used authentication credentials are invalid or signature verification failed")
        return email

    def rate_limit(self, family: str, session_id: str) -> None:
        knobs = self.knobs
        if knobs.rate_limit_per_minute <= 0:
            return
        if knobs.rate_limited_families and family not in knobs.rate_limited_families:
            return
        with self.lock:
            session = self.sessions.get(session_id)
            key = session.email if session else session_id
            now = time.monotonic()
            window = max(knobs.rate_limit_window_seconds, 0.001)
            start = math.floor(now / window) * window
            begun, used = self.windows.get(key, (start, 0))
            if begun != start:
                begun, used = start, 0
            used += 1
            self.windows[key] = (begun, used)
            if used > knobs.rate_limit_per_minute:
                retry = max(1, math.ceil(begun + window - now))
                raise KayakoError(429, "RATE_LIMIT_REACHED", "The rate limit for this action was reached",
                                  {"Retry-After": str(retry)})

    # ----- resources -----------------------------------------------------------------------------------------
    def renderer(self, request: Request) -> Renderer:
        options = {o.strip().lower() for o in request.headers.get("X-Options", "").split(",")}
        flat = request.args.get("_flat", "").lower() == "true" or "flat" in options
        no_empty = request.args.get("_empty", "").lower() == "false" or "no_empty" in options
        return Renderer(self.store, request.args.get("include"), flat, no_empty)

    def envelope(self, body: dict[str, Any], renderer: Renderer, status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
        if renderer.flat:
            body["resources"] = renderer.resources
        text = json.dumps(body, ensure_ascii=False).replace(BASE, self.base_url)
        return Response(text, status=status, headers=headers, content_type="application/json")

    def int_arg(self, request: Request, name: str, default: int | None) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise KayakoError(400, "PARAMETER_INVALID", f"{name} must be an integer") from None
        if value < 0:
            raise KayakoError(400, "PARAMETER_INVALID", f"{name} must not be negative")
        return value

    def resource_url(self, coll: str, rid: int, parent: int | None, parent_coll: str | None = None) -> str:
        if parent is not None:
            return f"{BASE}/api/v1/{parent_coll}/{parent}/{coll}/{rid}"
        return f"{BASE}/api/v1/{coll}/{rid}"

    def listing(self, request: Request, coll: str, rtype: str, parent: int | None, served: str | None = None,
                parent_coll: str | None = None) -> Response:
        knobs = self.knobs
        limit = min(self.int_arg(request, "limit", knobs.default_limit) or knobs.default_limit, knobs.max_limit)
        cursor = coll in knobs.cursor_resources
        total = self.store.count(rtype, parent)
        after_id = self.int_arg(request, "after_id", None) if cursor else None
        before_id = self.int_arg(request, "before_id", None) if cursor else None
        if after_id is not None:
            offset = self.store.position(rtype, parent, after_id)
        elif before_id is not None:
            end = self.store.position(rtype, parent, before_id - 1)
            offset = max(0, end - limit)
            limit = min(limit, end)
        else:
            offset = self.int_arg(request, "offset", 0) or 0
        rows = self.store.page(rtype, parent, offset, limit) if limit else []
        renderer = self.renderer(request)
        fields = FieldsSpec(request.args.get("fields"))
        data = [renderer.item(fields.apply({**row, "resource_url": self.resource_url(coll, row["id"], parent,
                                                                                    parent_coll)}))
                for row in rows]
        base_path = f"{BASE}{request.path}"
        keep = [(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "after_id", "before_id")]
        body: dict[str, Any] = {"status": 200, "data": data, "resource": served or rtype, "offset": offset,
                                "limit": limit,
                                "total_count": total}
        links = []
        if rows and offset + len(rows) < total:
            nxt = [("after_id", rows[-1]["id"])] if cursor else [("offset", offset + limit)]
            body["next_url"] = f"{base_path}?{urlencode(keep + nxt)}"
            links.append(f'<{body["next_url"]}>; rel="next"')
        if offset > 0:
            prev = [("before_id", rows[0]["id"])] if cursor and rows else [("offset", max(0, offset - limit))]
            body["previous_url"] = f"{base_path}?{urlencode(keep + prev)}"
            links.append(f'<{body["previous_url"]}>; rel="prev"')
        headers = {"Link": ", ".join(links).replace(BASE, self.base_url)} if links else None
        return self.envelope(body, renderer, headers=headers)

    def single(self, request: Request, coll: str, rtype: str, rid: int) -> Response:
        row = self.store.get(rtype, rid)
        if row is None:
            raise KayakoError(404, "RESOURCE_NOT_FOUND", "Resource can not be found")
        renderer = self.renderer(request)
        data = renderer.item(FieldsSpec(request.args.get("fields")).apply(
            {**row, "resource_url": self.resource_url(coll, rid, None)}))
        return self.envelope({"status": 200, "data": data, "resource": rtype}, renderer)

    def session_resource(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self.lock:
                self.sessions.pop(request.headers.get("X-Session-ID", ""), None)
            return json_response({"status": 200})
        renderer = self.renderer(request)
        session_id = request.environ.get("kayakoemu.session_id", "")
        user = next(iter(self.store.page("user", None, 0, 1)), None)  # the generator's first user: the owner
        data = {"id": session_id, "portal": "API", "ip_address": request.remote_addr, "user_agent":
                request.headers.get("User-Agent"), "instance_id": "1", "instance_name": "acme.kayako.com",
                "user": {"id": user["id"], "resource_type": "user"} if user else None, "status": "ONLINE",
                "resource_type": "session"}
        return self.envelope({"status": 200, "data": renderer.item(data), "resource": "session"}, renderer)

    def attachment(self, owner: str, attachment_id: int) -> Response:
        found = self.store.blob(attachment_id)
        if found is None or found[0] != owner:
            raise KayakoError(404, "RESOURCE_NOT_FOUND", "Resource can not be found")
        meta = self.store.get("attachment", attachment_id) or {}
        name = meta.get("name", f"attachment-{attachment_id}")
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
        return Response(found[2], content_type=found[1], headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})

    def media(self, token: str) -> Response:
        found = self.store.media(token)
        if found is None:
            return Response(b"", status=404)
        return Response(found[1], content_type=found[0])

    def classic_response(self, request: Request) -> Response:
        """Kayako Classic: no /api/v1 (an HTML 404), XML REST at /api/index.php?e=/... (signed; never accepted)."""
        if request.path.rstrip("/") in ("/api/index.php", "/staffapi/index.php") or request.path.startswith(
                "/api/index.php"):
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                   "<error>Access Denied: invalid API key or signature (Kayako Classic REST API; this emulator "
                   "does not serve Classic data)</error>\n")
            return Response(xml, status=401, content_type="text/xml; charset=UTF-8")
        html = "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
        return Response(html, status=404, content_type="text/html; charset=UTF-8")

    # ----- kit hooks -----------------------------------------------------------------------------------------
    def error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
        return json_response(error_body(status, code, message), status, headers, content_type="application/json")

    def fault_response(self, kind: str) -> Response:
        if kind == "429":
            return self.error(429, "RATE_LIMIT_REACHED", "The rate limit for this action was reached",
                              {"Retry-After": str(self.knobs.fault_retry_after_seconds)})
        return self.error(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable")

    def error_response(self, exc: Exception) -> Response | None:
        if isinstance(exc, KayakoError):
            return self.error(exc.status, exc.code, exc.message, exc.headers)
        return None

    def finish(self, request: Request, response: Response) -> None:
        if response.mimetype == "application/json":
            response.headers["X-API-Version"] = "1"

    def fault_dice(self) -> FaultDice:
        return self._dice

    def knobs_json(self) -> dict[str, Any]:
        return asdict(self.knobs)

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        knobs = merge_knobs(KayakoKnobs, data, None if replace else self.knobs)
        if knobs.expired_session_status not in (401, 454):
            raise ValueError("expired_session_status must be 401 or 454")
        if knobs.default_limit < 1 or knobs.max_limit < 1:
            raise ValueError("default_limit and max_limit must be >= 1")
        self.knobs = knobs
        self._dice = FaultDice(knobs.faults)

    # ----- admin ---------------------------------------------------------------------------------------------
    def admin_reset(self, request: Request) -> Response:
        self.store.clear()
        with self.lock:
            self.sessions.clear()
            self.windows.clear()
        self.knobs = KayakoKnobs()
        self._dice = FaultDice(self.knobs.faults)
        self.calls.clear(usage=True)
        return json_response({"reset": True})

    def admin_seed(self, request: Request) -> Response:
        try:
            body = read_json(request) or {}
            if not isinstance(body, dict):
                raise ValueError("a seed request is a JSON object")
            unknown = set(body) - {"cases", "seed", "huge_post_bytes", "huge_attachment_bytes"}
            if unknown:
                raise ValueError(f"unknown seed parameter(s): {sorted(unknown)}")
            plan = generate(self.store, int(body.get("cases", 20)), int(body.get("seed", 0)),
                            int(body.get("huge_post_bytes", 200_000)), admin_email=self.credentials["email"],
                            huge_attachment_bytes=int(body.get("huge_attachment_bytes", 0)))
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"plan": plan, "counts": self.store.counts()})

    def admin_touch(self, request: Request) -> Response:
        """{"case_ids": [...], "at": "<ISO-8601>"}: a new note on each case and its updated_at set (delta runs)."""
        try:
            body = read_json(request) or {}
            ids = [int(i) for i in body.get("case_ids", [])]
            touched = touch_cases(self.store, ids, str(body["at"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return json_response({"error": f"touch needs {{\"case_ids\": [...], \"at\": \"<ISO-8601>\"}}: {exc}"}, 400)
        return json_response({"touched": touched})

    def admin_counts(self, request: Request) -> Response:
        return json_response(self.store.counts())

    def admin_plan(self, request: Request) -> Response:
        return json_response(self.store.meta("plan", {}))

    def admin_credentials(self, request: Request) -> Response:
        return json_response(self.credentials)

    def admin_expire_sessions(self, request: Request) -> Response:
        with self.lock:
            dropped = len(self.sessions)
            self.sessions.clear()
        return json_response({"expired": dropped})
