"""Registers the Kayako source (hdm.registry finds this module by its folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.sources.kayako.config import KayakoSourceConfig


def build(cfg: KayakoSourceConfig, secrets: Mapping[str, Optional[str]]) -> Any:
    from hdm.sources.kayako.client import KayakoClient
    from hdm.sources.kayako.source import KayakoSource

    client = KayakoClient(cfg.api_url, secrets.get("email") or "", secrets.get("password") or "",
                          ca_bundle=cfg.ca_bundle, page_size=cfg.page_size, max_pages=cfg.max_pages,
                          rate_limit_per_minute=cfg.rate_limit_per_minute, rate_share=cfg.rate_share)
    return KayakoSource(client, page_size=cfg.page_size, updated_since=cfg.updated_since)


def scoping_report(source: Any) -> registry.ScopingReport:
    from hdm.sources.kayako.discovery import build_scoping_report, render_scoping_markdown

    data = build_scoping_report(source)
    counts = data.get("record_counts", {})
    return registry.ScopingReport(data, render_scoping_markdown(data),
                                  f"new Kayako, {counts.get('ticket', 0)} cases, "
                                  f"{len(data.get('custom_fields') or [])} custom fields")


def inventory(source: Any) -> str:
    from hdm.sources.kayako.discovery import build_inventory

    return build_inventory(source)


registry.register_source("kayako", KayakoSourceConfig, build, capabilities={
    registry.SCOPING_REPORT: scoping_report, registry.INVENTORY: inventory,
})
