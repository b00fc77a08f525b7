"""A local osTicket → Intercom rehearsal: the Intercom emulator's workspace made ready for a generated osTicket
database (its matching agents as admins, all but the last of its departments as teams, so the report shows a
missing team too) and the migration config that points hdm at both. Used by the demo
(``scripts/demo.sh --destination intercom``) and the e2e tests.

Secrets go to files (mode 600); the config holds only ``file:`` references to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hdm.pipeline.config import MigrationConfig

from hdm_infra.rehearsal import MATCHED_AGENT_DOMAIN, file_secrets

DEFAULT_ADMIN = {"id": "991260001", "name": "Migration Owner", "email": "migration.owner@hdm.example"}


def workspace_for(conn: Any, prefix: str, missing_teams: int = 1) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(admins, teams) an Intercom workspace has before the migration: the default admin and the generator's agents
    that will match by email; a team per department but the last ``missing_teams`` ones."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT staff_id, firstname, lastname, email FROM `{prefix}staff` ORDER BY staff_id")
        staff = cur.fetchall()
        cur.execute(f"SELECT id, name FROM `{prefix}department` ORDER BY id")
        departments = cur.fetchall()
    admins = [dict(DEFAULT_ADMIN)]
    for staff_id, first, last, email in staff:
        if email and email.endswith(MATCHED_AGENT_DOMAIN):
            admins.append({"id": str(991260100 + int(staff_id)), "name": f"{first} {last}".strip() or email,
                           "email": email})
    keep = departments[: max(0, len(departments) - missing_teams)]
    ids = [int(a["id"]) for a in admins]
    teams = [{"id": str(5100 + int(did)), "name": name, "admin_ids": ids} for did, name in keep if name]
    return admins, teams


def intercom_config(migration_id: str, db: Any, running: Any, secrets_dir: Path, **overrides: Any) -> MigrationConfig:
    """The rehearsal's config for an osTicket database and a running Intercom emulator (``running``: url,
    cert_path, access_token)."""
    secret_ref = file_secrets(secrets_dir)
    destination = {"type": "intercom", "base_url": running.url,
                   "access_token": secret_ref("intercom-token", running.access_token),
                   "ca_bundle": str(running.cert_path), "default_admin_email": DEFAULT_ADMIN["email"],
                   **overrides.pop("destination", {})}
    overrides.setdefault("require_approval", True)
    return MigrationConfig.model_validate({
        "migration_id": migration_id,
        "source": {
            "type": "osticket", "host": db.host, "port": db.port, "database": db.database, "user": db.user,
            "password": secret_ref("osticket-password", db.password), "prefix": db.prefix,
            "attachments_dir": str(db.files_dir) if db.files_dir else None,
            **({"ssl": {"ca_bundle": str(db.tls_ca)}} if getattr(db, "tls_ca", None) else {}),
        },
        "destination": destination,
        **overrides,
    })
