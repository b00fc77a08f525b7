"""Registers the export source (hdm.registry finds this module by its folder): hdm's own export bundle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from hdm import registry
from hdm.sources.export.config import ExportSourceConfig


def build(cfg: ExportSourceConfig, secrets: Mapping[str, Optional[str]]) -> Any:
    from hdm.sources.export.source import ExportSource

    return ExportSource(path=cfg.path, staged=cfg.staged)


registry.register_source("export", ExportSourceConfig, build)
