"""Registers the Salesforce destination (hdm.registry finds this module by its folder)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Optional

from hdm import registry
from hdm.destinations.salesforce.config import SalesforceDestinationConfig
from hdm.destinations.salesforce.errors import classify_error


def client_factory(cfg: SalesforceDestinationConfig, secrets: Mapping[str, Optional[str]]) -> Callable[[], Any]:
    """A function returning a logged-in simple_salesforce.Salesforce (one per worker); the secrets are read at
    each login, as the connection is opened."""

    def make():
        import requests
        from simple_salesforce import Salesforce

        session = requests.Session()
        if cfg.ca_bundle:  # a private CA (the local emulator): trust it, and only it
            session.verify = cfg.ca_bundle
            session.trust_env = False
        kwargs: dict[str, Any] = {"session": session, "version": cfg.api_version}
        if cfg.consumer_key:
            kwargs.update(consumer_key=cfg.consumer_key, consumer_secret=secrets.get("consumer_secret"),
                          domain=cfg.login_domain)
            if cfg.username:
                kwargs.update(username=cfg.username, password=secrets.get("password"))
        else:
            kwargs.update(username=cfg.username, password=secrets.get("password"),
                          security_token=secrets.get("security_token") or "", domain=cfg.login_domain)
        return Salesforce(**kwargs)

    return make


def build(cfg: SalesforceDestinationConfig, secrets: Mapping[str, Optional[str]],
          context: registry.BuildContext) -> Any:
    from hdm.destinations.salesforce.destination import SalesforceDestination

    return SalesforceDestination.from_config(cfg, client_factory(cfg, secrets), context.stage, context.migration_id,
                                             source_type=context.source_type)


def field_vocabulary() -> Any:
    """The mapping's field definitions and transforms for Salesforce (hdm.mapping.fields)."""
    from hdm.destinations.salesforce.fields import VOCABULARY

    return VOCABULARY


def login_url(domain: str) -> str:
    """simple-salesforce logs in at https://{domain}.salesforce.com/… (the stack policy checks this host)."""
    return f"https://{domain}.salesforce.com/services/Soap/u/62.0"


def proposal_fields(describes):  # the mapping proposer's view of the org (hdm mapping propose)
    from hdm.destinations.salesforce.proposal import proposal_fields as fields

    return fields(describes)


registry.register_destination("salesforce", SalesforceDestinationConfig, build,
                              capabilities={registry.LOGIN_URL: login_url,
                                            registry.CLASSIFY_ERROR: classify_error,
                                            registry.FIELD_VOCABULARY: field_vocabulary,
                                            "proposal_fields": proposal_fields})
