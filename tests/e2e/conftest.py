"""e2e fixtures: a generated osTicket database and a prepared emulator org, wired into a config."""

from __future__ import annotations

import pytest
from hdm_infra.rehearsal import agent_emails, destination_users, migration_config, prepare_org


@pytest.fixture
def rehearsal(osticket_db, mariadb, sfemu, tmp_path):
    """(config factory, generated db, emulator handle) for a 1.18 database of 60 tickets."""
    db = osticket_db(version="1.18", tickets=60, seed=11)
    with mariadb.connect(database=db.database) as conn:
        users = destination_users(agent_emails(conn, db.prefix))
    prepare_org(sfemu.running, users)

    def make(migration_id: str = "e2e-local", **overrides):
        return migration_config(migration_id, db, sfemu.running, tmp_path / "secrets", **overrides)

    return make, db, sfemu
