"""Precise osTicket rows for extractor tests, written with an admin connection into a bare install.

Each method inserts what osTicket itself would write for one object (modern 1.10+ or legacy 1.9 layout) and returns
its id. Tests use it for cases a generator may not cover exactly (zero dates, invalid bytes, broken chunks …).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Optional

CHUNK = 500 * 1024


class Seeder:
    def __init__(self, conn: Any, prefix: str, legacy: bool = False) -> None:
        self.conn = conn
        self.p = prefix
        self.legacy = legacy
        self._fields = {(r[1], r[2]): r[0] for r in self._all(
            f"SELECT f.id, fm.type, f.name FROM `{prefix}form_field` f JOIN `{prefix}form` fm ON fm.id = f.form_id")}
        self._form_t = self._one(f"SELECT id FROM `{prefix}form` WHERE type = 'T'")

    # -- low level ----------------------------------------------------------------------------
    def t(self, name: str) -> str:
        return f"`{self.p}{name}`"

    def insert(self, table: str, **cols: Any) -> int:
        names = ", ".join(f"`{c}`" for c in cols)
        marks = ", ".join(["%s"] * len(cols))
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO {self.t(table)} ({names}) VALUES ({marks})", tuple(cols.values()))
            return cur.lastrowid

    def execute(self, sql: str, args: Any = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("{p}", self.p), args)

    def _all(self, sql: str, args: Any = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _one(self, sql: str, args: Any = None) -> Any:
        rows = self._all(sql, args)
        return rows[0][0] if rows else None

    # -- objects ------------------------------------------------------------------------------
    def department(self, name: str, sla_id: int = 0, manager_id: int = 0) -> int:
        return self.insert("department", name=name, sla_id=sla_id, manager_id=manager_id, signature="", flags=4,
                           created="2020-01-01 00:00:00", updated="2020-01-01 00:00:00")

    def sla(self, name: str, hours: int) -> int:
        return self.insert("sla", name=name, grace_period=hours, created="2020-01-01", updated="2020-01-01")

    def staff(self, username: str, dept_id: int, email: Optional[str] = None) -> int:
        return self.insert("staff", username=username, firstname=username.title(), lastname="Agent", dept_id=dept_id,
                           email=email or f"{username}@agents.example.test", signature="",
                           created="2020-01-01 00:00:00", updated="2020-01-01 00:00:00")

    def org(self, name: str) -> int:
        return self.insert("organization", name=name, created="2020-01-01 00:00:00", updated="2020-01-01 00:00:00")

    def user(self, name: str, email: str, org_id: int = 0) -> int:
        uid = self.insert("user", name=name, org_id=org_id, default_email_id=0, created="2020-01-01 00:00:00",
                          updated="2020-01-01 00:00:00")
        eid = self.insert("user_email", user_id=uid, address=email)
        self.execute(f"UPDATE {self.t('user')} SET default_email_id = %s WHERE id = %s", (eid, uid))
        return uid

    def ticket(self, user_id: int, subject: str, dept_id: int = 0, created: str = "2021-03-01 10:00:00",
               priority_id: Optional[int] = 3, status_id: int = 1, number: Optional[str] = None, **extra: Any) -> int:
        cols = dict(user_id=user_id, dept_id=dept_id, status_id=status_id, created=created, updated=created,
                    source="Email", **extra)
        tid = self.insert("ticket", number=number or "0", **cols)
        self.execute(f"UPDATE {self.t('ticket')} SET number = %s WHERE ticket_id = %s", (number or f"{100000 + tid}",
                                                                                         tid))
        if not self.legacy:
            self.insert("thread", object_id=tid, object_type="T", created=created)
        entry = self.insert("form_entry", form_id=self._form_t, object_id=tid, object_type="T", created=created,
                            updated=created)
        self.insert("form_entry_values", entry_id=entry, field_id=self._fields[("T", "subject")], value=subject)
        if priority_id is not None:
            self.insert("form_entry_values", entry_id=entry, field_id=self._fields[("T", "priority")],
                        value="High", value_id=priority_id)
        return tid

    def thread_of(self, ticket_id: int) -> int:
        return self._one(f"SELECT id FROM {self.t('thread')} WHERE object_id = %s AND object_type IN ('T', 'C')",
                         (ticket_id,))

    def entry(self, ticket_id: int, type_: str, body: Any, created: str, *, staff_id: int = 0, user_id: int = 0,
              flags: int = 0, poster: str = "", fmt: str = "html", thread_id: Optional[int] = None) -> int:
        if self.legacy:
            return self.insert("ticket_thread", ticket_id=ticket_id, staff_id=staff_id, user_id=user_id,
                               thread_type=type_, poster=poster, source="Email", title="t", body=body, format=fmt,
                               created=created, updated=created)
        return self.insert("thread_entry", thread_id=thread_id or self.thread_of(ticket_id), staff_id=staff_id,
                           user_id=user_id, type=type_, flags=flags, poster=poster, source="Email", title="t",
                           body=body, format=fmt, created=created, updated=created)

    def file(self, data: bytes, name: str, mime: str = "application/octet-stream", bk: str = "D",
             chunks: Optional[list[int]] = None, files_dir: Optional[str] = None, size: Optional[int] = None) -> int:
        sha = hashlib.sha1(data).hexdigest()
        file_key = ("k" + sha)[:32]
        fid = self.insert("file", ft="T", bk=bk, type=mime, size=len(data) if size is None else size, key=file_key,
                          signature=sha[:32], name=name, created="2021-03-01 10:00:00")
        if bk == "D":
            parts = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
            for n, part in enumerate(parts):
                if chunks is None or n in chunks:
                    self.insert("file_chunk", file_id=fid, chunk_id=n, filedata=part)
        elif bk == "F" and files_dir:
            folder = os.path.join(files_dir, file_key[0])
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, file_key), "wb") as fh:
                fh.write(data)
        return fid

    def attach(self, ticket_id: int, entry_id: int, file_id: int, inline: bool = False) -> int:
        if self.legacy:
            return self.insert("ticket_attachment", ticket_id=ticket_id, file_id=file_id, ref_id=entry_id,
                               inline=int(inline), created="2021-03-01 10:00:00")
        return self.insert("attachment", object_id=entry_id, type="H", file_id=file_id, inline=int(inline))

    def event(self, ticket_id: int, name_id: int, when: str, staff_id: int = 0) -> int:
        if self.legacy:
            states = {1: "created", 2: "closed", 3: "reopened", 4: "assigned"}
            self.insert("ticket_event", ticket_id=ticket_id, staff_id=staff_id, team_id=0, dept_id=0, topic_id=0,
                        state=states[name_id], staff="SYSTEM", timestamp=when)
            return 0
        return self.insert("thread_event", thread_id=self.thread_of(ticket_id), thread_type="T", event_id=name_id,
                           staff_id=staff_id, team_id=0, dept_id=0, topic_id=0, username="SYSTEM",
                           uid=staff_id or None, uid_type="S", timestamp=when,
                           data=json.dumps({"status": [1, "Open"]}))

    def _has(self, table: str, column: str) -> bool:
        return bool(self._one("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                              "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (f"{self.p}{table}", column)))
