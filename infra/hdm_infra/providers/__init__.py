"""Contract and rehearsal providers: one file per connector, found by folder.

A provider tells the connector-neutral test machinery how to stand a connector up locally:

- a **source provider** (:class:`SourceProvider`) builds small source *fixtures* (a generated database, an
  export bundle on disk ...) and says what each holds (:class:`Inventory`), independently of the source's own
  code, and how to write hostile values into one (:class:`BadValue`);
- a **destination provider** (:class:`DestinationProvider`) starts or reuses the destination's emulator and
  says how to reset it, configure hdm for it and read it back (:class:`DestinationEmulator`).

Every module in this package (``hdm_infra/providers/<name>.py``) that defines ``SOURCE`` and/or ``DESTINATION``
(instances of the classes below) is picked up by :func:`sources` / :func:`destinations`. From one such file a
connector gets the whole source or destination contract suite (``tests/contract/``) and its rows in the
rehearsal matrix (:mod:`hdm_infra.rehearsal`): source fixture x destination emulator, for every pair that has a
mapping (:func:`pairs`).

Providers reach test resources (the session's MariaDB, emulator servers, temporary folders) only through
:class:`Resources`, so the same provider serves pytest fixtures (:class:`PytestResources`) and scripts.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SecretRef = Callable[[str, str], str]  # (name, value) -> a secret reference (file:, env:, an ARN)


class Resources(Protocol):
    """What a provider may ask its caller for."""

    def fixture(self, name: str) -> Any:
        """A named shared resource (pytest: a fixture of session or module scope, e.g. ``osticket_db``)."""
        ...

    def tmp_dir(self, name: str) -> Path:
        """A fresh private folder."""
        ...


class PytestResources:
    """:class:`Resources` over a pytest ``request`` (module- or session-scoped fixtures only)."""

    def __init__(self, request: Any, tmp_path_factory: Any):
        self.request = request
        self.tmp_path_factory = tmp_path_factory

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def tmp_dir(self, name: str) -> Path:
        return self.tmp_path_factory.mktemp(name)


# -- sources ----------------------------------------------------------------------------------------

@dataclass
class Inventory:
    """What a source fixture holds, known without the source's code (a generator's truth, a file listing).

    ``counts``: the exact number of canonical records per object type the source must extract.
    ``keys``: the exact record keys (``"contact:12"``) for the types the provider can list one by one.
    ``left_at_source``: per type, per reason, the records the source must report left at the source (not
    extracted, on purpose: e.g. an osTicket body kept in a file, which becomes a message body).
    Types absent from ``counts`` and ``keys`` are checked against the source's own discovery counts only.
    """

    counts: dict[str, int] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)
    left_at_source: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class BadValue:
    """A hostile or odd value the provider wrote into a fixture: the record holding it must be extracted and
    carry a flag (``codes``: acceptable flag codes; empty = any flag)."""

    key: str  # the record key, e.g. "ticket:3"
    what: str  # for messages: "created is the zero date 0000-00-00"
    codes: frozenset[str] = frozenset()


class SourceFixture(ABC):
    """One small dataset of a source, ready to be read."""

    source_type: str  # the registered source type, e.g. "osticket"
    label: str  # e.g. "osticket-1.18-8t"
    chunk_rows: int = 5  # small, so the plan has several chunks per large type

    @abstractmethod
    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        """The ``source:`` part of a migration config that reads this fixture."""

    @abstractmethod
    def inventory(self) -> Inventory:
        """What the fixture holds (see :class:`Inventory`)."""

    def people_in_destination(self) -> list[str]:
        """E-mail addresses of the fixture's agents that already exist in the destination (matched, not made)."""
        return []


class SourceProvider(ABC):
    name: str  # the registered source type

    @abstractmethod
    def fixture(self, resources: Resources, size: str = "contract") -> SourceFixture:
        """A small fixture; ``size`` is ``"contract"`` (a handful of records), ``"rehearsal"`` (the e2e one) or
        ``"parity"`` (the engines' parity test).
        The same request may return the same fixture: callers only read it."""

    @abstractmethod
    def hostile_fixture(self, resources: Resources) -> tuple[SourceFixture, list[BadValue]]:
        """A fixture of its own into which odd values were written, and where they are."""


# -- destinations -----------------------------------------------------------------------------------

class DestinationEmulator(ABC):
    """A running destination emulator, reset per use."""

    destination_type: str  # the registered destination type, e.g. "salesforce"
    # objects whose record counts a re-run must leave unchanged and a rollback must restore
    migrated_objects: tuple[str, ...] = ()
    # objects every migration of a source fixture fills (a parity comparison that finds one empty compares nothing)
    core_objects: tuple[str, ...] = ()
    # the object (and load phase) that internal notes and public replies are written to
    message_object: str = ""
    message_phase: str = ""

    @abstractmethod
    def reset(self, people: list[str]) -> None:
        """An empty account holding only the users a customer's org would (``people``: agent e-mails to match)."""

    def clear(self) -> None:
        """An empty account: no record, no user but the API's own."""
        self.reset([])

    @abstractmethod
    def config_section(self, secret_ref: SecretRef, **overrides: Any) -> dict[str, Any]:
        """The ``destination:`` part of a migration config that writes to this emulator."""

    def rehearsal_overrides(self) -> dict[str, Any]:
        """Destination options of the rehearsal (e.g. who owns what no matched agent owns)."""
        return {}

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Records per destination object, as the emulator holds them now."""

    @abstractmethod
    def existing(self, dest_object: str, ids: list[str]) -> set[str]:
        """Those of ``ids`` that still exist."""

    @abstractmethod
    def public(self, dest_object: str, ids: list[str]) -> set[str]:
        """Those of ``ids`` a customer can see."""

    def snapshot(self) -> dict[str, list[str]]:
        """Every migrated record, comparable across two runs: per object, sorted JSON lines without the values
        that differ between any two runs (ids replaced by the natural keys of the records they point to)."""
        raise NotImplementedError(f"the {self.destination_type} provider takes no snapshot (parity needs one)")


class DestinationProvider(ABC):
    name: str  # the registered destination type

    @abstractmethod
    def emulator(self, resources: Resources) -> DestinationEmulator:
        """The running emulator (shared: callers reset it before use)."""


# -- discovery --------------------------------------------------------------------------------------

def _modules() -> list[Any]:
    pkg = importlib.import_module(__name__)
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name) if not info.ispkg]


def sources() -> dict[str, SourceProvider]:
    """Every source provider, by source type."""
    found = [m.SOURCE for m in _modules() if isinstance(getattr(m, "SOURCE", None), SourceProvider)]
    return {p.name: p for p in found}


def destinations() -> dict[str, DestinationProvider]:
    """Every destination provider, by destination type."""
    found = [m.DESTINATION for m in _modules() if isinstance(getattr(m, "DESTINATION", None), DestinationProvider)]
    return {p.name: p for p in found}


def has_mapping(source_type: str, destination_type: str) -> bool:
    """Whether hdm ships a default mapping for the pair (``hdm/mapping/pairs/<source>-<destination>.yaml``)."""
    from hdm.mapping.loader import MappingError, default_mapping_path

    try:
        default_mapping_path(source_type, destination_type)
    except MappingError:
        return False
    return True


def pairs() -> list[tuple[str, str]]:
    """(source type, destination type) for every source provider and destination provider whose pair has a
    mapping: the rows of the rehearsal matrix and of the destination contract suite."""
    return [(s, d) for s in sorted(sources()) for d in sorted(destinations()) if has_mapping(s, d)]


# -- building what a fixture describes --------------------------------------------------------------

def file_secrets(folder: Path) -> SecretRef:
    """A ``secret_ref`` that writes each secret to a mode-600 file in ``folder`` and returns its ``file:`` ref."""
    from hdm_infra.rehearsal import write_secret

    return lambda name, value: write_secret(folder, name, value)


def build_source(fixture: SourceFixture, secrets_dir: Path, stage: Any = None) -> Any:
    """The source a fixture describes, built the way the engines build it: its config section validated by the
    registered config model, its secrets resolved from references, the registered factory. With ``stage``, the
    source gets the stage (``attach_stage``), as the pipeline gives it before discover, plan and extract."""
    from hdm import registry
    from hdm.engines.factories import build_source as build
    from hdm.sources.base import attach_stage

    model = registry.source(fixture.source_type).config
    source = build(model.model_validate(fixture.config_section(file_secrets(secrets_dir))))
    if stage is not None:
        attach_stage(source, stage)
    return source
