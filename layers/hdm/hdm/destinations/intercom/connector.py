"""Registers the Intercom destination (hdm.registry finds this module by its folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.destinations.intercom.config import IntercomDestinationConfig


def build(cfg: IntercomDestinationConfig, secrets: Mapping[str, Optional[str]],
          context: registry.BuildContext) -> Any:
    from hdm.destinations.intercom.destination import IntercomDestination

    # the token is read when the HTTP client is built (where the connection is opened), never kept in the config
    return IntercomDestination.from_config(cfg, lambda: secrets.get("access_token") or "", context.stage,
                                           context.migration_id, source_type=context.source_type)


def field_vocabulary() -> Any:
    """The mapping's field definitions and transforms for Intercom (hdm.mapping.fields)."""
    from hdm.destinations.intercom.fields import VOCABULARY

    return VOCABULARY


registry.register_destination("intercom", IntercomDestinationConfig, build,
                              capabilities={registry.FIELD_VOCABULARY: field_vocabulary})
