"""Building sources and destinations from validated config (secrets resolved here, at the edge)."""

from __future__ import annotations

from typing import Any, Optional

from hdm.pipeline.config import OsTicketSourceConfig, SalesforceDestinationConfig
from hdm.pipeline.secrets import SecretError, resolve_secret


def _resolve_field(ref: Optional[str], name: str) -> Optional[str]:
    """The value behind ``ref``; a failure names the config field (the reason never holds the value)."""
    try:
        return resolve_secret(ref)
    except SecretError as exc:
        raise SecretError(f"{name}: {exc}") from None


def build_source(cfg: Any):
    if isinstance(cfg, OsTicketSourceConfig):
        from hdm.sources.osticket import OsTicketSource

        params = {
            "host": cfg.host, "port": cfg.port, "database": cfg.database, "user": cfg.user,
            "password": resolve_secret(cfg.password), "insecure_plaintext": cfg.insecure_plaintext_connection,
        }
        if cfg.ssl is not None:
            params["tls"] = {
                "ca_bundle": cfg.ssl.ca_bundle, "verify_identity": cfg.ssl.verify_identity,
                "ca_pem": _resolve_field(cfg.ssl.ca_pem, "source.ssl.ca_pem"),
                "client_cert": cfg.ssl.client_cert, "client_key": cfg.ssl.client_key,
                "client_key_password": _resolve_field(cfg.ssl.client_key_password, "source.ssl.client_key_password"),
            }
        return OsTicketSource(
            params, prefix=cfg.prefix, allow_writable=cfg.allow_writable, attachments_dir=cfg.attachments_dir,
            attachment_roots=cfg.attachment_roots,
        )
    raise ValueError(f"unknown source type: {getattr(cfg, 'type', cfg)!r}")


def salesforce_client_factory(cfg: SalesforceDestinationConfig):
    """A function returning a logged-in simple_salesforce.Salesforce (one per worker)."""

    def make():
        import requests
        from simple_salesforce import Salesforce

        session = requests.Session()
        if cfg.ca_bundle:  # a private CA (the local emulator): trust it, and only it
            session.verify = cfg.ca_bundle
            session.trust_env = False
        kwargs: dict[str, Any] = {"session": session, "version": cfg.api_version}
        if cfg.consumer_key:
            kwargs.update(consumer_key=cfg.consumer_key, consumer_secret=resolve_secret(cfg.consumer_secret),
                          domain=cfg.login_domain)
            if cfg.username:
                kwargs.update(username=cfg.username, password=resolve_secret(cfg.password))
        else:
            kwargs.update(username=cfg.username, password=resolve_secret(cfg.password),
                          security_token=resolve_secret(cfg.security_token) or "", domain=cfg.login_domain)
        return Salesforce(**kwargs)

    return make


def build_destination(cfg: Any, stage: Any, migration_id: Optional[str] = None):
    """The destination of a migration; its id namespaces what the destination writes (legacy IDs)."""
    if isinstance(cfg, SalesforceDestinationConfig):
        from hdm.destinations.salesforce import SalesforceDestination

        return SalesforceDestination.from_config(cfg, salesforce_client_factory(cfg), stage, migration_id)
    raise ValueError(f"unknown destination type: {getattr(cfg, 'type', cfg)!r}")
