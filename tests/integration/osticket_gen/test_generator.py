"""The osTicket data generator: deterministic, truthful manifest, and every special case really in the data."""

from __future__ import annotations

import json

import pytest
from hdm_infra.osticket import files as fs
from hdm_infra.osticket.generator import CASES, LEGACY_UNSUPPORTED, GeneratorOptions, generate


def _checksums(server, database):
    with server.connect(database=database) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        names = sorted(r[0] for r in cur.fetchall())
        cur.execute("CHECKSUM TABLE " + ", ".join(f"`{n}`" for n in names if not n.endswith("config")))
        return {name: value for name, value in cur.fetchall()}


def test_same_seed_writes_the_same_database_and_another_seed_does_not(mariadb, tmp_path):
    sums = []
    for database, seed in (("det_a", 11), ("det_b", 11), ("det_c", 12)):
        mariadb.create_osticket_database(database)
        with mariadb.connect(database=database) as conn:
            generate(conn, GeneratorOptions(tickets=45, seed=seed, files_dir=tmp_path / database))
        sums.append({k.split(".", 1)[1]: v for k, v in _checksums(mariadb, database).items()})
        mariadb.drop_database(database)
    assert sums[0] == sums[1]
    assert sums[0] != sums[2]
    assert sorted(p.name for p in (tmp_path / "det_a").rglob("*") if p.is_file()) == \
        sorted(p.name for p in (tmp_path / "det_b").rglob("*") if p.is_file())


@pytest.mark.parametrize("version,prefix,charset", [("1.18", "ost_", "utf8"), ("1.14", "helpdesk_", "utf8mb4"),
                                                    ("legacy-1.9", "ost_", "utf8")])
def test_manifest_table_counts_equal_sql_counts(osticket_db, version, prefix, charset):
    db = osticket_db(version=version, prefix=prefix, charset=charset, tickets=60)
    assert db.manifest.tables["ticket"] == 60
    with db.connect() as conn, conn.cursor() as cur:
        for table, expected in db.manifest.tables.items():
            cur.execute(f"SELECT COUNT(*) FROM `{db.table(table)}`")
            assert cur.fetchone()[0] == expected, table


def test_manifest_message_counts_equal_visible_entries(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT h.object_id, COUNT(*) FROM {p}thread_entry e JOIN {p}thread h ON h.id=e.thread_id "
                    f"WHERE h.object_type='T' AND e.flags & 4 = 0 GROUP BY h.object_id")
        visible = dict(cur.fetchall())
    assert sum(visible.values()) == db.manifest.objects["message"]
    for ticket_id, truth in db.manifest.tickets.items():
        assert visible.get(ticket_id, 0) == truth.visible_entries, ticket_id


def test_every_special_case_is_generated_in_a_small_database(osticket_db):
    db = osticket_db(tickets=60)
    counts = db.manifest.special_counts
    for case in ["merged_child_ticket_ids", "linked_child_ticket_ids", "long_thread_ticket_ids", "edited_entry_ids",
                 "hidden_entry_ids", "system_note_entry_ids", "collaborator_message_entry_ids",
                 "agent_email_note_entry_ids", "unknown_sender_entry_ids", "long_body_entry_ids",
                 "empty_body_entry_ids", "text_body_entry_ids", "inline_image_entry_ids", "multi_chunk_file_ids",
                 "fs_file_ids", "shared_file_entry_ids", "missing_chunk", "size_mismatch", "missing_fs_file",
                 "zero_dates", "no_priority_ticket_ids", "stale_cdata_ticket_ids", "task_ids", "invalid_utf8",
                 "dangling_staff_entry_ids", "duplicate_org_ids", "orphan_user_ids", "multi_email_user_ids",
                 "unmatched_agent_ids", "epoch_datetime_ticket_ids", "recipients_entry_ids", "edit_chain_entry_ids",
                 "duplicate_number_ticket_ids", "reopened_ticket_ids", "non_latin_ticket_ids"]:
        assert counts[case] >= 1, case
    assert len(CASES) > len(LEGACY_UNSUPPORTED)


def test_merged_child_entries_live_in_the_parent_thread(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    child = db.manifest.special["merged_child_ticket_ids"][0]
    parent = db.manifest.tickets[child].merged_into
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, object_type, extra FROM {p}thread WHERE object_id=%s AND object_type IN ('T','C')",
                    (child,))
        child_thread, object_type, extra = cur.fetchone()
        assert object_type == "C" and json.loads(extra)["ticket_id"] == parent
        cur.execute(f"SELECT t.ticket_pid, t.flags & 3, s.state FROM {p}ticket t JOIN {p}ticket_status s "
                    f"ON s.id=t.status_id WHERE ticket_id=%s", (child,))
        assert cur.fetchone()[0:3:2] == (parent, "closed")
        cur.execute(f"SELECT COUNT(*) FROM {p}thread_entry WHERE thread_id=%s", (child_thread,))
        assert cur.fetchone()[0] == 0
        cur.execute(f"SELECT e.flags, h.object_id, m.data FROM {p}thread_entry e JOIN {p}thread h ON h.id=e.thread_id "
                    f"JOIN {p}thread_entry_merge m ON m.thread_entry_id=e.id WHERE json_value(m.data,'$.thread')=%s",
                    (child_thread,))
        rows = cur.fetchall()
    assert rows and all(flags & 0x400 and owner == parent for flags, owner, _ in rows)


def test_edits_hide_the_old_row_and_point_back_to_it(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        for new_id in db.manifest.special["edited_entry_ids"]:
            cur.execute(f"SELECT n.flags, o.flags, n.created = o.created, n.type = o.type FROM {p}thread_entry n "
                        f"JOIN {p}thread_entry o ON o.id = n.pid WHERE n.id=%s", (new_id,))
            new_flags, old_flags, same_created, same_type = cur.fetchone()
            assert new_flags & 0x2 and not new_flags & 0x4 and old_flags & 0x4 and same_created and same_type


def test_system_notes_and_unknown_senders_follow_osticket_rules(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT type, staff_id, user_id, poster, flags FROM {p}thread_entry WHERE id=%s",
                    (db.manifest.special["system_note_entry_ids"][0],))
        kind, staff, user, poster, flags = cur.fetchone()
        assert (kind, staff, user, poster) == ("N", 0, 0, "SYSTEM") and flags & 0x80
        cur.execute(f"SELECT type, user_id, body FROM {p}thread_entry WHERE id=%s",
                    (db.manifest.special["unknown_sender_entry_ids"][0],))
        kind, user, body = cur.fetchone()
        assert kind == "M" and user == 0 and "Received From:" in body


def test_long_bodies_move_to_an_inline_html_file_and_images_use_cid_keys(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        entry = db.manifest.special["long_body_entry_ids"][0]
        cur.execute(f"SELECT e.body, f.type, f.size, a.inline FROM {p}thread_entry e JOIN {p}attachment a "
                    f"ON a.object_id=e.id AND a.type='H' JOIN {p}file f ON f.id=a.file_id WHERE e.id=%s", (entry,))
        body, mime, size, inline = cur.fetchone()
        assert body == "" and mime == "text/html" and size >= 65_000 and inline == 1
        entry = db.manifest.special["inline_image_entry_ids"][0]
        cur.execute(f"SELECT e.body, f.`key` FROM {p}thread_entry e JOIN {p}attachment a ON a.object_id=e.id "
                    f"AND a.inline=1 JOIN {p}file f ON f.id=a.file_id WHERE e.id=%s", (entry,))
        body, key = cur.fetchone()
        assert f'src="cid:{key}"' in body and len(key) == 32


def test_file_storage_has_whole_and_deliberately_broken_files(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    special = db.manifest.special
    with db.connect() as conn, conn.cursor() as cur:
        def stored(file_id):
            cur.execute(f"SELECT COUNT(*), COALESCE(SUM(LENGTH(filedata)),0) FROM {p}file_chunk WHERE file_id=%s",
                        (file_id,))
            return cur.fetchone()

        def meta(file_id):
            cur.execute(f"SELECT size, bk, `key` FROM {p}file WHERE id=%s", (file_id,))
            return cur.fetchone()

        whole = [f for f in special["multi_chunk_file_ids"] if f not in special["missing_chunk"]][0]
        chunks, length = stored(whole)
        assert chunks >= 2 and length == meta(whole)[0]
        chunks, length = stored(special["missing_chunk"][0])
        assert length < meta(special["missing_chunk"][0])[0]
        size, _, _ = meta(special["size_mismatch"][0])
        assert stored(special["size_mismatch"][0])[1] != size
        for file_id in set(special["fs_file_ids"]) - set(special["missing_fs_file"]):
            size, bk, key = meta(file_id)
            assert bk == "F" and fs.fs_path(db.files_dir, key).stat().st_size == size
        _, bk, key = meta(special["missing_fs_file"][0])
        assert bk == "F" and not fs.fs_path(db.files_dir, key).exists()
        cur.execute(f"SELECT file_id, COUNT(*) FROM {p}attachment GROUP BY file_id HAVING COUNT(*) > 1")
        assert cur.fetchall(), "shared files are attached to several entries"


def test_zero_dates_and_invalid_utf8_are_really_stored(osticket_db):
    db = osticket_db(tickets=60)
    with db.connect() as conn, conn.cursor() as cur:
        for spot in db.manifest.special["zero_dates"]:
            pk = {"ticket": "ticket_id"}.get(spot["table"], "id")
            cur.execute(f"SELECT CAST(`{spot['column']}` AS CHAR) FROM {db.table(spot['table'])} WHERE {pk}=%s",
                        (spot["id"],))
            assert cur.fetchone()[0] == "0000-00-00 00:00:00", spot
        spot = db.manifest.special["invalid_utf8"][0]
        cur.execute(f"SELECT CAST(title AS BINARY) FROM {db.table(spot['table'])} WHERE id=%s", (spot["id"],))
        raw = cur.fetchone()[0]
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


def test_subject_and_priority_are_form_answers_and_cdata_can_be_stale(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT e.object_id, MAX(IF(f.name='subject', v.value, NULL)), "
                    f"MAX(IF(f.name='priority', v.value_id, NULL)) FROM {p}form_entry e "
                    f"JOIN {p}form_entry_values v ON v.entry_id=e.id JOIN {p}form_field f ON f.id=v.field_id "
                    f"WHERE e.object_type='T' AND e.form_id=2 GROUP BY e.object_id")
        answers = {tid: (subject, prio) for tid, subject, prio in cur.fetchall()}
        cur.execute(f"SELECT ticket_id, subject FROM {p}ticket__cdata")
        cdata = dict(cur.fetchall())
    for tid, truth in db.manifest.tickets.items():
        assert answers[tid] == (truth.subject, truth.priority_id)
    stale = set(db.manifest.special["stale_cdata_ticket_ids"])
    assert {tid for tid, subject in cdata.items() if subject != answers[tid][0]} == stale


def test_cdata_can_be_missing(osticket_db):
    db = osticket_db(tickets=20, cdata="missing")
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE %s", (db.table("ticket__cdata"),))
        assert cur.fetchall() == ()


def test_people_edge_cases(osticket_db):
    db = osticket_db(tickets=60)
    p = db.prefix
    special = db.manifest.special
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT LOWER(name), COUNT(*) FROM {p}organization GROUP BY LOWER(name) HAVING COUNT(*) > 1")
        assert cur.fetchall()
        cur.execute(f"SELECT id FROM {p}user WHERE org_id=0")
        assert sorted(r[0] for r in cur.fetchall()) == sorted(special["orphan_user_ids"])
        cur.execute(f"SELECT user_id FROM {p}user_email GROUP BY user_id HAVING COUNT(*) > 1")
        assert sorted(r[0] for r in cur.fetchall()) == sorted(special["multi_email_user_ids"])
        cur.execute(f"SELECT staff_id FROM {p}staff")
        staff = {r[0] for r in cur.fetchall()}
        cur.execute(f"SELECT staff_id FROM {p}thread_entry WHERE id=%s", (special["dangling_staff_entry_ids"][0],))
        assert cur.fetchone()[0] not in staff
