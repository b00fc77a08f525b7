"""The HTTP surface of the emulator: a WSGI application over one `Org`.

Families counted per call (admin calls are not counted): oauth, versions, limits, describe_global,
describe, sobject, collections, query, tooling, bulk2_ingest_create, bulk2_ingest_upload,
bulk2_ingest_close, bulk2_ingest_poll, bulk2_ingest_results, bulk2_ingest_delete, bulk2_query_create,
bulk2_query_poll, bulk2_query_results, bulk2_query_delete.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from hdm_infra.emulators.kit.app import EmulatorApp, json_response
from hdm_infra.emulators.kit.knobs import FaultDice
from hdm_infra.emulators.kit.state import ADMIN_TOKEN_FILE, private_state_dir, write_private

from . import knowledge
from .bulk2 import Bulk2
from .custom_fields import MetadataError, describe_entry
from .knobs import Knobs
from .org import Org, RowResult, WriteOptions
from .schema import NO_CUSTOM_FIELDS
from .soql import Query, SoqlError, compile_query
from .values import json_mismatch, to_output

API_VERSIONS = [f"{v}.0" for v in range(31, 63)]
ORG_ID = "00D5g000000HdmEAAS"
ADMIN_TOKEN_HEADER = "X-Sfemu-Admin-Token"
_DATA = re.compile(r"^/services/data/v(?P<ver>\d+\.\d)(?P<rest>/.*)?$")

__all__ = ["ADMIN_TOKEN_FILE", "ADMIN_TOKEN_HEADER", "API_VERSIONS", "ORG_ID", "ApiError", "Emulator",
           "json_response", "private_state_dir", "write_private"]


class ApiError(Exception):
    """A top-level REST error: HTTP status plus [{"message","errorCode","fields"}]."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = [{"message": message, "errorCode": code, **({"fields": fields} if fields is not None else {})}]


def _position(text: str, key: str, value: Any, nth: int) -> tuple[int, int]:
    """(line, column) just past the ``nth`` occurrence of ``"key": value`` in a JSON body (1-based, the way the
    org's JSON reader reports where it stopped); (1, 1) when it cannot be found."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:\s*" + re.escape(json.dumps(value)))
    hits = list(pattern.finditer(text))
    if not hits:
        return 1, 1
    end = hits[min(nth, len(hits) - 1)].end()
    line = text.count("\n", 0, end) + 1
    return line, end - (text.rfind("\n", 0, end) + 1) + 1


class Emulator(EmulatorApp):
    """WSGI app: routes, auth and limits around the Org; counters, faults, admin API and state from the kit."""

    admin_token_header = ADMIN_TOKEN_HEADER
    uncounted_families = frozenset({"oauth"})  # logins are counted per family but not charged to the daily usage

    def __init__(self, state_dir: Path) -> None:
        state_dir = private_state_dir(state_dir)
        self.org = Org(state_dir)
        super().__init__(state_dir)
        self.credentials = self._load_credentials()
        self.sessions: set[str] = set(json.loads(self.org._kv("sessions") or "[]")) | {
            self.credentials["access_token"]}
        self.cursors: dict[str, tuple[Query, int, int, str]] = {}
        self.bulk = Bulk2(self)
        self.limits_template = json.loads(
            resources.files("hdm_infra.sfemu").joinpath("data/limits.developer-edition.json").read_text("utf-8"))
        for name, methods, handler in (
                ("reset", ["POST"], self.admin_reset), ("seed", ["POST"], self.admin_seed),
                ("counts", None, self.admin_counts), ("usage", ["POST", "PUT"], self.admin_usage),
                ("sessions", ["DELETE"], self.admin_sessions), ("credentials", None, self.admin_credentials)):
            self.admin.route(name, methods)(handler)

    # ----- credentials, ledger --------------------------------------------------------------------------
    def _load_credentials(self) -> dict[str, str]:
        path = self.state_dir / "credentials.json"
        if path.exists():
            return json.loads(path.read_text())
        creds = {
            "username": "migration.user@hdm.example", "password": secrets.token_urlsafe(12),
            "security_token": secrets.token_urlsafe(8), "consumer_key": "hdm-" + secrets.token_hex(8),
            "consumer_secret": secrets.token_urlsafe(16), "access_token": ORG_ID[:15] + "!" + secrets.token_urlsafe(24),
        }
        write_private(path, json.dumps(creds, indent=2))
        return creds

    def load_counters(self) -> tuple[dict[str, int], int]:
        return json.loads(self.org._kv("counters") or "{}"), int(self.org._kv("api_used") or 0)

    def save_counters(self, families: dict[str, int], api_used: int) -> None:
        with self.org.lock:
            self.org.set_kv("counters", json.dumps(families))
            self.org.set_kv("api_used", str(api_used))

    @property
    def api_used(self) -> int:
        return self.calls.api_used

    def count(self, family: str) -> None:
        self.calls.count(family)

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.org.knobs.daily_api_max}"}

    # ----- kit hooks -----------------------------------------------------------------------------------
    def fault_dice(self) -> FaultDice:
        return self.org.dice

    def fault_response(self, kind: str) -> Response:
        if kind == "503":
            raise ApiError(503, "SERVER_UNAVAILABLE", "Server too busy")
        raise ApiError(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests, please retry later")

    def error_response(self, exc: Exception) -> Response | None:
        return json_response(exc.body, exc.status) if isinstance(exc, ApiError) else None

    def finish(self, request: Request, response: Response) -> None:
        response.headers.update(self.limit_header())

    def knobs_json(self) -> dict[str, Any]:
        return self.org.knobs.to_json()

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        self.org.set_knobs(Knobs.from_json(data, None if replace else self.org.knobs))

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path.endswith("/services/oauth2/token"):
            self.count("oauth")
            return self.oauth_token(request)
        soap = re.search(r"/services/Soap/u/(\d+\.\d)$", path)
        if soap and request.method == "POST":
            self.count("oauth")
            return self.soap_login(request, soap.group(1))
        if path == "/services/data":
            return self.guarded(request, "versions", lambda: json_response(self.versions()))
        m = _DATA.match(path)
        if not m:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = m.group("ver"), (m.group("rest") or "")
        if version not in API_VERSIONS:
            raise ApiError(404, "NOT_FOUND", f"API version {version} is not supported")
        family, handler = self.route(request, version, rest)
        return self.guarded(request, family, handler)

    def guarded(self, request: Request, family: str, handler: Any) -> Response:
        """Authenticate, refuse past the daily allocation, then count (and maybe fault) through the kit."""
        self.authenticate(request)
        if self.api_used >= self.org.knobs.daily_api_max:
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", f"TotalRequests Limit exceeded. Used {self.api_used} of "
                           f"{self.org.knobs.daily_api_max}.")
        return self.call(family, handler)

    def authenticate(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        if token not in self.sessions:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    # ----- routing ------------------------------------------------------------------------------------
    def route(self, request: Request, version: str, rest: str) -> tuple[str, Any]:
        parts = [p for p in rest.split("/") if p]
        if not parts:
            return "versions", lambda: json_response(self.resources(version))
        head = parts[0]
        if head == "limits":
            if len(parts) == 2 and parts[1] == "recordCount":
                return "limits", lambda: self.record_count(request)
            return "limits", lambda: json_response(self.limits())
        if head == "sobjects":
            if len(parts) == 1:
                return "describe_global", lambda: json_response(self.describe_global(version))
            return self.route_sobject(request, version, parts[1:])
        if head in ("query", "queryAll"):
            if len(parts) == 2:
                return "query", lambda: json_response(self.query_more(parts[1], version))
            return "query", lambda: json_response(self.query(request.args.get("q", ""), version, head == "queryAll"))
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            return "collections", lambda: self.collections(request, version, parts[2:])
        if head == "tooling":
            return "tooling", lambda: self.tooling(request, version, parts[1:])
        if head == "jobs" and len(parts) >= 2:
            return self.bulk.route(request, version, parts[1:])
        if head == "actions" and len(parts) == 3 and parts[1] == "standard" and request.method == "POST":
            return "actions", lambda: self.standard_action(request, parts[2])
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def object_meta(self, name: str):  # noqa: ANN201 - ObjectMeta
        meta = self.org.schema.get(name)
        if meta is None or not knowledge.enabled(self.org, meta.name):
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}' is not "
                           "supported.")
        return meta

    def route_sobject(self, request: Request, version: str, parts: list[str]) -> tuple[str, Any]:
        meta = self.object_meta(parts[0])
        method = request.method
        if len(parts) == 1:
            if method == "POST":
                return "sobject", lambda: self.create(request, meta, version)
            return "sobject", lambda: json_response({"objectDescribe": self.org.schema.global_describe_entry(meta),
                                                     "recentItems": []})
        if len(parts) == 2 and parts[1] == "describe":
            return "describe", lambda: json_response(self.org.schema.describe(meta.name, version))
        if len(parts) == 2:
            record_id = parts[1]
            if method == "GET":
                return "sobject", lambda: self.get_record(request, meta, record_id, version)
            if method == "PATCH":
                return "sobject", lambda: self.update_record(request, meta, record_id)
            if method == "DELETE":
                return "sobject", lambda: self.delete_record(meta, record_id)
            if method == "POST" and record_id.lower() == "id":
                return "sobject", lambda: self.create(request, meta, version)
        if len(parts) == 3:
            f = meta.field(parts[1])
            if f is not None and f.type == "base64" and request.method == "GET":
                return "sobject", lambda: self.blob(meta, parts[1], f.name, parts[2])
            if f is not None and request.method == "GET" and f.type != "base64":
                return "sobject", lambda: self.get_by_external(request, meta, parts[1], parts[2], version)
            if f is not None and request.method == "PATCH":
                return "sobject", lambda: self.upsert_record(request, meta, parts[1], parts[2], version)
            if f is not None and request.method == "DELETE":
                return "sobject", lambda: self.delete_by_external(meta, parts[1], parts[2])
            blob = meta.field(parts[2])
            if blob is not None and blob.type == "base64":
                return "sobject", lambda: self.blob(meta, parts[1], blob.name, None)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    # ----- auth endpoints -----------------------------------------------------------------------------
    def _issue_token(self) -> str:
        token = ORG_ID[:15] + "!" + secrets.token_urlsafe(24)
        self.sessions.add(token)
        with self.org.lock:
            self.org.set_kv("sessions", json.dumps(sorted(self.sessions)))
        return token

    def _password_ok(self, username: str, password: str) -> bool:
        c = self.credentials
        return username == c["username"] and password in (c["password"], c["password"] + c["security_token"])

    def oauth_token(self, request: Request) -> Response:
        form = request.form
        grant = form.get("grant_type", "")
        c = self.credentials
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            client_id, client_secret = basic.username or "", basic.password or ""
        client_ok = client_id == c["consumer_key"] and client_secret == c["consumer_secret"]
        if grant == "password":
            ok = client_ok and self._password_ok(form.get("username", ""), form.get("password", ""))
        elif grant == "client_credentials":
            ok = client_ok
        else:
            return json_response({"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                                 400)
        if not ok:
            return json_response({"error": "invalid_grant", "error_description": "authentication failure"}, 400)
        token = self._issue_token()
        return json_response({
            "access_token": token, "instance_url": self.base_url, "token_type": "Bearer",
            "id": f"{self.base_url}/id/{ORG_ID}/{self.org.running_user_id}", "issued_at": str(int(time.time() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        })

    def soap_login(self, request: Request, version: str) -> Response:
        try:
            root = ET.fromstring(request.get_data())
        except ET.ParseError:
            return self._soap_fault("INVALID_LOGIN", "Invalid request body")
        values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        if not self._password_ok(values.get("username", ""), values.get("password", "")):
            return self._soap_fault("INVALID_LOGIN", "INVALID_LOGIN: Invalid username, password, security token; or "
                                    "user locked out.")
        token = self._issue_token()
        server = f"{self.base_url}/services/Soap/u/{version}/{ORG_ID[:15]}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
            'envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{escape(self.base_url)}/services/Soap/m/{version}/{ORG_ID[:15]}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{escape(server)}</serverUrl><sessionId>{escape(token)}</sessionId>"
            f"<userId>{self.org.running_user_id}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
            f"<userName>{escape(self.credentials['username'])}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(body, status=200, content_type="text/xml;charset=UTF-8")

    @staticmethod
    def _soap_fault(code: str, message: str) -> Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
            'envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring><detail>"
            f"<sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}"
            "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Response(body, status=500, content_type="text/xml;charset=UTF-8")

    # ----- metadata endpoints ------------------------------------------------------------------------
    @staticmethod
    def versions() -> list[dict[str, str]]:
        return [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]

    @staticmethod
    def resources(version: str) -> dict[str, str]:
        names = ("sobjects", "query", "queryAll", "limits", "composite", "tooling", "jobs")
        return {n: f"/services/data/v{version}/{n}" for n in names}

    def limits(self) -> dict[str, Any]:
        body = json.loads(json.dumps(self.limits_template))
        maximum = self.org.knobs.daily_api_max
        body["DailyApiRequests"] = {"Max": maximum, "Remaining": max(0, maximum - self.api_used)}
        batches = self.bulk.batches_used()
        body["DailyBulkApiBatches"] = {"Max": self.org.knobs.daily_batch_max,
                                       "Remaining": max(0, self.org.knobs.daily_batch_max - batches)}
        body["DailyBulkV2QueryJobs"] = {"Max": 10000, "Remaining": 10000 - self.bulk.query_jobs_created()}
        return body

    def record_count(self, request: Request) -> Response:
        wanted = [s for s in request.args.get("sObjects", "").split(",") if s]
        counts = self.org.counts()
        names = [n for n in counts if not wanted or n in wanted]
        return json_response({"sObjects": [{"count": counts[n], "name": n} for n in names]})

    def describe_global(self, version: str) -> dict[str, Any]:
        return {"encoding": "UTF-8", "maxBatchSize": 200,
                "sobjects": [self.org.schema.global_describe_entry(m) for m in self.org.schema.objects.values()
                             if knowledge.enabled(self.org, m.name)]}

    def standard_action(self, request: Request, name: str) -> Response:
        """``POST actions/standard/<name>`` (salesforce-next.md §2.4): the Knowledge publish/archive/delete
        actions; another standard action is not emulated (404, like an unknown action)."""
        if name not in knowledge.KNOWLEDGE_ACTIONS or not knowledge.enabled(self.org, knowledge.KAV):
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: action {name}")
        try:
            return json_response(knowledge.run_action(self.org, name, self.body(request)))
        except ValueError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", str(exc)) from None

    # ----- single records ----------------------------------------------------------------------------
    @staticmethod
    def body(request: Request) -> Any:
        try:
            return json.loads(request.get_data() or b"null")
        except json.JSONDecodeError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg} at [line:{exc.lineno}, "
                           f"column:{exc.colno}]") from None

    @staticmethod
    def check_types(request: Request, records: list[tuple[Any, dict[str, Any]]]) -> None:
        """Refuse the whole request, as a real org's JSON reader does, when a value cannot be read as its
        field's type (a date that is not yyyy-MM-dd, a date/time without T and zone, "yes" for a checkbox, a
        word for a number): 400 JSON_PARSER_ERROR "Cannot deserialize instance of date from VALUE_STRING value
        … or request may be missing a required field at [line:L, column:C]", nothing written, no ``fields``
        (recorded org responses in JSON_PARSER_ERROR reports, e.g. github.com/regican/Salesforce/issues/2).
        The position points just past the value, so the field it belongs to can be found in the body."""
        text = None
        seen: dict[tuple[str, str], int] = {}
        for meta, record in records:
            for key, value in record.items():
                f = meta.field(key) if isinstance(key, str) and key != "attributes" else None
                if f is None or value is None:
                    continue
                pair = (key, json.dumps(value))
                nth = seen.get(pair, 0)
                seen[pair] = nth + 1
                why = json_mismatch(f, value)
                if why is None:
                    continue
                if text is None:
                    text = request.get_data(as_text=True)
                line, column = _position(text, key, value, nth)
                raise ApiError(400, "JSON_PARSER_ERROR", f"{why} or request may be missing a required field at "
                               f"[line:{line}, column:{column}]")

    @staticmethod
    def auto_assign(request: Request) -> bool:
        return request.headers.get("Sforce-Auto-Assign", "TRUE").strip().upper() not in ("FALSE", "F", "0")

    @staticmethod
    def raise_row(result: RowResult) -> None:
        if not result.success:
            err = result.errors[0]
            status = 404 if err["statusCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED") else 400
            raise ApiError(status, err["statusCode"], err["message"], err["fields"])

    def create(self, request: Request, meta: Any, version: str) -> Response:
        data = self.body(request)
        if not isinstance(data, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        self.check_types(request, [(meta, data)])
        result = self.org.insert(meta.name, [data], WriteOptions(auto_assign=self.auto_assign(request)))[0]
        self.raise_row(result)
        return json_response({"id": result.id, "success": True, "errors": []}, 201)

    def get_record(self, request: Request, meta: Any, record_id: str, version: str) -> Response:
        from .ids import normalize_id

        rid = normalize_id(record_id)
        record = self.org.fetch(meta, rid, include_deleted=True) if rid else None
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if record.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        only = [f for f in request.args.get("fields", "").split(",") if f] or None
        return json_response(self.org.render(meta, record, version, only))

    def get_by_external(self, request: Request, meta: Any, field_name: str, value: str, version: str) -> Response:
        f = meta.field(field_name)
        hits = self.org.find_ids_by(meta, f, [value]).get(value, [])
        if not hits:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(hits) > 1:
            return json_response([f"/services/data/v{version}/sobjects/{meta.name}/{h}" for h in hits], 300)
        return self.get_record(request, meta, hits[0], version)

    def update_record(self, request: Request, meta: Any, record_id: str) -> Response:
        data = self.body(request)
        if not isinstance(data, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        from .ids import normalize_id

        rid = normalize_id(record_id)
        if rid is None or self.org.fetch(meta, rid, include_deleted=True) is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        self.check_types(request, [(meta, data)])
        result = self.org.update(meta.name, [{**data, "Id": rid}], WriteOptions(auto_assign=self.auto_assign(request)))
        self.raise_row(result[0])
        return Response(status=204)

    def delete_record(self, meta: Any, record_id: str) -> Response:
        from .ids import normalize_id

        rid = normalize_id(record_id)
        if rid is None or self.org.fetch(meta, rid, include_deleted=True) is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        self.raise_row(self.org.delete([rid], expect=meta.name)[0])
        return Response(status=204)

    def upsert_record(self, request: Request, meta: Any, field_name: str, value: str, version: str) -> Response:
        data = self.body(request)
        if not isinstance(data, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        f = meta.field(field_name)
        if not (f.external_id or f.id_lookup):
            raise ApiError(400, "INVALID_FIELD", f"Field {field_name} is not an external id field", [field_name])
        if any(k.lower() in (f.name.lower(), "id") for k in data):
            raise ApiError(400, "INVALID_FIELD", f"{f.name} cannot be set in the body of an upsert by {f.name}",
                           [f.name])
        self.check_types(request, [(meta, data)])
        hits = self.org.find_ids_by(meta, f, [value]).get(value, [])
        if len(hits) > 1:
            return json_response([f"/services/data/v{version}/sobjects/{meta.name}/{h}" for h in hits], 300)
        if not hits and request.args.get("updateOnly", "").lower() == "true":
            raise ApiError(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible")
        result = self.org.upsert(meta.name, f.name, [{**data, f.name: value}],
                                 WriteOptions(auto_assign=self.auto_assign(request)))[0]
        self.raise_row(result)
        status = 201 if result.created else 200
        return json_response({"id": result.id, "success": True, "errors": [], "created": result.created}, status)

    def delete_by_external(self, meta: Any, field_name: str, value: str) -> Response:
        hits = self.org.find_ids_by(meta, meta.field(field_name), [value]).get(value, [])
        if len(hits) != 1:
            raise ApiError(404 if not hits else 300, "NOT_FOUND", "The requested resource does not exist")
        self.raise_row(self.org.delete(hits)[0])
        return Response(status=204)

    def blob(self, meta: Any, record_id: str, field_name: str, _: Any) -> Response:
        from .ids import normalize_id

        rid = normalize_id(record_id)
        record = self.org.fetch(meta, rid) if rid else None
        if record is None or record.get(field_name) is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(record[field_name], content_type="application/octetstream")

    # ----- collections -------------------------------------------------------------------------------
    def collections(self, request: Request, version: str, parts: list[str]) -> Response:
        method = request.method
        if method == "DELETE":
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            if not ids or len(ids) > 200:
                raise ApiError(400, "INVALID_FIELD", "ids: between 1 and 200 ids are required")
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            results = self.org.delete(ids, opts=WriteOptions(family="collections", all_or_none=all_or_none))
            return json_response([self._result_json(r, with_created=False) for r in results])
        if method == "GET" and len(parts) == 1:
            meta = self.object_meta(parts[0])
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            fields = [f for f in request.args.get("fields", "").split(",") if f]
            out = []
            for rid in ids:
                record = self.org.fetch(meta, rid)
                out.append(self.org.render(meta, record, version, fields or None) if record else None)
            return json_response(out)
        data = self.body(request)
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a body {\"allOrNone\": bool, \"records\": [...]}")
        records = data["records"]
        if len(records) > 200:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records "
                           "into this call")
        all_or_none = bool(data.get("allOrNone"))
        opts = WriteOptions(family="collections", all_or_none=all_or_none, auto_assign=self.auto_assign(request))
        if method == "PATCH" and len(parts) == 2:
            meta = self.object_meta(parts[0])
            for rec in records:
                rtype = (rec.get("attributes") or {}).get("type")
                if rtype and rtype.lower() != meta.name.lower():
                    raise ApiError(400, "INVALID_FIELD", "All records must be of the type named in the URL")
            self.check_types(request, [(meta, rec) for rec in records if isinstance(rec, dict)])
            results = self.org.upsert(meta.name, parts[1], records, opts)
            return json_response([self._result_json(r, with_created=True) for r in results])
        if method not in ("POST", "PATCH") or parts:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")
        types: list[str] = []
        for rec in records:
            rtype = (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
            if not rtype:
                raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
            if method == "POST" and any(k.lower() == "id" for k in rec):
                raise ApiError(400, "INVALID_FIELD", "Can't specify an Id in a create call")
            types.append(self.object_meta(rtype).name)
        results: list[RowResult | None] = [None] * len(records)
        order: list[str] = []
        for t in types:
            if not order or order[-1] != t:
                order.append(t)
        if len(order) > 10:
            raise ApiError(400, "INVALID_BATCH_REQUEST", "Too many chunks: a request may change 10 object chunks")
        self.check_types(request, [(self.object_meta(t), rec) for t, rec in zip(types, records, strict=True)])
        inner = WriteOptions(family="collections", auto_assign=opts.auto_assign)
        for obj in dict.fromkeys(types):
            idx = [i for i, t in enumerate(types) if t == obj]
            batch = [records[i] for i in idx]
            out = self.org.insert(obj, batch, inner) if method == "POST" else self.org.update(obj, batch, inner)
            for i, r in zip(idx, out, strict=True):
                results[i] = r
        final = [r for r in results if r is not None]
        if all_or_none and not all(r.success for r in final):
            created = [r.id for r in final if r.success and r.created and r.id]
            if created:
                self.org.delete(created, hard=True, opts=WriteOptions(admin=True))
            Org._finish_all_or_none(final, opts)
        return json_response([self._result_json(r, with_created=False) for r in final])

    @staticmethod
    def _result_json(r: RowResult, with_created: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": r.id, "success": r.success, "errors": r.errors}
        if with_created:
            body["created"] = r.created
        return body

    # ----- query ---------------------------------------------------------------------------------------
    def compile(self, text: str, include_deleted: bool) -> Query:
        try:
            query = compile_query(self.org.schema, text, include_deleted)
        except SoqlError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        if not knowledge.enabled(self.org, query.obj.name):
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{query.obj.name}' is not supported.")
        refused = knowledge.query_guard(query.obj.name, text)
        if refused:
            raise ApiError(400, "MALFORMED_QUERY", refused)
        return query

    def query(self, text: str, version: str, include_deleted: bool) -> dict[str, Any]:
        query = self.compile(text, include_deleted)
        with self.org.lock:
            total = self.org.db.execute(query.count_sql, query.params).fetchone()[0]
        total = max(0, total - query.offset)
        if query.limit is not None:
            total = min(total, query.limit)
        if query.count_only:
            return {"totalSize": total, "done": True, "records": []}
        if query.aggregate:
            with self.org.lock:
                row = self.org.db.execute(query.sql, query.params).fetchone()
            rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for col in query.columns:
                rec[col.label] = row[col.position]
            return {"totalSize": 1, "done": True, "records": [rec]}
        cursor = uuid.uuid4().hex[:15]
        kind = "queryAll" if include_deleted else "query"
        return self._page(query, cursor, 0, total, version, kind)

    def query_more(self, token: str, version: str) -> dict[str, Any]:
        cursor, _, start = token.rpartition("-")
        cursor = cursor.removeprefix("01g")
        state = self.cursors.get(cursor)
        if state is None or not start.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        query, total, _, kind = state
        return self._page(query, cursor, int(start), total, version, kind)

    def fetch_rows(self, query: Query, start: int, count: int) -> list[tuple]:
        with self.org.lock:
            return self.org.db.execute(f"{query.sql} LIMIT ? OFFSET ?",
                                       [*query.params, count, query.offset + start]).fetchall()

    def _page(self, query: Query, cursor: str, start: int, total: int, version: str, kind: str) -> dict[str, Any]:
        size = self.org.knobs.query_page_size
        count = max(0, min(size, total - start))
        rows = self.fetch_rows(query, start, count)
        records = [self.render_row(query, row, version) for row in rows]
        body: dict[str, Any] = {"totalSize": total, "done": start + count >= total, "records": records}
        if not body["done"]:
            self.cursors[cursor] = (query, total, start + count, kind)
            body["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/01g{cursor}-{start + count}"
        else:
            self.cursors.pop(cursor, None)
        return body

    def render_row(self, query: Query, row: tuple, version: str) -> dict[str, Any]:
        obj = query.obj
        rec: dict[str, Any] = {"attributes": {"type": obj.name}}
        id_col = next((c for c in query.columns if c.meta is not None and c.meta.name == "Id" and not c.relationship),
                      None)
        if id_col is not None:
            rec["attributes"]["url"] = f"/services/data/v{version}/sobjects/{obj.name}/{row[id_col.position]}"
        for col in query.columns:
            value = row[col.position]
            if col.relationship:
                fk = row[col.fk_position]
                if fk is None:
                    rec[col.relationship] = None
                    continue
                target = self.org.schema.object_for_id(fk)
                nested = rec.get(col.relationship)
                if nested is None:
                    nested = {"attributes": {"type": target.name if target else "",
                                             "url": f"/services/data/v{version}/sobjects/"
                                             f"{target.name if target else ''}/{fk}"}}
                    rec[col.relationship] = nested
                nested[col.path[1]] = to_output(col.meta, value) if col.meta else value
            elif col.meta is not None and col.meta.type == "base64":
                rid = row[id_col.position] if id_col else ""
                rec[col.label] = (f"/services/data/v{version}/sobjects/{obj.name}/{rid}/{col.label}"
                                  if value is not None else None)
            else:
                rec[col.label] = to_output(col.meta, value) if col.meta else value
        return rec

    # ----- tooling -------------------------------------------------------------------------------------
    def tooling(self, request: Request, version: str, parts: list[str]) -> Response:
        if parts[:1] == ["query"]:
            return json_response(self.tooling_query(request.args.get("q", "")))
        if len(parts) >= 2 and parts[0] == "sobjects" and parts[1] in ("CustomField", "CustomObject"):
            if request.method == "POST" and len(parts) == 2:
                data = self.body(request)
                if not isinstance(data, dict):
                    raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
                if parts[1] == "CustomField":
                    return self.create_custom_field(data)
                return self.create_custom_object(data)
            if request.method == "GET" and len(parts) == 3:
                for rec in self.tooling_records(parts[1]):
                    if rec["Id"] == parts[2]:
                        return json_response(rec)
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def create_custom_field(self, data: dict[str, Any]) -> Response:
        full = str(data.get("FullName", ""))
        meta_in = data.get("Metadata") or {}
        obj_name, _, field_name = full.partition(".")
        meta = self.org.schema.get(obj_name)
        if meta is None:
            raise ApiError(400, "INVALID_INPUT", f"Cannot find object: {obj_name}")
        if meta.name in NO_CUSTOM_FIELDS:
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"{meta.name} does not support custom fields")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", field_name) or "__" in field_name[:-3]:
            raise ApiError(400, "INVALID_INPUT", f"Invalid custom field name: {field_name}")
        if meta.field(field_name) is not None:
            raise ApiError(400, "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {field_name} on "
                           f"{meta.name}.")
        reference_to: tuple[str, ...] = ()
        rel_name = None
        if meta_in.get("type") == "Lookup":
            target = self.org.schema.get(str(meta_in.get("referenceTo", "")))
            if target is None:
                raise ApiError(400, "INVALID_INPUT", f"Unknown referenceTo: {meta_in.get('referenceTo')}")
            reference_to = (target.name,)
            rel_name = str(meta_in.get("relationshipName") or field_name[:-3]) + "__r"
        try:
            raw = describe_entry(field_name, meta_in, reference_to, rel_name)
        except MetadataError as exc:
            code = "INVALID_INPUT" if str(exc).startswith("Unsupported") else "FIELD_INTEGRITY_EXCEPTION"
            raise ApiError(400, code, str(exc)) from None
        self.org.add_custom_field(meta.name, raw)
        fid = self.org.allocate_ids("00N", 1)[0]
        with self.org.lock:
            self.org.set_kv(f"tooling_field:{fid}", json.dumps({"FullName": f"{meta.name}.{field_name}",
                                                                "TableEnumOrId": meta.name,
                                                                "DeveloperName": field_name[:-3],
                                                                "Metadata": meta_in}))
        return json_response({"id": fid, "success": True, "errors": []}, 201)

    def create_custom_object(self, data: dict[str, Any]) -> Response:
        full = str(data.get("FullName", ""))
        meta_in = data.get("Metadata") or {}
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", full) or "__" in full[:-3] or full[:-3].endswith("_"):
            raise ApiError(400, "INVALID_INPUT", f"Invalid custom object name: {full}")
        if self.org.schema.get(full) is not None:
            raise ApiError(400, "DUPLICATE_DEVELOPER_NAME", f"There is already an object named {full}.")
        # the elements a CustomObject's Metadata must carry (Metadata API CustomObject; notes salesforce-next §6.1)
        missing = [k for k in ("label", "pluralLabel", "nameField", "deploymentStatus", "sharingModel")
                   if not meta_in.get(k)]
        if missing:
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"Required CustomObject Metadata missing: "
                           f"{', '.join(missing)}")
        name_field = meta_in["nameField"] if isinstance(meta_in["nameField"], dict) else {}
        if name_field.get("type") not in ("Text", "AutoNumber") or not name_field.get("label"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "nameField needs a label and the type Text or AutoNumber")
        auto_number = name_field["type"] == "AutoNumber"
        if auto_number and not name_field.get("displayFormat"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "an AutoNumber nameField needs a displayFormat")
        if meta_in["sharingModel"] not in ("Private", "Read", "ReadWrite", "ControlledByParent", "FullAccess"):
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"sharingModel: bad value {meta_in['sharingModel']}")
        label = meta_in["label"]
        meta = self.org.add_custom_object(full, label, meta_in["pluralLabel"], auto_number=auto_number)
        oid = self.org.allocate_ids("01I", 1)[0]
        with self.org.lock:
            self.org.set_kv(f"tooling_object:{oid}", json.dumps({"FullName": full, "DeveloperName": full[:-3],
                                                                 "KeyPrefix": meta.key_prefix, "Metadata": meta_in}))
        return json_response({"id": oid, "success": True, "errors": []}, 201)

    def tooling_records(self, kind: str) -> list[dict[str, Any]]:
        prefix = "tooling_field:" if kind == "CustomField" else "tooling_object:"
        with self.org.lock:
            rows = self.org.db.execute("SELECT key, value FROM _meta_kv WHERE key LIKE ?", (prefix + "%",)).fetchall()
        out = []
        for key, value in rows:
            rec = json.loads(value)
            out.append({"attributes": {"type": kind}, "Id": key.split(":", 1)[1], **rec})
        return out

    def tooling_query(self, text: str) -> dict[str, Any]:
        """Tooling SOQL over CustomField/CustomObject: field list, optional WHERE a = 'x' [AND b = 'y']."""
        m = re.match(r"(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(CustomField|CustomObject)(?:\s+WHERE\s+(.+?))?\s*$", text)
        if not m:
            raise ApiError(400, "MALFORMED_QUERY", "Tooling queries support SELECT … FROM CustomField|CustomObject "
                           "[WHERE Field = 'value' AND …]")
        fields = [f.strip() for f in m.group(1).split(",")]
        records = self.tooling_records(m.group(2))
        if m.group(3):
            for cond in re.split(r"(?i)\s+AND\s+", m.group(3)):
                cm = re.match(r"^\s*(\w+)\s*=\s*'([^']*)'\s*$", cond)
                if not cm:
                    raise ApiError(400, "MALFORMED_QUERY", f"unsupported tooling condition: {cond}")
                name, value = cm.groups()
                records = [r for r in records if str(r.get(name, "")).lower() == value.lower()]
        out = [{"attributes": r["attributes"], **{f: r.get(f) for f in fields}} for r in records]
        return {"size": len(out), "totalSize": len(out), "done": True, "queryLocator": None,
                "entityTypeName": m.group(2), "records": out}

    # ----- admin (the kit routes and guards /__admin; health, knobs and counters are the kit's) ----------
    # every call here reads or changes the org (and `credentials` hands out its secrets): only the holder of
    # the token in <state_dir>/admin-token (mode 0600) reaches it
    def admin_reset(self, request: Request) -> Response:
        data = self.body(request) or {}
        self.bulk.reset()
        self.org.reset()
        self.calls.clear(usage=True)
        self.cursors.clear()
        self.sessions = {self.credentials["access_token"]}
        with self.org.lock:
            self.org.set_kv("sessions", json.dumps(sorted(self.sessions)))
        self.flush()
        seeded = self.org.seed(data.get("users") or [], data.get("queues") or []) if data else None
        if data.get("knobs"):
            self.org.set_knobs(Knobs.from_json(data["knobs"]))
        return json_response({"reset": True, "seeded": seeded, "running_user_id": self.org.running_user_id})

    def admin_seed(self, request: Request) -> Response:
        data = self.body(request) or {}
        result = self.org.seed(data.get("users") or [], data.get("queues") or [])
        return json_response(result, 200 if not result["errors"] else 400)

    def admin_counts(self, request: Request) -> Response:
        return json_response(self.org.counts())

    def admin_usage(self, request: Request) -> Response:
        data = self.body(request) or {}
        self.calls.set_usage(int(data.get("api_used", self.api_used)))
        return json_response({"api_usage": self.api_used})

    def admin_sessions(self, request: Request) -> Response:
        self.sessions = set()
        with self.org.lock:
            self.org.set_kv("sessions", "[]")
        return json_response({"expired": True})

    def admin_credentials(self, request: Request) -> Response:
        return json_response({**self.credentials, "instance_url": self.base_url})
