"""A local rehearsal: a generated osTicket database on the private MariaDB, the Salesforce emulator,
and the migration config that points hdm at both. Used by the demo, the e2e tests and the benchmarks.

Secrets go to files (mode 600) and the config holds only ``file:`` references to them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdm.pipeline.config import MigrationConfig

from hdm_infra.sfemu.client import AdminClient, login_domain
from hdm_infra.sfemu.server import RunningEmulator

MATCHED_AGENT_DOMAIN = "@agents.example.test"  # the generator's agents that exist in the destination org
DEFAULT_OWNER = {"Username": "migration.owner@hdm.example", "Email": "migration.owner@hdm.example",
                 "FirstName": "Migration", "LastName": "Owner"}


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


def write_secret(folder: Path, name: str, value: str) -> str:
    """Write a secret to ``folder/name`` (mode 600); returns its ``file:`` reference."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return f"file:{path}"


def destination_users(agent_emails: list[str]) -> list[dict[str, Any]]:
    """Users the destination org already has: the agents that will match, plus the default owner."""
    users = [DEFAULT_OWNER]
    for email in sorted(set(agent_emails)):
        if email and email.endswith(MATCHED_AGENT_DOMAIN):
            local = email.split("@", 1)[0]
            users.append({"Username": f"{local}@hdm.example", "Email": email, "FirstName": local.title(),
                          "LastName": "Agent"})
    return users


def agent_emails(conn: Any, prefix: str) -> list[str]:
    """Agent e-mail addresses of an osTicket database (admin or read-only connection)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT email FROM `{prefix}staff`")
        return [row[0] for row in cur.fetchall() if row[0]]


def prepare_org(emulator: RunningEmulator, users: list[dict[str, Any]], knobs: dict[str, Any] | None = None) -> None:
    """Reset the emulator's org to a customer's starting point: its users, nothing else."""
    admin = AdminClient(emulator)
    admin.reset(knobs=knobs or {})
    admin.seed(users=users)


def config_document(
    migration_id: str, db: Any, emulator: RunningEmulator, secret_ref: Callable[[str, str], str],
    destination: dict[str, Any] | None = None, **options: Any,
) -> dict[str, Any]:
    """The migration config (as data) for an osTicket database and a running emulator.

    ``db`` is anything with host, port, user, password, database, prefix and files_dir (a :class:`SourceDb`
    or the test fixture's database). ``secret_ref(name, value)`` turns each credential into a reference:
    :func:`file_secrets` for the local engine, a Secrets Manager ARN for the AWS engine.
    """
    creds = emulator.credentials
    return {
        "migration_id": migration_id,
        "source": {
            "type": "osticket", "host": db.host, "port": db.port, "database": db.database, "user": db.user,
            "password": secret_ref("osticket-password", db.password), "prefix": db.prefix,
            "attachments_dir": str(db.files_dir) if db.files_dir else None,
            **({"ssl": {"ca_bundle": str(db.tls_ca)}} if getattr(db, "tls_ca", None) else {}),
        },
        "destination": {
            "type": "salesforce",
            "login_domain": login_domain(emulator),
            "username": creds["username"],
            "password": secret_ref("salesforce-password", creds["password"]),
            "security_token": secret_ref("salesforce-token", creds["security_token"]),
            "ca_bundle": str(emulator.cert_path),
            **(destination or {}),
        },
        **options,
    }


def file_secrets(folder: Path) -> Callable[[str, str], str]:
    """A ``secret_ref`` that writes each secret to a mode-600 file and returns its ``file:`` reference."""
    return lambda name, value: write_secret(folder, name, value)


def migration_config(
    migration_id: str, db: Any, emulator: RunningEmulator, secrets_dir: Path, **overrides: Any
) -> MigrationConfig:
    """The rehearsal's config: secrets in files, the default owner for cases of unmatched agents."""
    destination = {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner",
                   **overrides.pop("destination", {})}
    overrides.setdefault("require_approval", True)
    return MigrationConfig.model_validate(
        config_document(migration_id, db, emulator, file_secrets(secrets_dir), destination, **overrides))
