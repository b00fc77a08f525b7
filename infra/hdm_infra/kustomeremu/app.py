"""The Kustomer REST v1 emulator (read side, as an extractor uses it) on the emulator kit.

See README.md for the endpoints, the behaviours and their sources, the knobs and what is not emulated.
"""

from __future__ import annotations

import copy
import json
import math
import random
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from hdm_infra.emulators.kit.app import EmulatorApp, json_response, read_json
from hdm_infra.emulators.kit.knobs import FaultDice, Faults, merge_knobs
from hdm_infra.emulators.kit.state import write_private

from .generator import SeedSpec, generate
from .search import Query, SearchError, resolve_context
from .store import COLLECTIONS, Store

ADMIN_TOKEN_HEADER = "X-Kustomer-Admin-Token"
KEYS_FILE = "api-keys.json"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # most lists (developer.kustomer.com pagination page)
LARGE_PAGE_SIZE = 500  # users, teams and search
LARGE_PAGE_COLLECTIONS = frozenset({"users", "teams"})

# read role per resource; the legacy spelling org.user.<x>.read is accepted too (api-keys-and-roles page)
RESOURCE_ROLES = {
    "customer": "org.permission.customer.read", "conversation": "org.permission.conversation.read",
    "message": "org.permission.message.read", "note": "org.permission.note.read",
    "attachment": "org.permission.message.read", "company": "org.permission.company.read",
    "user": "org.permission.user.read", "team": "org.permission.team.read", "tag": "org.permission.tag.read",
    "shortcut": "org.permission.shortcut.read", "sla": "org.permission.sla.read",
    "klass": "org.permission.klass.read", "kobject": "org.permission.kobject.read",
    "metadata": "org.permission.metadata.read", "workflow": "org.permission.workflow.read",
    "business-rule": "org.permission.business_rule.read",
}
ALL_ROLES = sorted(set(RESOURCE_ROLES.values()))


@dataclass
class Knobs:
    # org-wide requests per window, all keys together (Enterprise 1,000/min; Ultimate 2,000; Business 500;
    # Professional 300) and the separate search limit for API keys (100/min)
    rate_limit_per_minute: int = 1000
    search_rate_limit_per_minute: int = 100
    window_seconds: float = 60.0
    search_max_pages: int = 100  # page N+1 of a search is refused
    missing_role_status: int = 403  # the errors page lists 401 for "missing role"; see README
    oversize_page: str = "clamp"  # pageSize above the maximum: "clamp" to it or "error" (400)
    tie_order: str = "id"  # search results equal on every sort key: "id" (ascending) or "shuffle" (seeded)
    # records updated during extraction: after every N API calls, touch `touch_count` records of `touch_types`
    touch_every_calls: int = 0
    touch_count: int = 1
    touch_types: list[str] = field(default_factory=lambda: ["customer", "conversation"])
    touch_seed: int = 0
    faults: Faults = field(default_factory=Faults, metadata={"knob_label": "fault knob"})

    def check(self) -> Knobs:
        if self.rate_limit_per_minute < 1 or self.search_rate_limit_per_minute < 1 or self.window_seconds <= 0:
            raise ValueError("rate limits must be >= 1 and window_seconds > 0")
        if self.search_max_pages < 1:
            raise ValueError("search_max_pages must be >= 1")
        if self.missing_role_status not in (401, 403):
            raise ValueError("missing_role_status is 401 or 403")
        if self.oversize_page not in ("clamp", "error"):
            raise ValueError("oversize_page is 'clamp' or 'error'")
        if self.tie_order not in ("id", "shuffle"):
            raise ValueError("tie_order is 'id' or 'shuffle'")
        if self.touch_every_calls < 0 or self.touch_count < 0:
            raise ValueError("touch_every_calls and touch_count must be >= 0")
        if set(self.touch_types) - {"customer", "conversation", "message", "note", "company", "kobject"}:
            raise ValueError("touch_types are among customer, conversation, message, note, company, kobject")
        return self


class ApiError(Exception):
    """An error answered in Kustomer's JSON:API error shape."""

    def __init__(self, status: int, title: str, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.code = code or title.lower().replace(" ", "_")

    def response(self) -> Response:
        return json_response({"errors": [{"status": self.status, "code": self.code, "title": self.title,
                                          "detail": self.detail}]}, self.status)


class RateWindow:
    """One fixed window of ``seconds``: the org-wide count and the search count in it."""

    def __init__(self) -> None:
        self.start = 0.0
        self.used = 0
        self.searches = 0

    def roll(self, now: float, seconds: float) -> None:
        if now >= self.start + seconds:
            self.start, self.used, self.searches = now, 0, 0


class KustomerEmulator(EmulatorApp):
    admin_token_header = ADMIN_TOKEN_HEADER

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.store = Store(self.state_dir)
        self.lock = threading.RLock()
        self.knobs = Knobs()
        self._dice = FaultDice(self.knobs.faults)
        self.window = RateWindow()
        self.api_calls = 0
        self.touch_rng = random.Random(0)
        self._fields_cache: dict[str, tuple[int, set[str]]] = {}
        self.keys_path = self.state_dir / KEYS_FILE
        self.keys: list[dict[str, Any]] = self._load_keys()
        self.routes = Map([
            Rule("/v1/users/current", methods=["GET"], endpoint="users_current"),
            Rule("/v1/auth/tokens/current", methods=["GET"], endpoint="token_current"),
            Rule("/v1/customers/search", methods=["POST"], endpoint="search"),
            Rule("/v1/customers/<id>/conversations", methods=["GET"], endpoint="customer_conversations"),
            Rule("/v1/customers/<id>/messages", methods=["GET"], endpoint="customer_messages"),
            Rule("/v1/customers/<id>/notes", methods=["GET"], endpoint="customer_notes"),
            Rule("/v1/customers/<id>/klasses/<name>", methods=["GET"], endpoint="customer_kobjects"),
            Rule("/v1/conversations/<id>/messages", methods=["GET"], endpoint="conversation_messages"),
            Rule("/v1/conversations/<id>/notes", methods=["GET"], endpoint="conversation_notes"),
            Rule("/v1/conversations/<id>/attachments", methods=["GET"], endpoint="conversation_attachments"),
            Rule("/v1/attachments/<id>/download", methods=["GET"], endpoint="attachment_download"),
            Rule("/v1/klasses", methods=["GET"], endpoint="klasses"),
            Rule("/v1/klasses/<name>", methods=["GET"], endpoint="kobjects"),
            Rule("/v1/klasses/<name>/<id>", methods=["GET"], endpoint="kobject"),
            Rule("/v1/metadata/<resource>", methods=["GET"], endpoint="metadata"),
            Rule("/v1/<collection>", methods=["GET"], endpoint="collection"),
            Rule("/v1/<collection>/<id>", methods=["GET"], endpoint="one"),
        ], strict_slashes=False)
        self.collections = {"customers": "customer", "conversations": "conversation", "messages": "message",
                            "notes": "note", "attachments": "attachment", "companies": "company", "users": "user",
                            "teams": "team", "tags": "tag", "shortcuts": "shortcut", "slas": "sla",
                            "workflows": "workflow", "business-rules": "business-rule"}
        for name, methods, handler in (("reset", ["POST"], self.admin_reset), ("seed", ["POST"], self.admin_seed),
                                       ("counts", ["GET"], self.admin_counts),
                                       ("keys", ["GET", "POST"], self.admin_keys),
                                       ("ratelimit", ["GET", "DELETE"], self.admin_ratelimit),
                                       ("touch", ["POST"], self.admin_touch),
                                       ("records", ["POST"], self.admin_records)):
            self.admin.route(name, methods)(handler)

    # ----- keys -------------------------------------------------------------------------------------------------
    def _load_keys(self) -> list[dict[str, Any]]:
        if self.keys_path.exists():
            return json.loads(self.keys_path.read_text(encoding="utf-8"))["keys"]
        keys = [self._new_key("full", ALL_ROLES)]
        write_private(self.keys_path, json.dumps({"keys": keys}, indent=1))
        return keys

    @staticmethod
    def _new_key(name: str, roles: list[str]) -> dict[str, Any]:
        return {"name": name, "token": f"kemu.{secrets.token_urlsafe(32)}", "roles": sorted(set(roles)),
                "id": secrets.token_hex(12)}

    def _authenticate(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Unauthorized", "missing bearer token (Authorization: Bearer <API key>)")
        for key in self.keys:
            if secrets.compare_digest(key["token"].encode(), token.strip().encode()):
                return key
        raise ApiError(401, "Unauthorized", "invalid or expired API key")

    def _require(self, key: dict[str, Any], role: str | None) -> None:
        if role is None:
            return
        legacy = role.replace("org.permission.", "org.user.")
        if role not in key["roles"] and legacy not in key["roles"]:
            status = self.knobs.missing_role_status
            raise ApiError(status, "Forbidden" if status == 403 else "Unauthorized",
                           f"this API key lacks the role {role}", code="missing_role")

    # ----- request flow -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            endpoint, args = self.routes.bind("127.0.0.1").match(request.path, method=request.method)
        except HTTPException as exc:
            return ApiError(exc.code or 404, "Not Found" if exc.code == 404 else (exc.name or "Error"),
                            f"{request.method} {request.path} is not an endpoint of this API").response()
        family = self._family(endpoint, args, request)
        return self.call(family, lambda: self._serve(request, endpoint, args))

    def _family(self, endpoint: str, args: dict[str, Any], request: Request) -> str:
        if endpoint == "search":
            try:
                body = read_json(request)
                ctx = body.get("queryContext") if isinstance(body, dict) else None
            except ValueError:
                ctx = None
            try:  # one family per real context: a client cannot grow the counters with made-up names
                resolve_context(ctx, {k["attributes"]["name"] for k in self.store.all("klass")})
            except SearchError:
                return "search_invalid"
            return f"search_{ctx}"
        if endpoint in ("collection", "one"):
            return f"{'list' if endpoint == 'collection' else 'get'}_{args['collection']}"
        return endpoint

    def _serve(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        try:
            key = self._authenticate(request)
            search = endpoint == "search"
            self._charge(request, search)
            response = getattr(self, f"ep_{endpoint}")(request, key, **args)
        except ApiError as exc:
            response = exc.response()
        self._after_call()
        return response

    def _charge(self, request: Request, search: bool) -> None:
        """Count one request against the org-wide window (and the search window); 429 when either is spent."""
        k = self.knobs
        with self.lock:
            now = time.time()
            self.window.roll(now, k.window_seconds)
            over = self.window.used >= k.rate_limit_per_minute or (
                search and self.window.searches >= k.search_rate_limit_per_minute)
            if not over:
                self.window.used += 1
                if search:
                    self.window.searches += 1
            request.environ["kustomeremu.search"] = search
        if over:
            raise ApiError(429, "Too Many Requests", "rate limit exceeded; retry after x-ratelimit-reset",
                           code="rate_limit_exceeded")

    def _after_call(self) -> None:
        k = self.knobs
        with self.lock:
            self.api_calls += 1
            due = k.touch_every_calls and self.api_calls % k.touch_every_calls == 0
        if due:
            self.touch_random(k.touch_count, k.touch_types)

    def touch_random(self, count: int, types: list[str]) -> list[dict[str, Any]]:
        """Update ``count`` records of ``types`` now (seeded choice): a change made while an extractor reads."""
        touched = []
        with self.lock:
            for _ in range(count):
                pool = [t for t in types if self.store.all(t)]
                if not pool:
                    break
                type_ = self.touch_rng.choice(sorted(pool))
                ids = sorted(d["id"] for d in self.store.all(type_))
                doc = self.store.touch(type_, self.touch_rng.choice(ids))
                if doc is not None:
                    touched.append(doc)
        return touched

    def rate_headers(self, search: bool) -> dict[str, str]:
        k = self.knobs
        with self.lock:
            self.window.roll(time.time(), k.window_seconds)
            limit, used = k.rate_limit_per_minute, self.window.used
            if search and k.search_rate_limit_per_minute - self.window.searches <= limit - used:
                limit, used = k.search_rate_limit_per_minute, self.window.searches  # the binding one for a search
            reset = math.ceil(self.window.start + k.window_seconds) if self.window.start else math.ceil(
                time.time() + k.window_seconds)
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(0, limit - used)),
                "x-ratelimit-reset": str(reset)}

    def finish(self, request: Request, response: Response) -> None:
        search = bool(request.environ.get("kustomeremu.search")) or request.path.rstrip("/").endswith(
            "/customers/search")
        for name, value in self.rate_headers(search).items():
            response.headers[name] = value

    def fault_response(self, kind: str) -> Response:
        if kind == "429":
            return ApiError(429, "Too Many Requests", "rate limit exceeded; retry after x-ratelimit-reset",
                            code="rate_limit_exceeded").response()
        return ApiError(503, "Service Unavailable", "the service is temporarily unavailable").response()

    def error_response(self, exc: Exception) -> Response | None:
        if isinstance(exc, ApiError):
            return exc.response()
        return None

    # ----- envelope ---------------------------------------------------------------------------------------------
    def klass_names(self) -> dict[str, str]:
        """klass id -> name."""
        return {k["id"]: k["attributes"]["name"] for k in self.store.all("klass")}

    def resource(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored record as the API shows it: with its ``links``."""
        type_, id_ = doc["type"], doc["id"]
        if type_ == "kobject":
            name = self.klass_names().get(doc["relationships"]["klass"]["data"]["id"], "unknown")
            links = {"self": f"/v1/klasses/{name}/{id_}"}
        elif type_ == "metadata":
            links = {"self": f"/v1/metadata/{id_}"}
        elif type_ == "klass":
            links = {"self": f"/v1/klasses/{doc['attributes']['name']}"}
        elif type_ == "sla-version":
            links = {"self": f"/v1/slas/{doc['relationships']['sla']['data']['id']}/versions/{id_}"}
        else:
            collection = next(c for c, t in self.collections.items() if t == type_)
            links = {"self": f"/v1/{collection}/{id_}"}
            if type_ == "attachment":
                links["related"] = f"{self.base_url}/v1/attachments/{id_}/download"
        return {**doc, "links": links}

    def page_params(self, request: Request, maximum: int) -> tuple[int, int]:
        try:
            page = int(request.args.get("page", 1))
            size = int(request.args.get("pageSize", DEFAULT_PAGE_SIZE))
        except ValueError as exc:
            raise ApiError(400, "Bad Request", "page and pageSize are integers") from exc
        if page < 1 or size < 1:
            raise ApiError(400, "Bad Request", "page and pageSize start at 1")
        if size > maximum:
            if self.knobs.oversize_page == "error":
                raise ApiError(400, "Bad Request", f"pageSize is at most {maximum} here")
            size = maximum
        return page, size

    def page_of(self, request: Request, docs: list[dict[str, Any]], maximum: int = MAX_PAGE_SIZE,
                page_cap: int | None = None, extra: dict[str, Any] | None = None) -> Response:
        page, size = self.page_params(request, maximum)
        if page_cap is not None and page > page_cap:
            raise ApiError(400, "Bad Request", f"search results are limited to {page_cap} pages of pageSize; "
                           f"narrow the query (e.g. a range on <context>_updated_at) to read further",
                           code="search_page_limit")
        total = len(docs)
        chunk = docs[(page - 1) * size: page * size]
        pages = max(1, math.ceil(total / size))

        def link(p: int) -> str:
            params = {k: v for k, v in request.args.items() if k not in ("page", "pageSize")}
            return f"{request.path.rstrip('/')}?{urlencode({'page': p, 'pageSize': size, **params})}"

        body = {"data": [self.resource(d) for d in chunk],
                "meta": {"page": page, "pageSize": size, "total": total, "totalPages": pages},
                "links": {"self": link(page), "first": link(1), "prev": link(page - 1) if page > 1 else None,
                          "next": link(page + 1) if page * size < total else None}}
        if extra:
            body.update(extra)
        return json_response(body)

    def one_of(self, doc: dict[str, Any] | None, what: str) -> Response:
        if doc is None:
            raise ApiError(404, "Not Found", f"{what} not found")
        return json_response({"data": self.resource(doc)})

    @staticmethod
    def by_id(docs: list[dict[str, Any]], request: Request | None = None) -> list[dict[str, Any]]:
        desc = request is not None and request.args.get("sort", "").lower() == "desc"
        return sorted(docs, key=lambda d: d["id"], reverse=desc)

    @staticmethod
    def rel_id(doc: dict[str, Any], rel: str) -> str | None:
        data = (doc.get("relationships", {}).get(rel) or {}).get("data")
        return data.get("id") if isinstance(data, dict) else None

    # ----- endpoints --------------------------------------------------------------------------------------------
    def ep_users_current(self, request: Request, key: dict[str, Any]) -> Response:
        machine = next((u for u in self.store.all("user") if u["attributes"].get("userType") == "machine"), None)
        if machine is None:  # an empty org still has the key's machine user
            machine = {"type": "user", "id": key["id"], "attributes": {"name": key["name"], "userType": "machine",
                                                                        "roles": key["roles"]}, "relationships": {}}
        doc = copy.deepcopy(machine)
        doc["attributes"]["roles"] = key["roles"]
        return json_response({"data": self.resource(doc)})

    def ep_token_current(self, request: Request, key: dict[str, Any]) -> Response:
        return json_response({"data": {"type": "token", "id": key["id"], "attributes": {
            "name": key["name"], "roles": key["roles"], "expiresAt": None, "cidr": None}}})

    def ep_collection(self, request: Request, key: dict[str, Any], collection: str) -> Response:
        type_ = self.collections.get(collection)
        if type_ is None:
            raise ApiError(404, "Not Found", f"GET /v1/{collection} is not an endpoint of this API")
        self._require(key, RESOURCE_ROLES[type_])
        docs = self.by_id(self.store.all(type_), request)
        extra = None
        if type_ == "sla" and request.args.get("versions") == "all":
            ids = {d["id"] for d in docs}
            extra = {"included": [self.resource(v) for v in self.by_id(self.store.all("sla-version"))
                                  if self.rel_id(v, "sla") in ids]}
        maximum = LARGE_PAGE_SIZE if collection in LARGE_PAGE_COLLECTIONS else MAX_PAGE_SIZE
        return self.page_of(request, docs, maximum, extra=extra)

    def ep_one(self, request: Request, key: dict[str, Any], collection: str, id: str) -> Response:
        type_ = self.collections.get(collection)
        if type_ is None:
            raise ApiError(404, "Not Found", f"GET /v1/{collection}/{id} is not an endpoint of this API")
        self._require(key, RESOURCE_ROLES[type_])
        return self.one_of(self.store.get(type_, id), f"{type_} {id}")

    def _children(self, request: Request, key: dict[str, Any], parent_type: str, parent_id: str,
                  child_type: str) -> Response:
        self._require(key, RESOURCE_ROLES[parent_type])
        self._require(key, RESOURCE_ROLES[child_type])
        if self.store.get(parent_type, parent_id) is None:
            raise ApiError(404, "Not Found", f"{parent_type} {parent_id} not found")
        docs = [d for d in self.store.all(child_type) if self.rel_id(d, parent_type) == parent_id]
        return self.page_of(request, self.by_id(docs, request))

    def ep_customer_conversations(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "customer", id, "conversation")

    def ep_customer_messages(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "customer", id, "message")

    def ep_customer_notes(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "customer", id, "note")

    def ep_conversation_messages(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "conversation", id, "message")

    def ep_conversation_notes(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "conversation", id, "note")

    def ep_conversation_attachments(self, request: Request, key: dict[str, Any], id: str) -> Response:
        return self._children(request, key, "conversation", id, "attachment")

    def ep_attachment_download(self, request: Request, key: dict[str, Any], id: str) -> Response:
        self._require(key, RESOURCE_ROLES["attachment"])
        doc = self.store.get("attachment", id)
        data = self.store.blob(id) if doc is not None else None
        if doc is None or data is None:
            raise ApiError(404, "Not Found", f"attachment {id} not found")
        return Response(data, status=200, content_type=doc["attributes"]["contentType"],
                        headers={"Content-Disposition": f'attachment; filename="{doc["attributes"]["name"]}"'})

    def ep_klasses(self, request: Request, key: dict[str, Any]) -> Response:
        self._require(key, RESOURCE_ROLES["klass"])
        return self.page_of(request, self.by_id(self.store.all("klass"), request))

    def _klass(self, name: str) -> dict[str, Any]:
        klass = next((k for k in self.store.all("klass") if k["attributes"]["name"] == name), None)
        if klass is None:
            raise ApiError(404, "Not Found", f"klass {name} not found")
        return klass

    def ep_kobjects(self, request: Request, key: dict[str, Any], name: str) -> Response:
        self._require(key, RESOURCE_ROLES["kobject"])
        klass = self._klass(name)
        docs = [d for d in self.store.all("kobject") if self.rel_id(d, "klass") == klass["id"]]
        return self.page_of(request, self.by_id(docs, request))

    def ep_kobject(self, request: Request, key: dict[str, Any], name: str, id: str) -> Response:
        self._require(key, RESOURCE_ROLES["kobject"])
        klass = self._klass(name)
        if id.startswith("externalId="):
            external = id.removeprefix("externalId=")
            doc = next((d for d in self.store.all("kobject") if self.rel_id(d, "klass") == klass["id"]
                        and d["attributes"].get("externalId") == external), None)
        else:
            doc = self.store.get("kobject", id)
            doc = doc if doc is not None and self.rel_id(doc, "klass") == klass["id"] else None
        return self.one_of(doc, f"{name} {id}")

    def ep_customer_kobjects(self, request: Request, key: dict[str, Any], id: str, name: str) -> Response:
        self._require(key, RESOURCE_ROLES["customer"])
        self._require(key, RESOURCE_ROLES["kobject"])
        klass = self._klass(name)
        if self.store.get("customer", id) is None:
            raise ApiError(404, "Not Found", f"customer {id} not found")
        docs = [d for d in self.store.all("kobject")
                if self.rel_id(d, "klass") == klass["id"] and self.rel_id(d, "customer") == id]
        return self.page_of(request, self.by_id(docs, request))

    def ep_metadata(self, request: Request, key: dict[str, Any], resource: str) -> Response:
        self._require(key, RESOURCE_ROLES["metadata"])
        if resource.startswith("kobject."):
            klass = self._klass(resource.removeprefix("kobject."))
            return json_response({"data": {"type": "metadata", "id": resource, "attributes": {
                "properties": klass["attributes"]["metadata"]["properties"]}, "links": {
                "self": f"/v1/metadata/{resource}"}}})
        return self.one_of(self.store.get("metadata", resource), f"metadata for {resource}")

    def _known_fields(self, type_: str) -> set[str]:
        """Attribute names (and ``rel:<name>`` relationships) the records of ``type_`` have; cached per store write."""
        with self.lock:
            cached = self._fields_cache.get(type_)
            if cached is not None and cached[0] == self.store.version:
                return cached[1]
        fields: set[str] = set()
        version = self.store.version
        for doc in self.store.all(type_):
            fields.update(doc["attributes"])
            fields.update(f"rel:{r}" for r in doc.get("relationships", {}))
        with self.lock:
            self._fields_cache[type_] = (version, fields)
        return fields

    def ep_search(self, request: Request, key: dict[str, Any]) -> Response:
        try:
            body = read_json(request)
        except ValueError as exc:
            raise ApiError(400, "Bad Request", "the search body is not JSON") from exc
        klasses = {k["attributes"]["name"] for k in self.store.all("klass")}
        try:
            type_, _ = resolve_context(body.get("queryContext") if isinstance(body, dict) else None, klasses)
            self._require(key, RESOURCE_ROLES[type_])  # the role first, as for any other route
            query = Query(body, klasses, self._known_fields)
        except SearchError as exc:
            raise ApiError(400, "Bad Request", str(exc), code="invalid_search") from exc
        if query.klass is not None:
            klass_id = next(k["id"] for k in self.store.all("klass") if k["attributes"]["name"] == query.klass)
            query.klass = klass_id
        docs = [d for d in self.store.all(query.type) if query.matches(d)]
        if self.knobs.tie_order == "shuffle":
            random.Random(f"{self.knobs.touch_seed}:{json.dumps(body, sort_keys=True)}").shuffle(docs)
            docs = query.order(docs, tie_by_id=False)
        else:
            docs = query.order(docs)
        return self.page_of(request, docs, LARGE_PAGE_SIZE, page_cap=self.knobs.search_max_pages)

    # ----- knobs ------------------------------------------------------------------------------------------------
    def knobs_json(self) -> dict[str, Any]:
        return asdict(self.knobs)

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        knobs = merge_knobs(Knobs, data, None if replace else self.knobs).check()
        with self.lock:
            if knobs.touch_seed != self.knobs.touch_seed or replace:
                self.touch_rng = random.Random(knobs.touch_seed)
            self.knobs = knobs
            self._dice = FaultDice(knobs.faults)

    # ----- admin ------------------------------------------------------------------------------------------------
    def admin_reset(self, request: Request) -> Response:
        body = read_json(request) or {}
        self.store.clear()
        with self.lock:
            self.window = RateWindow()
            self.api_calls = 0
            self.touch_rng = random.Random(self.knobs.touch_seed)
        if body.get("knobs") is not None:
            self.set_knobs_json(body["knobs"], replace=True)
        else:
            self.set_knobs_json({}, replace=True)
        self.calls.clear(usage=True)
        return json_response({"reset": True, "counts": self.store.counts()})

    def seed(self, spec: SeedSpec, clear: bool = True) -> dict[str, Any]:
        docs, blobs, latest, burst = generate(spec)
        if clear:
            self.store.clear()
        self.store.put_many(docs, blobs)
        self.store.note_time(latest)
        resolved = spec.resolved()
        return {"seeded": {"customers": resolved.customers, "seed": resolved.seed, "burst": burst,
                           "orphans": resolved.orphans}, "counts": self.store.counts()}

    def admin_seed(self, request: Request) -> Response:
        body = read_json(request) or {}
        try:
            spec = SeedSpec(customers=int(body.get("customers", 50)), seed=int(body.get("seed", 1)),
                            burst=None if body.get("burst") is None else int(body["burst"]),
                            orphans=None if body.get("orphans") is None else int(body["orphans"]))
            return json_response(self.seed(spec, clear=bool(body.get("clear", True))))
        except (TypeError, ValueError) as exc:
            return json_response({"error": f"bad seed request: {exc}"}, 400)

    def admin_counts(self, request: Request) -> Response:
        snap = self.calls.snapshot()
        searches = sum(n for fam, n in snap["families"].items() if fam.startswith("search_"))
        return json_response({"records": self.store.counts(), "calls": {
            "total": snap["total"], "searches": searches, "other": snap["total"] - searches,
            "families": snap["families"]}})

    def admin_keys(self, request: Request) -> Response:
        if request.method == "POST":
            body = read_json(request) or {}
            roles = body.get("roles", ALL_ROLES)
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                return json_response({"error": "roles is a list of role names"}, 400)
            key = self._new_key(str(body.get("name") or f"key-{len(self.keys) + 1}"), roles)
            with self.lock:
                self.keys.append(key)
                write_private(self.keys_path, json.dumps({"keys": self.keys}, indent=1))
            return json_response(key, 201)
        return json_response({"keys": self.keys, "all_roles": ALL_ROLES})

    def admin_ratelimit(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self.lock:
                self.window = RateWindow()
        with self.lock:
            window = {"start": self.window.start, "used": self.window.used, "searches": self.window.searches}
        return json_response({"window": window, "rate_limit_per_minute": self.knobs.rate_limit_per_minute,
                              "search_rate_limit_per_minute": self.knobs.search_rate_limit_per_minute})

    def admin_records(self, request: Request) -> Response:
        """Insert or replace raw documents as given (odd and hostile values included: a test writes what real data
        may hold). Each needs ``type`` (a known resource type) and ``id``; ``relationships`` defaults to none."""
        body = read_json(request) or {}
        docs = body.get("records")
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            return json_response({"error": "records is a list of {type, id, attributes, relationships}"}, 400)
        for doc in docs:
            if doc.get("type") not in COLLECTIONS or not isinstance(doc.get("id"), str) or not doc["id"]:
                return json_response({"error": f"a record needs a known type and an id: {str(doc)[:120]}"}, 400)
            doc.setdefault("attributes", {})
            doc.setdefault("relationships", {})
        self.store.put_many(docs)
        return json_response({"put": len(docs), "counts": self.store.counts()})

    def admin_touch(self, request: Request) -> Response:
        body = read_json(request) or {}
        type_ = body.get("type", "customer")
        if body.get("ids"):
            touched = [d for d in (self.store.touch(type_, i) for i in body["ids"]) if d is not None]
        else:
            touched = self.touch_random(int(body.get("count", 1)), [type_])
        return json_response({"touched": [{"type": d["type"], "id": d["id"],
                                           "updatedAt": d["attributes"]["updatedAt"]} for d in touched]})

