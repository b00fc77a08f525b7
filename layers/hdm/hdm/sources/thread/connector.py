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


def scoping_report(source: Any) -> registry.ScopingReport:
    """The discovery counts per canonical type (what a run extracts and loads), then the bundle's own files with
    their line counts (a review line is one ticket, its body message and its rating), then orphans."""
    found = source.discover()
    data = {"system": found.system, "version": found.version, "record_counts": dict(found.counts),
            "details": found.details}
    title = f"{found.system} {found.version or ''}".rstrip()
    lines = [f"# Discovery: {title} (bundle {found.details.get('bundle_id')})", "",
             "## Records (canonical types, as extracted)", "", "| object | records |", "| --- | ---: |"]
    lines += [f"| {name} | {count} |" for name, count in sorted(found.counts.items())]
    lines += ["", "## Bundle files", "", "| file | Thread object | lines |", "| --- | --- | ---: |"]
    lines += [f"| {path} | {f['object_type']} | {f['lines']} |"
              for path, f in sorted(found.details.get("files", {}).items())]
    orphans = found.details.get("orphans")
    if orphans:
        lines += ["", f"## Orphans ({orphans['count']}): {orphans['meaning']}", ""]
        lines += [f"- {o}" for o in orphans["listed"]]
    return registry.ScopingReport(data, "\n".join(lines) + "\n", title)


registry.register_source("thread", ThreadSourceConfig, build,
                         capabilities={registry.INVENTORY: inventory, registry.SCOPING_REPORT: scoping_report})
