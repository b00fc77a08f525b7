"""A whole migration of a generated osTicket database into which hostile rows were written: attachments whose
storage path points outside the configured folders, and a 2 MiB message body. On both engines: nothing outside
the folders is read or uploaded, every hostile row is accounted for in the reconciliation report with its reason,
and the huge body arrives as one file on its Case with one comment pointing to it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hdm.destinations.salesforce.comment_body import comment_ref
from hdm.engines.local import LocalEngine
from hdm_infra.rehearsal import agent_emails, destination_users, migration_config, prepare_org

pytestmark = pytest.mark.timeout(900)

SECRET = b"AWS_SECRET_ACCESS_KEY=never-leaves-this-machine\n"


@dataclass
class Hostile:
    entry_id: int
    ticket_id: int
    names: set[str]


def inject(mariadb, db, outside: Path, legacy: Path) -> tuple[Hostile, list[dict]]:
    """Hostile file rows on the first customer message of the database, and a 2 MiB body for that message."""
    outside.mkdir(exist_ok=True)
    legacy.mkdir(exist_ok=True)
    (outside / "secret.txt").write_bytes(SECRET)
    os.symlink(outside / "secret.txt", legacy / "innocent.txt")
    hostile = {"environ.txt": ("6", "kenviron", "/proc/self/environ"),
               "passwd.txt": ("F", "../../../../../../etc/passwd", None),
               "secret.txt": ("6", "ksecret", str(outside / "secret.txt")),
               "innocent.txt": ("6", "kinnocent", str(legacy / "innocent.txt"))}
    with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
        p = db.prefix
        cur.execute(f"SELECT te.id, th.object_id FROM {p}thread_entry te JOIN {p}thread th ON th.id = te.thread_id "
                    f"WHERE te.type = 'M' AND th.object_type = 'T' ORDER BY te.id LIMIT 1")
        entry_id, ticket_id = cur.fetchone()
        for name, (bk, key, attrs) in hostile.items():
            cur.execute(f"INSERT INTO {p}file (ft, bk, type, size, `key`, signature, name, attrs, created) "
                        f"VALUES ('T', %s, 'text/plain', 40, %s, %s, %s, %s, NOW())", (bk, key, key[:32], name, attrs))
            cur.execute(f"INSERT INTO {p}attachment (object_id, type, file_id, inline) VALUES (%s, 'H', %s, 0)",
                        (entry_id, cur.lastrowid))
        # a body over 65,535 bytes is kept by osTicket in an inline text/html file, the entry's body left empty
        huge = ("<p>" + "a log line that repeats and repeats and repeats " * 20 + "</p>\n").encode()
        huge *= 2 * 1024 * 1024 // len(huge)
        cur.execute(f"UPDATE {p}thread_entry SET body = '', format = 'html' WHERE id = %s", (entry_id,))
        cur.execute(f"INSERT INTO {p}file (ft, bk, type, size, `key`, signature, name, created) "
                    f"VALUES ('T', 'D', 'text/html', %s, 'khugebody', 'khugebody', 'body.html', NOW())", (len(huge),))
        body_file = cur.lastrowid
        for n, start in enumerate(range(0, len(huge), 500 * 1024)):
            cur.execute(f"INSERT INTO {p}file_chunk (file_id, chunk_id, filedata) VALUES (%s, %s, %s)",
                        (body_file, n, huge[start:start + 500 * 1024]))
        cur.execute(f"INSERT INTO {p}attachment (object_id, type, file_id, inline) VALUES (%s, 'H', %s, 1)",
                    (entry_id, body_file))
        conn.commit()
    with mariadb.connect(database=db.database) as conn:
        users = destination_users(agent_emails(conn, db.prefix))
    return Hostile(entry_id, ticket_id, set(hostile)), users


def check(report, phase_files, held_entries, sf, migration_id: str, hostile: Hostile, stage_root: Path | None):
    assert report["ok"]
    for phase in report["phases"]:
        assert sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped")) == \
            phase["source"], phase
    assert report["source"]["source_flags"]["attachment_path_refused"] == len(hostile.names)
    held = {f["source_key"]: f["reason"] for f in phase_files["flags"] if f["code"] == "attachment_path_refused"}
    assert len(held) == len(hostile.names)
    assert any("/proc/self/environ" in reason for reason in held.values())
    assert set(held) <= set(held_entries) and all("not staged" in held_entries[k] for k in held)

    titles = {v["Title"] for v in sf.query_all("SELECT Title FROM ContentVersion")["records"]}
    assert not titles & hostile.names
    if stage_root is not None:  # nothing of the files outside the folders reached the stage
        for root, _dirs, names in os.walk(stage_root):
            for name in names:
                with open(os.path.join(root, name), "rb") as fh:
                    data = fh.read()
                assert SECRET not in data and b"root:x:0:0" not in data, os.path.join(root, name)
    # the 2 MiB body: a file on its Case, one comment pointing to it
    entry_id = hostile.entry_id
    assert f"message-{entry_id}.html" in titles
    comments = sf.query_all("SELECT CommentBody FROM CaseComment")["records"]
    pointers = [c for c in comments if comment_ref(c["CommentBody"]) == f"message:{entry_id}#0"]
    assert len(pointers) == 1 and f"message-{entry_id}.html" in pointers[0]["CommentBody"]
    assert not any(comment_ref(c["CommentBody"]) == f"message:{entry_id}#1" for c in comments)
    case = sf.query(f"SELECT Id FROM Case WHERE hdm_Legacy_Id__c = '{migration_id}/ticket:{hostile.ticket_id}'")
    assert case["records"], "the hostile rows' ticket still migrated"


def test_hostile_rows_are_refused_flagged_and_accounted_for_on_the_local_engine(osticket_db, mariadb, sfemu,
                                                                                tmp_path):
    db = osticket_db(version="1.18", tickets=8, seed=4242)
    legacy = tmp_path / "legacy16"
    hostile, users = inject(mariadb, db, tmp_path / "outside", legacy)
    prepare_org(sfemu.running, users)
    cfg = migration_config("e2e-hostile", db, sfemu.running, tmp_path / "secrets")
    cfg.source.attachment_roots = [str(legacy)]

    engine = LocalEngine(cfg, workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    held_entries = {e.source_key: e.reason for e in engine.crosswalk.iter_migration("e2e-hostile", phase="files")
                    if e.state.value == "held"}
    check(outcome.report, engine.stage.get_json("reports/phases/files.json"), held_entries, sfemu.connect(),
          "e2e-hostile", hostile, tmp_path / "work")


def test_hostile_rows_are_refused_flagged_and_accounted_for_on_the_state_machine(osticket_db, mariadb, sfemu,
                                                                                 sam_stack, tmp_path):
    from hdm.engines import aws
    from hdm_infra.testing.aws import migration_config as aws_config
    from hdm_infra.testing.aws import store_secret

    db = osticket_db(version="1.18", tickets=8, seed=4243)
    # the legacy folder inside attachments_dir: the state machine's config carries attachments_dir only
    hostile, users = inject(mariadb, db, tmp_path / "outside", db.files_dir / "legacy16")
    prepare_org(sfemu.running, users)
    config = aws_config("m-hostile", db, sfemu.running,
                        lambda n, v: store_secret(f"hdm/{sam_stack.customer}/{n}", v), require_approval=False)
    status, body = sam_stack.api("POST", "/migrations", config)
    assert status == 202, body
    arn = f"{sam_stack.arns['MigrationStateMachine'].replace(':stateMachine:', ':execution:')}:m-hostile"
    done = sam_stack.wait(arn, timeout=600)
    assert done["status"] == "SUCCEEDED", sam_stack.api("GET", "/migrations/m-hostile")[1]
    stage = aws.stage_for("m-hostile")
    phase_files = stage.get_json("reports/phases/files.json")
    held_entries = {e.source_key: e.reason for e in aws.crosswalk().iter_migration("m-hostile", phase="files")
                    if e.state.value == "held"}
    check(stage.get_json("reports/reconciliation.json"), phase_files, held_entries, sfemu.connect(), "m-hostile",
          hostile, None)
