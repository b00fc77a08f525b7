"""A local rehearsal: a generated osTicket database on the private MariaDB, the Salesforce emulator,
and the migration config that points hdm at both. Used by the demo, the e2e tests and the benchmarks.

Secrets go to files (mode 600) and the config holds only ``file:`` references to them.
"""

from __future__ import annotations

import os
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


def migration_config(
    migration_id: str, db: SourceDb, emulator: RunningEmulator, secrets_dir: Path, **overrides: Any
) -> MigrationConfig:
    creds = emulator.credentials
    destination: dict[str, Any] = {
        "type": "salesforce",
        "login_domain": login_domain(emulator),
        "username": creds["username"],
        "password": write_secret(secrets_dir, "salesforce-password", creds["password"]),
        "security_token": write_secret(secrets_dir, "salesforce-token", creds["security_token"]),
        "ca_bundle": str(emulator.cert_path),
        "default_owner_email": DEFAULT_OWNER["Email"],
        "unmatched_agent_policy": "default_owner",
    }
    destination.update(overrides.pop("destination", {}))
    data: dict[str, Any] = {
        "migration_id": migration_id,
        "source": {
            "type": "osticket", "host": db.host, "port": db.port, "database": db.database, "user": db.user,
            "password": write_secret(secrets_dir, "osticket-password", db.password), "prefix": db.prefix,
            "attachments_dir": str(db.files_dir) if db.files_dir else None,
        },
        "destination": destination,
        "require_approval": True,
    }
    data.update(overrides)
    return MigrationConfig.model_validate(data)
