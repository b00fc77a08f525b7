"""Registers the Kustomer source (hdm.registry finds this module by its folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.sources.kustomer.config import KustomerSourceConfig


def base_url(cfg: KustomerSourceConfig) -> str:
    return f"https://{cfg.host}{f':{cfg.port}' if cfg.port else ''}/v1"


def build(cfg: KustomerSourceConfig, secrets: Mapping[str, Optional[str]]) -> Any:
    from hdm.sources.kustomer.client import KustomerApi, shared_limiters
    from hdm.sources.kustomer.source import KustomerSource

    key = secrets.get("api_key")
    if not key:
        raise ValueError("the Kustomer API key (api_key) resolved to nothing")
    limiters = shared_limiters(base_url(cfg), key, cfg.rate_limit_per_minute, cfg.search_rate_limit_per_minute,
                               cfg.rate_share)
    api = KustomerApi(base_url(cfg), key, ca_bundle=cfg.ca_bundle, page_size=cfg.page_size,
                      search_page_size=cfg.search_page_size, limiters=limiters)
    since = cfg.since.isoformat() if cfg.since is not None else None
    return KustomerSource(api, since=since, download_attachments=cfg.download_attachments)


def scoping_report(source: Any) -> registry.ScopingReport:
    from hdm.sources.kustomer.reports import build_scoping_report, render_scoping_markdown

    data = build_scoping_report(source)
    counts = data.get("counts", {})
    return registry.ScopingReport(data, render_scoping_markdown(data),
                                  f"{counts.get('contact', 0)} customers, {counts.get('ticket', 0)} conversations, "
                                  f"{len(data.get('klasses') or {})} klasses")


def inventory(source: Any) -> str:
    from hdm.sources.kustomer.reports import build_inventory

    return build_inventory(source)


registry.register_source("kustomer", KustomerSourceConfig, build, capabilities={
    registry.SCOPING_REPORT: scoping_report, registry.INVENTORY: inventory,
})
