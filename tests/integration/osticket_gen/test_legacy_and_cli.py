"""The legacy 1.9 layout and the generator's command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pymysql
from hdm.pipeline.secrets import resolve_secret


def test_legacy_tickets_keep_their_conversation_in_ticket_thread(osticket_db):
    db = osticket_db(version="legacy-1.9", tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {p}ticket_thread")
        assert cur.fetchone()[0] == db.manifest.objects["message"]
        cur.execute(f"SELECT COUNT(*) FROM {p}ticket_attachment a LEFT JOIN {p}ticket_thread t ON t.id=a.ref_id "
                    f"AND t.ticket_id=a.ticket_id WHERE t.id IS NULL")
        assert cur.fetchone()[0] == 0, "every legacy attachment points at an entry of its ticket"
        cur.execute(f"SELECT DISTINCT state FROM {p}ticket_event")
        assert {"created", "closed"} <= {r[0] for r in cur.fetchall()}
        cur.execute(f"SELECT number FROM {p}ticket WHERE ticket_id=1")
        assert isinstance(cur.fetchone()[0], str)
        cur.execute(f"SELECT COUNT(*) FROM {p}ticket_thread WHERE format='text'")
        assert cur.fetchone()[0] > 0
    assert "merged_child_ticket_ids" not in db.manifest.special


def test_command_line_builds_a_database_and_a_read_only_user(mariadb, tmp_path):
    manifest_path = tmp_path / "manifest.json"
    done = subprocess.run(
        [sys.executable, "-m", "hdm_infra.osticket", "--dir", str(mariadb.base_dir), "--database", "cli_osticket",
         "--tickets", "12", "--prefix", "hd_", "--files-dir", str(tmp_path / "files"), "--manifest",
         str(manifest_path)], capture_output=True, text=True, timeout=300, check=True)
    info = json.loads(done.stdout)
    manifest = json.loads(manifest_path.read_text())
    assert info["port"] == mariadb.port and manifest["objects"]["ticket"] == 12
    assert info["password"].startswith("file:")  # the password itself never reaches the terminal
    password = resolve_secret(info["password"])
    assert password not in done.stdout
    conn = pymysql.connect(host=info["host"], port=info["port"], user=info["user"], password=password,
                           database="cli_osticket")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM hd_ticket")
        assert cur.fetchone()[0] == 12
    mariadb.drop_database("cli_osticket")
