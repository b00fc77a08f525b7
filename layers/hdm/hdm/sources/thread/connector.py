"""Registers the Thread source (hdm.registry finds this module by its folder): hdm's Thread bundle, with the
inventory of routing rules and team assignments for the admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.sources.thread.config import ThreadSourceConfig


def build(cfg: ThreadSourceConfig, secrets: Mapping[str, Optional[str]]) -> Any:
    from hdm.sources.thread.source import ThreadSource

    return ThreadSource(path=cfg.path, staged=cfg.staged)


def inventory(source: Any) -> str:
    from hdm.sources.thread.inventory import build_inventory

    return build_inventory(source)


registry.register_source("thread", ThreadSourceConfig, build, capabilities={registry.INVENTORY: inventory})
