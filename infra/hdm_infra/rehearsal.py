"""A local rehearsal: a source fixture × a destination emulator, and the migration config that points hdm at
both. Used by the demo, the e2e tests, the destination contract suite and the benchmarks.

The matrix comes from the providers (:mod:`hdm_infra.providers`, one file per connector): every source
provider × every destination provider whose pair has a default mapping is a row (:func:`pairs`), built by
:func:`rehearsal`. Adding a provider adds rows; no code here names a connector except the osTicket ×
Salesforce shorthands kept for the scripts and tests written before the matrix (:func:`config_document`,
:func:`migration_config`, :func:`destination_users`, :func:`agent_emails`, :func:`prepare_org`).

Secrets go to files (mode 600) and the config holds only ``file:`` references to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdm.localfiles import private_dir, write_private
from hdm.pipeline.config import MigrationConfig

from hdm_infra import providers
from hdm_infra.providers import DestinationEmulator, Resources, SecretRef, SourceFixture
from hdm_infra.providers.osticket import MATCHED_AGENT_DOMAIN, OsTicketFixture
from hdm_infra.providers.salesforce import DEFAULT_OWNER, SalesforceEmulator, org_users

__all__ = ["DEFAULT_OWNER", "MATCHED_AGENT_DOMAIN", "Rehearsal", "SourceDb", "agent_emails", "config_document",
           "destination_users", "file_secrets", "migration_config", "pairs", "prepare_org", "rehearsal",
           "write_secret"]


def write_secret(folder: Path, name: str, value: str) -> str:
    """Write a secret to ``folder/name`` (mode 600); returns its ``file:`` reference."""
    private_dir(folder)
    path = folder / name
    write_private(path, value)  # also tightens a file an earlier run left with a wider mode
    return f"file:{path}"


def file_secrets(folder: Path) -> Callable[[str, str], str]:
    """A ``secret_ref`` that writes each secret to a mode-600 file and returns its ``file:`` reference."""
    return lambda name, value: write_secret(folder, name, value)


# -- the matrix -------------------------------------------------------------------------------------

def pairs() -> list[tuple[str, str]]:
    """The matrix's rows: (source type, destination type), see :func:`hdm_infra.providers.pairs`, less the sources
    whose provider says why it is not in the rehearsal yet (``not_in_rehearsal``; the contract suites still run)."""
    out_of_matrix = {name for name, p in providers.sources().items() if getattr(p, "not_in_rehearsal", None)}
    return [(s, d) for s, d in providers.pairs() if s not in out_of_matrix]


@dataclass
class Rehearsal:
    """One row of the matrix: a source fixture and a destination emulator."""

    source: SourceFixture
    destination: DestinationEmulator

    @property
    def label(self) -> str:
        return f"{self.source.label}->{self.destination.destination_type}"

    def prepare(self, **kw: Any) -> None:
        """The destination reset to a customer's starting point: its users (the source's agents that match)."""
        self.destination.reset(self.source.people_in_destination(), **kw)

    def document(self, migration_id: str, secret_ref: SecretRef, destination: dict[str, Any] | None = None,
                 **options: Any) -> dict[str, Any]:
        """The migration config as data; ``secret_ref(name, value)`` turns each credential into a reference
        (:func:`file_secrets` for the local engine, a Secrets Manager ARN for the AWS engine)."""
        return {
            "migration_id": migration_id,
            "source": self.source.config_section(secret_ref),
            "destination": self.destination.config_section(secret_ref, **(destination or {})),
            **options,
        }

    def config(self, migration_id: str, secrets_dir: Path, **overrides: Any) -> MigrationConfig:
        """The rehearsal's config: secrets in files, the destination's rehearsal options (who owns what no
        matched agent owns), approval required unless overridden."""
        destination = {**self.destination.rehearsal_overrides(), **overrides.pop("destination", {})}
        overrides.setdefault("require_approval", True)
        return MigrationConfig.model_validate(
            self.document(migration_id, file_secrets(secrets_dir), destination, **overrides))


def rehearsal(source_type: str, destination_type: str, resources: Resources, size: str = "rehearsal") -> Rehearsal:
    """The matrix row for a pair, its fixture and emulator obtained through ``resources``."""
    source = providers.sources()[source_type].fixture(resources, size)
    return Rehearsal(source, providers.destinations()[destination_type].emulator(resources))


# -- osTicket × Salesforce shorthands (scripts and tests written before the matrix) ----------------

@dataclass(frozen=True)
class SourceDb:
    host: str
    port: int
    user: str
    password: str
    database: str
    prefix: str
    files_dir: Path | None = None
    tls_ca: Path | None = None  # when set, the config reaches the database over TLS verified by this CA


def destination_users(agent_emails: list[str]) -> list[dict[str, Any]]:
    """Users the destination org already has: the agents that will match, plus the default owner."""
    return org_users([e for e in agent_emails if e and e.endswith(MATCHED_AGENT_DOMAIN)])


def agent_emails(conn: Any, prefix: str) -> list[str]:
    """Agent e-mail addresses of an osTicket database (admin or read-only connection)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT email FROM `{prefix}staff`")
        return [row[0] for row in cur.fetchall() if row[0]]


def prepare_org(emulator: Any, users: list[dict[str, Any]], knobs: dict[str, Any] | None = None) -> None:
    """Reset the Salesforce emulator's org to a customer's starting point: its users, nothing else."""
    from hdm_infra.sfemu.client import AdminClient

    admin = AdminClient(emulator)
    admin.reset(knobs=knobs or {})
    admin.seed(users=users)


def _osticket_salesforce(db: Any, emulator: Any) -> Rehearsal:
    return Rehearsal(OsTicketFixture(db, label=getattr(db, "database", "osticket")), SalesforceEmulator(emulator))


def config_document(
    migration_id: str, db: Any, emulator: Any, secret_ref: Callable[[str, str], str],
    destination: dict[str, Any] | None = None, **options: Any,
) -> dict[str, Any]:
    """The migration config (as data) for an osTicket database and a running Salesforce emulator.

    ``db`` is anything with host, port, user, password, database, prefix and files_dir (a :class:`SourceDb`
    or the test fixture's database).
    """
    return _osticket_salesforce(db, emulator).document(migration_id, secret_ref, destination, **options)


def migration_config(
    migration_id: str, db: Any, emulator: Any, secrets_dir: Path, **overrides: Any
) -> MigrationConfig:
    """The rehearsal's config for an osTicket database and the Salesforce emulator (see :meth:`Rehearsal.config`)."""
    return _osticket_salesforce(db, emulator).config(migration_id, secrets_dir, **overrides)
