"""Building sources and destinations from validated config (secrets resolved here, at the edge).

The connector is looked up by its config's ``type`` in :mod:`hdm.registry`; its secret references are found
by their type (``SecretRef`` fields, at any depth) and handed to the connector's factory as :class:`Secrets`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from hdm import registry
from hdm.pipeline.config import SECRET, fields_of_kind
from hdm.pipeline.secrets import SecretError, resolve_secret


class Secrets(Mapping[str, Optional[str]]):
    """The secret references set in one connector config, keyed by their dotted field path (``password``,
    ``ssl.ca_pem``), each resolved when read, so a secret is fetched where the connection is opened and
    never kept here. A failure names the field (``source.ssl.ca_pem: …``), never the value."""

    def __init__(self, cfg: Any, prefix: str = ""):
        self._refs = {path: str(ref) for path, ref in fields_of_kind(cfg, SECRET)}
        self._prefix = prefix

    def __getitem__(self, path: str) -> Optional[str]:
        ref = self._refs[path]
        try:
            return resolve_secret(ref)
        except SecretError as exc:
            raise SecretError(f"{self._prefix}{path}: {exc}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)


def build_source(cfg: Any):
    """The source of a connector config (``cfg.type`` names the registered source)."""
    conn = registry.source(getattr(cfg, "type", None))
    return conn.factory(cfg, Secrets(cfg, "source."))


def build_destination(cfg: Any, stage: Any, migration_id: Optional[str] = None, source_type: Optional[str] = None):
    """The destination of a migration; its id namespaces what the destination writes (legacy IDs), and the
    source's type picks the mapping of the (source, destination) pair."""
    conn = registry.destination(getattr(cfg, "type", None))
    return conn.factory(cfg, Secrets(cfg, "destination."),
                        registry.BuildContext(stage=stage, migration_id=migration_id, source_type=source_type))
