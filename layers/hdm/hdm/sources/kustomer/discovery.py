"""``discover()``: what the org holds, what the key may read, klasses and custom attribute metadata, the
high-water mark the next delta run starts from."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from hdm.http.errors import AuthFailed, NotFound
from hdm.sources.base import Discovery
from hdm.sources.kustomer.records import attrs

if TYPE_CHECKING:
    from hdm.sources.kustomer.source import KustomerSource

LIST_COUNTS = {"agent": "/users", "team": "/teams", "tag": "/tags", "response_template": "/shortcuts",
               "sla_policy": "/slas", "workflow": "/workflows", "business_rule": "/business-rules"}


def _list_total(source: KustomerSource, path: str) -> int:
    body = source.api.get(path, params={"page": 1, "pageSize": 1})
    total = ((body or {}).get("meta") or {}).get("total")
    return int(total) if isinstance(total, (int, float)) else len((body or {}).get("data") or [])


def discover(source: KustomerSource) -> Discovery:
    unreadable: dict[str, str] = {}
    counts: dict[str, int] = {}
    list_counts: dict[str, int] = {}
    for name, path in LIST_COUNTS.items():
        try:
            list_counts[name] = _list_total(source, path)
        except (AuthFailed, NotFound) as exc:
            unreadable[path] = str(exc)
    for name in ("agent", "team", "tag", "response_template", "sla_policy"):
        if name in list_counts:
            counts[name] = list_counts[name]
    counts["automation_rule"] = sum(list_counts.get(n, 0) for n in ("workflow", "business_rule", "sla_policy"))
    def counted(what: str, count: Callable[[], int]) -> Optional[int]:
        """A count, or None when the key may not read it (reported, never a crash: scoping says what is missing)."""
        try:
            return count()
        except AuthFailed as exc:
            unreadable[what] = str(exc)
            return None

    try:
        klasses = source.klasses()
    except AuthFailed as exc:
        unreadable["/klasses"] = str(exc)
        klasses = {}
        source._klasses = None  # planning asks again, and fails loudly: KObjects are never dropped in silence
    counts["custom_object_type"] = len(klasses)
    source.high_water = hw = source.compute_high_water()
    since = source.since

    def found(object_type: str, context: str, crit: list[Any]) -> None:
        n = counted(f"search {context}", lambda: source.api.count(context, crit))
        if n is not None:
            counts[object_type] = counts.get(object_type, 0) + n

    found("organization", "company", source.base_criteria("company", None, hw, since))
    found("contact", "customer", source.base_criteria("customer", None, hw, since))
    found("ticket", "conversation", source.base_criteria("conversation", None, hw, since))
    if "ticket" in counts:
        counts["event"] = counts["ticket"]
        found("event", "conversation", [*source.base_criteria("conversation", None, hw, since),
                                        {"conversation_status": {"equals": "done"}},
                                        {"conversation_ended_at": {"is_set": True}}])
    per_klass = {name: counted(f"search kobject_{name}", lambda name=name: source.api.count(
        f"kobject_{name}", source.base_criteria(f"kobject_{name}", None, hw, since))) for name in klasses}
    counts["custom_object_record"] = sum(n or 0 for n in per_klass.values())
    found("note", "note", source.base_criteria("note", None, hw, since))
    if since is None:  # messages and notes of every conversation (a delta reads those of changed ones)
        found("message", "message", [{"message_created_at": {"lt": hw}}])
        found("message", "note", [{"note_conversation": {"is_set": True}}, {"note_created_at": {"lt": hw}}])
    attachments = "counted while extracted (no attachment count is offered)"
    if source.since is None:
        try:  # GET /attachments (a list of every file's metadata): UNVERIFIED on a real org, so optional
            counts["attachment"] = _list_total(source, "/attachments")
            attachments = "GET /attachments meta.total"
        except (AuthFailed, NotFound):
            pass
    metadata: dict[str, Any] = {}
    fields = 0
    for resource in ("customer", "conversation", "company", "message"):
        try:
            body = source.api.get("/metadata/{r}", path_params={"r": resource})
        except NotFound:
            continue
        except AuthFailed as exc:
            unreadable[f"/metadata/{resource}"] = str(exc)
            continue
        props = attrs((body or {}).get("data") or {}).get("properties") or {}
        metadata[resource] = {name: {"label": (spec or {}).get("displayName"), "type": (spec or {}).get("type")}
                              for name, spec in props.items()}
        fields += len(props)
    counts["custom_field"] = fields
    details: dict[str, Any] = {
        "api_base": source.api.http.base_url,
        "key_roles": source.roles(),
        "high_water": hw,  # the `since` of the next delta run
        "since": source.since,
        "klasses": {name: {"label": t.label, "records": per_klass.get(name, 0),
                           "attributes": [{k: f[k] for k in ("name", "label", "type", "source_type", "lookup")
                                           if k in f} for f in t.fields]}
                    for name, t in klasses.items()},
        "custom_attributes": metadata,
        "automation": {k: list_counts.get(k, 0) for k in ("workflow", "business_rule", "sla_policy")},
        "unreadable": unreadable,
        "attachments": attachments,
        "rate_limits": {"org_per_minute": source.api.limiter.snapshot(),
                        "search_per_minute": source.api.search_limiter.snapshot()},
        "calls": source.api.call_figures()["total"],
    }
    return Discovery(system="kustomer", version="v1", counts=counts, details=details)
