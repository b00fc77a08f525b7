"""A whole local migration of a generated osTicket database into which hostile rows were written: attachments whose
storage path points outside the configured folders, and a 2 MiB message body. Nothing outside the folders is read
or uploaded, every hostile row is accounted for in the reconciliation report with its reason, and the huge body
arrives as one file on its Case with one comment pointing to it."""

from __future__ import annotations

import os

from hdm.destinations.salesforce.comment_body import comment_ref
from hdm.engines.local import LocalEngine
from hdm_infra.rehearsal import agent_emails, destination_users, migration_config, prepare_org

SECRET = b"AWS_SECRET_ACCESS_KEY=never-leaves-this-machine\n"


def test_hostile_rows_are_refused_flagged_and_accounted_for(osticket_db, mariadb, sfemu, tmp_path):
    db = osticket_db(version="1.18", tickets=8, seed=4242)
    outside = tmp_path / "outside"
    legacy = tmp_path / "legacy16"
    outside.mkdir()
    legacy.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    os.symlink(outside / "secret.txt", legacy / "innocent.txt")
    with mariadb.connect(database=db.database) as conn, conn.cursor() as cur:
        p = db.prefix
        cur.execute(f"SELECT te.id, th.object_id FROM {p}thread_entry te JOIN {p}thread th ON th.id = te.thread_id "
                    f"WHERE te.type = 'M' AND th.object_type = 'T' ORDER BY te.id LIMIT 1")
        entry_id, ticket_id = cur.fetchone()
        hostile = {"environ.txt": ("6", "kenviron", "/proc/self/environ"),
                   "passwd.txt": ("F", "../../../../../../etc/passwd", None),
                   "secret.txt": ("6", "ksecret", str(outside / "secret.txt")),
                   "innocent.txt": ("6", "kinnocent", str(legacy / "innocent.txt"))}
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
    prepare_org(sfemu.running, users)
    cfg = migration_config("e2e-hostile", db, sfemu.running, tmp_path / "secrets")
    cfg.source.attachment_roots = [str(legacy)]

    engine = LocalEngine(cfg, workdir=tmp_path / "work", progress=False)
    outcome = engine.run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    report = outcome.report
    assert report["ok"]
    for phase in report["phases"]:
        assert sum(phase[k] for k in ("loaded", "matched", "merged", "rejected", "held", "skipped")) == \
            phase["source"], phase
    assert report["source"]["source_flags"]["attachment_path_refused"] == len(hostile)
    files = engine.stage.get_json("reports/phases/files.json")
    held = {f["source_key"]: f["reason"] for f in files["flags"] if f["code"] == "attachment_path_refused"}
    assert len(held) == len(hostile)
    assert any("/proc/self/environ" in reason for reason in held.values())
    held_rows = {e.source_key: e for e in engine.crosswalk.iter_migration("e2e-hostile", phase="files")
                 if e.state.value == "held"}
    assert set(held) <= set(held_rows) and all("not staged" in held_rows[k].reason for k in held)

    sf = sfemu.connect()
    titles = {v["Title"] for v in sf.query_all("SELECT Title FROM ContentVersion")["records"]}
    assert not titles & set(hostile)
    for root, _dirs, names in os.walk(tmp_path / "work"):
        for name in names:
            with open(os.path.join(root, name), "rb") as fh:
                data = fh.read()
            assert SECRET not in data and b"root:x:0:0" not in data, os.path.join(root, name)
    # the 2 MiB body: a file on its Case, one comment pointing to it
    assert f"message-{entry_id}.html" in titles
    pointers = [c for c in sf.query_all("SELECT CommentBody FROM CaseComment")["records"]
                if comment_ref(c["CommentBody"]) == f"message:{entry_id}#0"]
    assert len(pointers) == 1 and f"message-{entry_id}.html" in pointers[0]["CommentBody"]
    assert not any(comment_ref(c["CommentBody"]) == f"message:{entry_id}#1"
                   for c in sf.query_all("SELECT CommentBody FROM CaseComment")["records"])
    case = sf.query(f"SELECT Id FROM Case WHERE hdm_Legacy_Id__c = 'e2e-hostile/ticket:{ticket_id}'")["records"]
    assert case, "the hostile rows' ticket still migrated"
