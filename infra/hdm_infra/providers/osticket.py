"""The osTicket provider: generated osTicket databases on the session's private MariaDB.

What a database holds comes from the generator's truth manifest (written while generating, never re-queried
through hdm) and from plain SQL over the tables, never from the osTicket source's own code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hdm_infra.providers import BadValue, Inventory, Resources, SecretRef, SourceFixture, SourceProvider

# generator manifest entries that are not canonical object types of their own
_FOLDED = {"task": ("ticket", "event"), "task_message": ("message",)}  # a task is a Ticket(kind=task) + one event
# manifest counts that cover part of a type only (canned responses, filters, the generator's own form fields)
_PARTIAL = {"response_template", "automation_rule", "custom_field"}
MATCHED_AGENT_DOMAIN = "@agents.example.test"  # the generator's agents that exist in the destination org

SIZES = {  # (tickets, seed): small; the rehearsal keeps the figures of the e2e tests it replaced
    "contract": (8, 5),
    "rehearsal": (60, 11),
    "parity": (30, 23),
}


@dataclass
class OsTicketFixture(SourceFixture):
    db: Any  # hdm_infra.testing.mariadb.OsticketDb (or anything with the same connection attributes)
    label: str = ""
    chunk_rows: int = 5
    source_type: str = "osticket"

    def config_section(self, secret_ref: SecretRef) -> dict[str, Any]:
        db = self.db
        tls_ca = getattr(db, "tls_ca", None)
        return {
            "type": "osticket", "host": db.host, "port": db.port, "database": db.database, "user": db.user,
            "password": secret_ref("osticket-password", db.password), "prefix": db.prefix,
            "attachments_dir": str(db.files_dir) if db.files_dir else None,
            **({"ssl": {"ca_bundle": str(tls_ca)}} if tls_ca else {}),
        }

    def _column(self, sql: str) -> list[Any]:
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.execute(sql)
            return [row[0] for row in cur.fetchall()]

    def inventory(self) -> Inventory:
        manifest = self.db.manifest
        counts: dict[str, int] = {}
        for name, n in manifest.objects.items():
            if name in _PARTIAL:
                continue
            for target in _FOLDED.get(name, (name,)):
                counts[target] = counts.get(target, 0) + int(n)
        # a body over 65,535 bytes lives in an inline file: it becomes the message body, not an attachment
        body_files = int(manifest.special_counts.get("long_body_entry_ids", 0))
        counts["attachment"] = counts.get("attachment", 0) - body_files
        t = self.db.table
        keys = {
            "organization": {f"organization:{i}" for i in self._column(f"SELECT id FROM {t('organization')}")},
            "contact": {f"contact:{i}" for i in self._column(f"SELECT id FROM {t('user')}")},
            "agent": {f"agent:{i}" for i in self._column(f"SELECT staff_id FROM {t('staff')}")},
        }
        left = {"attachment": {"body_storage_file": body_files}} if body_files else {}
        return Inventory(counts=counts, keys=keys, left_at_source=left)

    def people_in_destination(self) -> list[str]:
        emails = self._column(f"SELECT email FROM {self.db.table('staff')}")
        return sorted({e for e in emails if e and e.endswith(MATCHED_AGENT_DOMAIN)})


class OsTicketProvider(SourceProvider):
    name = "osticket"

    def fixture(self, resources: Resources, size: str = "contract") -> OsTicketFixture:
        tickets, seed = SIZES[size]
        db = resources.fixture("osticket_db")(version="1.18", tickets=tickets, seed=seed)
        return OsTicketFixture(db, label=f"osticket-1.18-{tickets}t", chunk_rows=5 if size == "contract" else 500)

    def hostile_fixture(self, resources: Resources) -> tuple[OsTicketFixture, list[BadValue]]:
        """A database of its own (a seed no other test asks for) with a zero date on a ticket and on a message,
        and a ticket whose owner is a user that does not exist."""
        db = resources.fixture("osticket_db")(version="1.18", tickets=4, seed=90_411)
        mariadb = resources.fixture("mariadb")
        p = db.prefix
        bad: list[BadValue] = []
        with mariadb.connect(database=db.database, init_command="SET SESSION sql_mode=''") as conn, \
                conn.cursor() as cur:
            cur.execute(f"SELECT ticket_id FROM {p}ticket ORDER BY ticket_id")
            tickets = [r[0] for r in cur.fetchall()]
            cur.execute(f"UPDATE {p}ticket SET created = '0000-00-00 00:00:00' WHERE ticket_id = %s", (tickets[0],))
            bad.append(BadValue(f"ticket:{tickets[0]}", "ticket.created is the zero date"))
            cur.execute(f"UPDATE {p}ticket SET user_id = 987654 WHERE ticket_id = %s", (tickets[1],))
            bad.append(BadValue(f"ticket:{tickets[1]}", "ticket.user_id names no user"))
            cur.execute(f"SELECT te.id FROM {p}thread_entry te JOIN {p}thread th ON th.id = te.thread_id "
                        f"WHERE th.object_type = 'T' AND te.type = 'M' ORDER BY te.id LIMIT 1")
            entry = cur.fetchone()[0]
            cur.execute(f"UPDATE {p}thread_entry SET created = '0000-00-00 00:00:00' WHERE id = %s", (entry,))
            bad.append(BadValue(f"message:{entry}", "thread_entry.created is the zero date"))
            conn.commit()
        return OsTicketFixture(db, label="osticket-1.18-hostile", chunk_rows=2), bad


SOURCE = OsTicketProvider()
