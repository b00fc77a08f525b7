"""Connectors registered by name: the one place the core looks a source or a destination up.

A connector is one folder, ``hdm/sources/<name>/`` or ``hdm/destinations/<name>/``, with a ``connector.py``
that calls :func:`register_source` / :func:`register_destination` when imported. The registry finds those
modules by folder on first lookup (nothing lists them), so engines, CLI, API handler and config never name a
connector. A connector shipped in another distribution registers the same way from a module named by a
Python entry point in the group ``hdm.sources`` or ``hdm.destinations``.

Why folders first and entry points second: the deployed Lambda layer is the source tree (``sam build``
copies ``layers/hdm/``; the hdm distribution's metadata, where entry points live, is not in it), and a
checkout needs no ``pip install -e`` to see a new connector. Tests register fakes directly.

A registration names:
- ``config``: the connector's pydantic config model, whose ``type`` field is ``Literal[<name>]``; its secret
  references are ``SecretRef`` fields (found by type, never listed);
- ``factory``: builds the Source (``factory(cfg, secrets)``) or the Destination
  (``factory(cfg, secrets, context)``) from the config and its resolved secrets (:class:`Secrets`);
- ``capabilities``: optional extras the CLI discovers by name (``scoping_report``, ``inventory``, ``commands``,
  ``login_url``, ``classify_error``, ``field_vocabulary``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal, Optional, get_args, get_origin

Kind = Literal["source", "destination"]
KINDS: tuple[Kind, ...] = ("source", "destination")

# capability names the core knows how to use (a connector may offer others; they are reported, not called)
SCOPING_REPORT = "scoping_report"  # fn(source) -> ScopingReport: the discovery report of `hdm discover`
INVENTORY = "inventory"  # fn(source) -> str: Markdown for the customer's admin (automations to rebuild, …)
COMMANDS = "commands"  # fn() -> list of click commands/groups attached to `hdm` (e.g. thread review)
LOGIN_URL = "login_url"  # fn(login domain) -> the URL it logs in at (the stack policy checks that URL's host)
# fn(exception) -> one line, or None when the exception is not the connector's own: how the CLI classifies what
# the generic classes of hdm.connector_errors do not cover (a driver's exception, say); exit status by kind
CLASSIFY_ERROR = "classify_error"
# fn() -> the destination's field vocabulary for mappings: field definitions and transforms (hdm.mapping.fields)
FIELD_VOCABULARY = "field_vocabulary"


class UnknownConnector(LookupError):
    """No connector of that kind is registered under that name."""


class RegistryError(ValueError):
    """A registration that cannot be used (wrong config model, clash of names)."""


class ConnectorUnavailable(UnknownConnector):
    """The connector of that name is installed but its registration module failed to import: ``failure`` says
    which module and why. The other connectors are registered as usual."""

    def __init__(self, failure: LoadFailure):
        self.failure = failure
        super().__init__(f"{failure.kind} connector {failure.name!r} could not be loaded: {failure.describe()}")


@dataclass(frozen=True)
class LoadFailure:
    """A connector module (folder or entry point) whose import raised: the others still load."""

    kind: Kind
    name: str  # the folder's (or the entry point's) name: the type a config would give
    module: str  # the module that failed to import
    error: str  # the exception's class and text

    def describe(self) -> str:
        return f"module {self.module} failed to import ({self.error})"


@dataclass(frozen=True)
class Connector:
    kind: Kind
    name: str
    config: type  # a pydantic model with `type: Literal[name]`
    factory: Callable[..., Any]
    capabilities: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    module: str = ""  # where it was registered (for messages)

    def capability(self, name: str) -> Optional[Callable[..., Any]]:
        return self.capabilities.get(name)


@dataclass(frozen=True)
class ScopingReport:
    """What a source's ``scoping_report`` capability returns: JSON-able data, its Markdown, a one-line summary."""

    data: dict[str, Any]
    markdown: str
    summary: str = ""


@dataclass(frozen=True)
class BuildContext:
    """What a destination factory gets besides its config: the migration's stage, its id (which namespaces what
    the destination writes) and the source's type (the mapping pair is (source type, destination type))."""

    stage: Any = None
    migration_id: Optional[str] = None
    source_type: Optional[str] = None


_REGISTRY: dict[Kind, dict[str, Connector]] = {"source": {}, "destination": {}}
_LOCK = threading.RLock()
_LOADED = False
_LOADING = False
_FAILURES: dict[Kind, dict[str, LoadFailure]] = {"source": {}, "destination": {}}
log = logging.getLogger(__name__)
PACKAGES: dict[Kind, str] = {"source": "hdm.sources", "destination": "hdm.destinations"}
ENTRY_POINT_GROUPS: dict[Kind, str] = {"source": "hdm.sources", "destination": "hdm.destinations"}
MODULE = "connector"  # the module of a connector folder that registers it


def _type_literal(config: type, name: str) -> None:
    fields = getattr(config, "model_fields", None)
    if fields is None or "type" not in fields:
        raise RegistryError(f"{config!r}: a connector config is a pydantic model with a `type` field")
    ann = fields["type"].annotation
    if get_origin(ann) is not Literal or get_args(ann) != (name,):
        raise RegistryError(f"{config.__name__}.type must be Literal[{name!r}] (it is {ann!r})")


def register(kind: Kind, name: str, config: type, factory: Callable[..., Any],
             capabilities: Optional[Mapping[str, Callable[..., Any]]] = None, replace: bool = False) -> Connector:
    """Register a connector; ``replace`` lets a test put a fake in place of a registered one."""
    if kind not in KINDS:
        raise RegistryError(f"kind must be one of {KINDS}")
    _type_literal(config, name)
    conn = Connector(kind, name, config, factory, dict(capabilities or {}), getattr(factory, "__module__", ""))
    with _LOCK:
        old = _REGISTRY[kind].get(name)
        if old is not None and not replace and (old.config, old.factory) != (config, factory):
            raise RegistryError(f"a {kind} named {name!r} is already registered (from {old.module})")
        _REGISTRY[kind][name] = conn
    _changed()
    return conn


def register_source(name: str, config: type, factory: Callable[..., Any], **kw: Any) -> Connector:
    return register("source", name, config, factory, **kw)


def register_destination(name: str, config: type, factory: Callable[..., Any], **kw: Any) -> Connector:
    return register("destination", name, config, factory, **kw)


def unregister(kind: Kind, name: str) -> None:
    with _LOCK:
        _REGISTRY[kind].pop(name, None)
    _changed()


_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` after every (un)registration (the config rebuilds its unions)."""
    _listeners.append(listener)


def _changed() -> None:
    for listener in list(_listeners):
        listener()


def load() -> None:
    """Import every connector folder's registration module, then the entry points' (once per process).

    A module whose import raises is recorded (:func:`failures`) and logged with its module and reason; the
    other connectors still register, and looking the broken one up raises :class:`ConnectorUnavailable`."""
    global _LOADED, _LOADING
    with _LOCK:
        if _LOADED or _LOADING:  # _LOADING: a connector module that looks itself up while importing
            return
        _LOADING = True
        try:
            for kind in KINDS:
                for name, module in _folder_modules(PACKAGES[kind]):
                    _import(kind, name, module, lambda m=module: importlib.import_module(m))
                for ep in _entry_points(ENTRY_POINT_GROUPS[kind]):
                    _import(kind, ep.name, getattr(ep, "value", ep.name), ep.load)
            _LOADED = True
        finally:
            _LOADING = False


def _import(kind: Kind, name: str, module: str, do: Callable[[], Any]) -> None:
    try:
        do()
    except Exception as exc:  # noqa: BLE001 - one broken plug-in must not hide the others
        failure = LoadFailure(kind, name, module, f"{type(exc).__name__}: {exc}")
        _FAILURES[kind][name] = failure
        log.warning("%s connector %r is unavailable: %s", kind, name, failure.describe())
    else:
        _FAILURES[kind].pop(name, None)


def failures(kind: Optional[Kind] = None) -> list[LoadFailure]:
    """The connector modules that failed to import (of ``kind``, or of both kinds), in name order."""
    load()
    with _LOCK:
        kinds = (kind,) if kind else KINDS
        return [f for k in kinds for _, f in sorted(_FAILURES[k].items())]


def _folder_modules(package: str) -> Iterator[tuple[str, str]]:
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            spec = importlib.util.find_spec(f"{package}.{info.name}.{MODULE}")
        except Exception:  # noqa: BLE001 - the package's own __init__ failed: importing it says why
            spec = True
        if spec is not None:
            yield info.name, f"{package}.{info.name}.{MODULE}"


def _entry_points(group: str) -> list[Any]:
    try:
        return list(metadata.entry_points(group=group))
    except Exception:  # noqa: BLE001 - broken distribution metadata must not hide the built-in connectors
        return []


def connectors(kind: Kind) -> dict[str, Connector]:
    load()
    with _LOCK:
        return dict(_REGISTRY[kind])


def get(kind: Kind, name: str) -> Connector:
    found = connectors(kind).get(name)
    if found is None:
        with _LOCK:
            broken = _FAILURES[kind].get(name)
        if broken is not None:
            raise ConnectorUnavailable(broken)
        known = ", ".join(sorted(connectors(kind))) or "none"
        unavailable = "".join(f"; {f.name!r} could not be loaded: {f.describe()}" for f in failures(kind))
        raise UnknownConnector(f"unknown {kind} type {name!r} (registered: {known}{unavailable})")
    return found


def source(name: str) -> Connector:
    return get("source", name)


def destination(name: str) -> Connector:
    return get("destination", name)


def config_models(kind: Kind) -> list[type]:
    """The registered config models of ``kind``, in name order (the members of the config's union)."""
    return [c.config for _, c in sorted(connectors(kind).items())]
