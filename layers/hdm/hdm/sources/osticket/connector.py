"""Registers the osTicket source (hdm.registry finds this module by its folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.sources.osticket.config import OsTicketSourceConfig
from hdm.sources.osticket.errors import classify_error


def build(cfg: OsTicketSourceConfig, secrets: Mapping[str, Optional[str]]) -> Any:
    from hdm.sources.osticket.source import OsTicketSource

    params = {
        "host": cfg.host, "port": cfg.port, "database": cfg.database, "user": cfg.user,
        "password": secrets.get("password"), "insecure_plaintext": cfg.insecure_plaintext_connection,
    }
    if cfg.ssl is not None:
        params["tls"] = {
            "ca_bundle": cfg.ssl.ca_bundle, "verify_identity": cfg.ssl.verify_identity,
            "ca_pem": secrets.get("ssl.ca_pem"),
            "client_cert": cfg.ssl.client_cert, "client_key": cfg.ssl.client_key,
            "client_key_password": secrets.get("ssl.client_key_password"),
        }
    return OsTicketSource(
        params, prefix=cfg.prefix, allow_writable=cfg.allow_writable, attachments_dir=cfg.attachments_dir,
        attachment_roots=cfg.attachment_roots,
    )


def scoping_report(source: Any) -> registry.ScopingReport:
    from hdm.sources.osticket.scoping import build_scoping_report, render_scoping_markdown

    data = build_scoping_report(source)
    return registry.ScopingReport(data, render_scoping_markdown(data),
                                  f"version {data.get('version')}, prefix {data.get('prefix')!r}")


def inventory(source: Any) -> str:
    from hdm.sources.osticket.inventory import build_inventory

    return build_inventory(source)


def commands() -> list[Any]:
    from hdm.sources.osticket.rendered.cli import threads  # thread review: the sample page for sign-off

    return [threads]


registry.register_source("osticket", OsTicketSourceConfig, build, capabilities={
    registry.SCOPING_REPORT: scoping_report, registry.INVENTORY: inventory, registry.COMMANDS: commands,
    registry.CLASSIFY_ERROR: classify_error,
})
