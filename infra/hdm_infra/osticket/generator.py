"""Write osTicket-shaped data at any scale, deterministically by seed, following osTicket's own storage rules.

Entry point: ``generate(conn, GeneratorOptions(...)) -> Manifest``. ``conn`` is a pymysql connection to a database
that already holds the install schema (``MariaDB.create_osticket_database``). Rows stream out as multi-row INSERTs;
only reference data (users, staff, …) is kept in memory, tickets are written one group at a time.

The rules followed are those of /work/shared/reference/notes/osticket.md: §2 threads and flags, §4 forms and value
formats, §5 files, §6 people, §7 ticket fields, §8 traps. The returned manifest is computed while writing.

Special cases: every case in ``CASES`` is forced onto one of the first tickets (so 40+ tickets contain all of them)
and then occurs at random at the rates in ``GeneratorOptions``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hdm_infra.osticket import content
from hdm_infra.osticket import files as fs
from hdm_infra.osticket import install_data as idata
from hdm_infra.osticket.bulk import BatchInserter
from hdm_infra.osticket.manifest import Manifest, TicketTruth

# thread_entry.flags (notes §2.1)
F_ORIGINAL, F_EDITED, F_HIDDEN, F_GUARDED = 0x1, 0x2, 0x4, 0x8
F_COLLABORATOR, F_BALANCED, F_SYSTEM, F_REPLY_ALL, F_REPLY_USER, F_CHILD = 0x20, 0x40, 0x80, 0x100, 0x200, 0x400
# ticket.flags (notes §8.6)
T_COMBINE, T_SEPARATE, T_LINKED, T_PARENT = 0x1, 0x2, 0x8, 0x10
ZERO_DATE = "0000-00-00 00:00:00"
LONG_BODY_CHARS = 65_000

CASES = [
    "merge", "link", "long_thread", "edit", "system_note", "collab_message", "agent_email_note", "unknown_sender",
    "long_body", "empty_body", "text_body", "inline_image", "attachment_multi_chunk", "attachment_fs", "shared_file",
    "missing_chunk", "size_mismatch", "missing_fs_file", "zero_dates", "no_priority", "stale_cdata", "task",
    "rich_html", "non_latin", "invalid_utf8", "dangling_staff", "reopened", "archived", "resolved", "recipients",
    "duplicate_number", "legacy_datetime", "edit_chain",
]
# cases that also occur at random (``rate_rare`` per ticket) beyond their forced first occurrence
RARE_CASES = ["unknown_sender", "collab_message", "reopened", "empty_body", "text_body", "zero_dates", "no_priority",
              "dangling_staff", "recipients", "overdue"]
LEGACY_UNSUPPORTED = {"merge", "link", "edit", "edit_chain", "task", "recipients"}  # no such data before 1.10/1.14
VERSION_UNSUPPORTED = {"1.14": set(), "1.18": set(), "legacy-1.9": LEGACY_UNSUPPORTED}


@dataclass
class GeneratorOptions:
    tickets: int = 100
    seed: int = 7
    version: str = "1.18"
    prefix: str = "ost_"
    files_dir: Path | None = None  # root of filesystem-backend ('F') files; without it every file is bk 'D'
    cdata: str = "stale"  # "fresh" | "stale" (a few rows disagree) | "missing" (no __cdata tables)
    invalid_utf8: bool = True  # thread_entry.title becomes latin1 and a few titles hold invalid UTF-8 bytes
    start: str = "2019-01-01"
    per_ticket_limit: int = 20_000  # keep per-ticket truth in the manifest up to this many tickets
    rate_merge: float = 0.01
    rate_link: float = 0.01
    rate_long_thread: float = 0.02
    rate_task: float = 0.03
    rate_attachment: float = 0.12  # per entry
    rate_edit: float = 0.03  # per entry
    rate_system_note: float = 0.05  # per ticket
    rate_collaborators: float = 0.08  # per ticket
    rate_long_body: float = 0.0005  # per entry
    rate_rare: float = 0.005  # per ticket, for each of RARE_CASES
    batch_bytes: int = 4_000_000
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Entry:
    id: int
    type: str
    created: int
    staff_id: int = 0
    user_id: int = 0
    flags: int = 0
    pid: int = 0
    poster: str = ""
    source: str = "Web"
    title: str | bytes | None = None
    body: str = ""
    format: str = "html"
    editor: int | None = None
    editor_type: str | None = None
    recipients: str | None = None
    files: list[tuple[int, int, str | None]] = field(default_factory=list)  # (file_id, inline, name override)
    email_mid: str | None = None
    merge_from_thread: int | None = None


def _ts(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())


def _dt(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


# the effective zone of a datetime answer is the field's forced zone, else the zone of whoever typed it, so one field
# holds answers in several zones (recorded: 'UTC', 'CET', 'CEST')
ANSWER_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "UTC")


def _form_datetime(ts: int, zone: str = "UTC") -> str:
    """A datetime form answer as osTicket 1.10.1+ stores it: ``Y-m-d H:i:s T`` in the effective zone
    (``DatetimeWidget::getValue``), e.g. ``2025-03-16 00:00:00 UTC`` or ``2025-07-01 11:30:00 CEST`` - not W3C
    despite the code comment. Recorded: tests/fixtures/osticket_real/*/osticket.sql.gz (incident_start, deadline)."""
    moment = datetime.fromtimestamp(ts, ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()}"


class _Generator:
    def __init__(self, conn: Any, opts: GeneratorOptions) -> None:
        if opts.version not in idata.VERSIONS:
            raise ValueError(f"unknown osTicket version {opts.version!r}")
        if opts.cdata not in ("fresh", "stale", "missing"):
            raise ValueError(f"cdata must be fresh, stale or missing (got {opts.cdata!r})")
        if opts.tickets < 0:
            raise ValueError("tickets must be >= 0")
        self.conn = conn
        self.o = opts
        self.p = opts.prefix
        self.legacy = opts.version == "legacy-1.9"
        self.rng = random.Random(opts.seed)
        self.files_rng = random.Random(opts.seed * 7919 + 1)
        self.w = BatchInserter(conn, opts.prefix, opts.batch_bytes)
        self.m = Manifest(version=opts.version, prefix=opts.prefix, seed=opts.seed)
        if opts.tickets <= opts.per_ticket_limit:
            self.m.tickets = {}
        self.ids: dict[str, int] = {}
        self.t0 = _ts(opts.start)
        self.unsupported = VERSION_UNSUPPORTED[opts.version]
        self.fields: dict[str, dict[str, int]] = {}  # form kind -> field name -> field id
        self.field_types: dict[int, str] = {}

    # ----- helpers -------------------------------------------------------------------------------------------
    def next_id(self, name: str) -> int:
        self.ids[name] = self.ids.get(name, 0) + 1
        return self.ids[name]

    def add(self, table: str, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        self.w.add(table, columns, row)
        self.m.tables[table] += 1

    def _baseline_counts(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.TABLES WHERE table_schema = DATABASE()")
            names = [r[0] for r in cur.fetchall()]
            for name in names:
                if not name.startswith(self.p):
                    continue
                cur.execute(f"SELECT COUNT(*) FROM `{name}`")
                count = int(cur.fetchone()[0])
                self.m.tables[name[len(self.p):]] = count
                if name == f"{self.p}form_field":
                    self.ids["form_field"] = count
                if name == f"{self.p}form":
                    self.ids["form"] = count
        if self.o.invalid_utf8:
            table = "ticket_thread" if self.legacy else "thread_entry"
            with self.conn.cursor() as cur:
                cur.execute(f"ALTER TABLE `{self.p}{table}` MODIFY `title` varchar(255) CHARACTER SET latin1 NULL")
            self.m.notes["latin1_columns"] = [f"{table}.title"]

    # ----- reference data ------------------------------------------------------------------------------------
    def reference_data(self) -> None:
        n = max(1, self.o.tickets)
        rng = self.rng
        t = _dt(self.t0 - 86400 * 30)
        # SLA plans
        self.sla_ids = []
        for name, hours, flags in [("Default SLA", 18, 0x3), ("Priority SLA", 4, 0x1), ("Legacy SLA", 72, 0x0)]:
            sid = self.next_id("sla")
            self.sla_ids.append(sid)
            cols = ("id", "flags", "grace_period", "name", "notes", "created", "updated")
            if not self.legacy:
                cols = ("id", "schedule_id", "flags", "grace_period", "name", "notes", "created", "updated")
                self.add("sla", cols, (sid, 0, flags, hours, name, None, t, t))
            else:
                self.add("sla", cols, (sid, flags, hours, name, None, t, t))
        self.m.objects["sla_policy"] = len(self.sla_ids)
        # departments with hierarchy (pid/path), flags 0x4 active, 0x8 archived
        depts = [("Support", None, 0x4), ("Sales", None, 0x4), ("Billing", 2, 0x4), ("Hardware", 1, 0x4),
                 ("EMEA Hardware", 4, 0x4), ("Old Projects", None, 0x8)]
        self.dept_ids = []
        for name, pid, flags in depts:
            did = self.next_id("department")
            self.dept_ids.append(did)
            path = f"/{pid}/{did}/" if pid else f"/{did}/"
            if pid == 4:
                path = f"/1/4/{did}/"
            cols = ("id", "pid", "tpl_id", "sla_id", "email_id", "autoresp_email_id", "manager_id", "flags", "name",
                    "signature", "ispublic", "group_membership", "ticket_auto_response", "message_auto_response",
                    "path", "updated", "created")
            self.add("department", cols, (did, pid, 0, 1, 0, 0, 0, flags, name, "", 1, 0, 1, 1, path, t, t))
        # staff: real rows, some with emails that match no destination user, plus dangling ids never inserted
        n_staff = max(8, min(300, n // 150 + 8))
        self.staff: list[tuple[int, str]] = []
        for _ in range(n_staff):
            sid = self.next_id("staff")
            first, last = rng.choice(content.FIRST), rng.choice(content.LAST)
            unmatched = sid in (3, 7) or (sid > 10 and rng.random() < 0.03)
            email = f"agent{sid}@old-helpdesk.invalid" if unmatched else f"agent{sid}@agents.example.test"
            if unmatched:
                self.m.mark("unmatched_agent_ids", sid)
            dept = self.dept_ids[sid % 4]
            active = 0 if sid == 5 else 1
            cols = ("staff_id", "dept_id", "role_id", "username", "firstname", "lastname", "passwd", "email", "phone",
                    "signature", "isactive", "isadmin", "isvisible", "created", "updated")
            if self.legacy:
                cols = cols[:2] + cols[3:]
                row: tuple[Any, ...] = (sid, dept, f"agent{sid}", first, last, None, email, "", "", active,
                                        int(sid == 1), 1, t, t)
            else:
                row = (sid, dept, 1, f"agent{sid}", first, last, None, email, "", "", active, int(sid == 1), 1, t, t)
            self.add("staff", cols, row)
            self.staff.append((sid, f"{first} {last}"))
            if not self.legacy and sid % 3 == 0:
                other = self.dept_ids[(sid + 1) % 4]
                self.add("staff_dept_access", ("staff_id", "dept_id", "role_id", "flags"), (sid, other, 2, 1))
        self.dangling_staff = [n_staff + 1, n_staff + 2, n_staff + 3]
        self.m.notes["dangling_staff_ids"] = self.dangling_staff
        self.m.objects["agent"] = n_staff
        # teams
        self.team_ids = []
        for name, flags in [("Level 2", 0x1), ("Night shift", 0x3), ("Retired team", 0x0)]:
            tid = self.next_id("team")
            self.team_ids.append(tid)
            self.add("team", ("team_id", "lead_id", "flags", "name", "notes", "created", "updated"),
                     (tid, self.staff[0][0], flags, name, None, t, t))
            for sid, _ in self.staff[tid::4][:5]:
                self.add("team_member", ("team_id", "staff_id", "flags"), (tid, sid, 0))
        self.m.objects["team"] = len(self.dept_ids) + len(self.team_ids)
        # lists and custom fields
        self._custom_fields(t)
        self.create_cdata_tables()
        # help topics (topic_pid hierarchy; one with a 'G' form)
        self.topic_ids = []
        for name, pid, flags in [("General Inquiry", 0, 0x2), ("Report a Problem", 0, 0x2), ("Hardware", 2, 0x2),
                                 ("Billing question", 0, 0x2), ("Old topic", 0, 0x4)]:
            tid = self.next_id("help_topic")
            self.topic_ids.append(tid)
            cols = ("topic_id", "topic_pid", "ispublic", "noautoresp", "flags", "status_id", "priority_id", "dept_id",
                    "staff_id", "team_id", "sla_id", "page_id", "sequence_id", "sort", "topic", "notes", "created",
                    "updated")
            if self.legacy:
                cols = tuple(c for c in cols if c != "flags")
                row = (tid, pid, 1, 0, 0, 2, self.dept_ids[tid % 4], 0, 0, 1, 0, 0, tid, name, None, t, t)
            else:
                row = (tid, pid, 1, 0, flags, 0, 2, self.dept_ids[tid % 4], 0, 0, 1, 0, 0, tid, name, None, t, t)
            self.add("help_topic", cols, row)
        self.add("help_topic_form", ("id", "topic_id", "form_id", "sort", "extra"), (1, 3, self.g_form, 1, None))
        self.add("help_topic_form", ("id", "topic_id", "form_id", "sort", "extra"),
                 (2, 3, idata.FORM_TICKET, 0, None))
        self.m.objects["category"] = len(self.topic_ids)
        self.m.objects["status"] = len(idata.TICKET_STATUSES)
        self.m.objects["priority"] = len(idata.TICKET_PRIORITIES)
        self._organizations(n, t)
        self._users(n)
        self._inventory(t)
        self._shared_files()

    def _custom_fields(self, t: str) -> None:
        for kind, form_id in (("T", idata.FORM_TICKET), ("U", idata.FORM_USER), ("O", idata.FORM_ORG),
                              ("A", idata.FORM_TASK)):
            self.fields[kind] = {}
            for f_form, _type, _label, name, _flags, _cfg, _sort in idata.CORE_FIELDS:
                if f_form == form_id:
                    self.fields[kind][name] = [f for f in range(1, len(idata.CORE_FIELDS) + 1)
                                               if idata.CORE_FIELDS[f - 1][0] == form_id
                                               and idata.CORE_FIELDS[f - 1][3] == name][0]
        # a custom list "Region"
        lid = self.next_id("list")
        self.add("list", ("id", "name", "name_plural", "sort_mode", "masks", "type", "configuration", "notes",
                          "created", "updated"), (lid, "Region", "Regions", "SortCol", 0, None, "", None, t, t))
        self.region_items = []
        for sort, (value, extra) in enumerate([("Europe", "EU"), ("North America", "NA"), ("Asia Pacific", "APAC"),
                                               ("Latin America", "LATAM"), ("Middle East", "ME")], start=1):
            iid = self.next_id("list_items")
            self.region_items.append((iid, value))
            self.add("list_items", ("id", "list_id", "status", "value", "extra", "sort", "properties"),
                     (iid, lid, 0x1 if value != "Middle East" else 0x3, value, extra, sort, "[]"))
        self.list_type = f"list-{lid}"
        both = idata.FLAG_ENABLED | idata.FLAG_CLIENT_VIEW | idata.FLAG_CLIENT_EDIT | idata.FLAG_AGENT_VIEW \
            | idata.FLAG_AGENT_EDIT
        agent_only = idata.FLAG_ENABLED | idata.FLAG_AGENT_VIEW | idata.FLAG_AGENT_EDIT
        choices = json.dumps({"choices": "hw:Hardware\nsw:Software\nnet:Network\nbill:Billing", "multiselect": True})
        custom = {
            "T": [("text", "Order number", "order_number", both | idata.FLAG_CLIENT_REQUIRED, None),
                  ("memo", "Internal summary", "internal_summary", agent_only, None),
                  ("bool", "VIP customer", "vip", agent_only | idata.FLAG_AGENT_REQUIRED, None),
                  ("datetime", "Purchase date", "purchase_date", both, json.dumps({"time": True})),
                  ("choices", "Product area", "product_area", both, choices),
                  (self.list_type, "Region", "region", both | idata.FLAG_AGENT_REQUIRED, None),
                  ("phone", "Callback phone", "callback_phone", both, None)],
            "U": [("text", "Customer ID", "customer_id", agent_only | idata.FLAG_AGENT_REQUIRED, None),
                  (self.list_type, "Home region", "home_region", both, None),
                  ("datetime", "Customer since", "customer_since", agent_only, None)],
            "O": [("choices", "Industry", "industry", both,
                   json.dumps({"choices": "it:IT\nretail:Retail\nhealth:Healthcare"})),
                  ("bool", "Key account", "key_account", agent_only, None)],
        }
        form_ids = {"T": idata.FORM_TICKET, "U": idata.FORM_USER, "O": idata.FORM_ORG}
        for kind, defs in custom.items():
            for sort, (ftype, label, name, flags, config) in enumerate(defs, start=10):
                fid = self._add_field(form_ids[kind], ftype, label, name, flags, config, sort, t)
                self.fields[kind][name] = fid
                self.field_types[fid] = ftype
        # a generic 'G' form attached to the Hardware help topic (not part of ticket__cdata)
        self.g_form = self.next_id("form")
        self.add("form", ("id", "pid", "type", "flags", "title", "instructions", "name", "notes", "created",
                          "updated"), (self.g_form, None, "G", 1, "Hardware details", None, "", None, t, t))
        self.fields["G"] = {}
        for sort, (ftype, label, name) in enumerate([("text", "Serial number", "serial"),
                                                     ("bool", "Under warranty", "warranty")], start=1):
            fid = self._add_field(self.g_form, ftype, label, name, both, None, sort, t)
            self.fields["G"][name] = fid
            self.field_types[fid] = ftype
        # an orphaned field (form deleted: form_id=0), answers may remain
        self.orphan_field = self._add_field(0, "text", "Old reference", "old_ref", both, None, 99, t)
        self.field_types[self.orphan_field] = "text"
        self.m.objects["custom_field"] = sum(len(d) for d in custom.values()) + 2
        self.m.notes["custom_fields"] = {k: sorted(v) for k, v in self.fields.items()}

    def _add_field(self, form_id: int, ftype: str, label: str, name: str, flags: int, config: str | None,
                   sort: int, t: str) -> int:
        fid = self.next_id("form_field")
        if self.legacy:
            cols = ("id", "form_id", "type", "label", "required", "private", "edit_mask", "name", "configuration",
                    "sort", "hint", "created", "updated")
            row: tuple[Any, ...] = (fid, form_id, ftype, label, int(bool(flags & idata.FLAG_CLIENT_REQUIRED)),
                                    int(not flags & idata.FLAG_CLIENT_VIEW), 0, name, config, sort, None, t, t)
        else:
            cols = ("id", "form_id", "flags", "type", "label", "name", "configuration", "sort", "hint", "created",
                    "updated")
            row = (fid, form_id, flags, ftype, label, name, config, sort, None, t, t)
        self.add("form_field", cols, row)
        return fid

    def _form_entry(self, form_id: int, object_id: int, object_type: str, sort: int, created: str,
                    values: list[tuple[int, Any, int | None]], extra: str | None = None) -> int:
        eid = self.next_id("form_entry")
        self.add("form_entry", ("id", "form_id", "object_id", "object_type", "sort", "extra", "created", "updated"),
                 (eid, form_id, object_id, object_type, sort, extra, created, created))
        for field_id, value, value_id in values:
            self.add("form_entry_values", ("entry_id", "field_id", "value", "value_id"),
                     (eid, field_id, value, value_id))
        return eid

    def _organizations(self, n: int, t: str) -> None:
        rng = self.rng
        n_orgs = max(6, n // 40)
        self.org_ids = list(range(1, n_orgs + 1))
        self.ids["organization"] = n_orgs
        for oid in self.org_ids:
            name = content.company_name(rng, oid)
            if oid in (4, 5):  # duplicate names (no unique index; case-insensitive twins)
                name = "Globex Corporation" if oid == 4 else "GLOBEX corporation"
                self.m.mark("duplicate_org_ids", oid)
            domain = f"{name.split()[0].lower()}{oid}.example.test"
            if oid % 7 == 0:
                domain += f",.{name.split()[0].lower()}-mail.example.test"
            manager = f"s{self.staff[oid % len(self.staff)][0]}" if oid % 5 == 0 else ""
            created = ZERO_DATE if oid == 6 else t
            if oid == 6:
                self.m.mark("zero_dates", {"table": "organization", "column": "created", "id": oid})
            self.add("organization", ("id", "name", "manager", "status", "domain", "extra", "created", "updated"),
                     (oid, name, manager, (oid % 4) * 0x8 if oid % 3 == 0 else 0, domain, None, created, t))
            values = [(self.fields["O"]["address"], f"{oid} Main Street\nSpringfield", None),
                      (self.fields["O"]["phone"], f"555{oid:07d}", None),
                      (self.fields["O"]["website"], f"https://{domain.split(',')[0]}", None),
                      (self.fields["O"]["industry"], json.dumps({"it": "IT"} if oid % 2 else {"retail": "Retail"}),
                       None),
                      (self.fields["O"]["key_account"], "1" if oid % 4 == 0 else "0", None)]
            self._form_entry(idata.FORM_ORG, oid, "O", 1, t, values)
            if self.o.cdata != "missing":
                self._cdata_row("organization__cdata", oid, values, "O")
        self.m.objects["organization"] = n_orgs

    def _users(self, n: int) -> None:
        rng = self.rng
        n_users = max(20, n // 3)
        self.users: list[tuple[str, int]] = [("", 0)]  # index = user id -> (name, default email id)
        for uid in range(1, n_users + 1):
            name = content.person_name(rng)
            org = 0 if (uid % 3 == 0 or uid == 2) else rng.choice(self.org_ids)
            if org == 0:
                self.m.mark("orphan_user_ids", uid)
            created_ts = self.t0 - rng.randint(0, 86400 * 300)
            created = _dt(created_ts)
            email_id = self.next_id("user_email")
            self.add("user_email", ("id", "user_id", "flags", "address"),
                     (email_id, uid, 0, f"user{uid}@mail.example.test"))
            if uid % 20 == 1:  # several addresses
                for extra in range(1 + uid % 2):
                    eid = self.next_id("user_email")
                    self.add("user_email", ("id", "user_id", "flags", "address"),
                             (eid, uid, 0, f"user{uid}.alt{extra}@other.example.test"))
                self.m.mark("multi_email_user_ids", uid)
            status = 0x1 if (org and uid % 10 == 0) else 0
            self.add("user", ("id", "org_id", "default_email_id", "status", "name", "created", "updated"),
                     (uid, org, email_id, status, name, created, created))
            self.users.append((name, email_id))
            if uid % 4 == 0:
                aid = self.next_id("user_account")
                self.add("user_account", ("id", "user_id", "status", "timezone", "lang", "username", "passwd",
                                          "backend", "extra", "registered"),
                         (aid, uid, 0x1 if uid % 8 else 0x3, "UTC", None, None, None, None, None, created))
            values = [(self.fields["U"]["phone"], f"555{uid:07d}" + ("X12" if uid % 9 == 0 else ""), None),
                      (self.fields["U"]["customer_id"], f"C-{uid:06d}", None)]
            if uid % 3 == 0:
                iid, label = self.region_items[uid % len(self.region_items)]
                values.append((self.fields["U"]["home_region"], json.dumps({str(iid): label}), None))
            if uid % 5 == 0:
                since = created_ts - 86400 * 400
                since_text = str(since) if uid % 10 == 0 else _form_datetime(since)
                values.append((self.fields["U"]["customer_since"], since_text, None))
            self._form_entry(idata.FORM_USER, uid, "U", 1, created, values)
            if self.o.cdata != "missing":
                self._cdata_row("user__cdata", uid, values, "U")
        self.m.objects["contact"] = n_users

    def _inventory(self, t: str) -> None:
        for cid, title in enumerate(["Password reset steps", "We are looking into it", "Closing due to inactivity"], 1):
            self.add("canned_response", ("canned_id", "dept_id", "isenabled", "title", "response", "lang", "notes",
                                         "created", "updated"),
                     (cid, 0, 1, title, f"<p>{title}. Regards, %{{staff.name}}</p>", "en_US", None, t, t))
        self.m.objects["response_template"] = 3
        self.add("email_template_group", ("tpl_id", "isactive", "name", "lang", "notes", "created", "updated"),
                 (1, 1, "osTicket Default Template", "en_US", None, t, t))
        for tid, code in enumerate(["ticket.autoresp", "ticket.reply", "message.alert"], 1):
            self.add("email_template", ("id", "tpl_id", "code_name", "subject", "body", "notes", "created", "updated"),
                     (tid, 1, code, f"Re: %{{ticket.subject}} [#{code}]", "<p>%{ticket.thread}</p>", None, t, t))
        filters = [("Route billing", "dept", {"dept_id": 3}, [("subject", "contains", "invoice")]),
                   ("Reject spam", "reject", {},
                    [("email", "ends", "@spam.example.test"), ("body", "match", "/viagra/i")])]
        for fid, (name, action, config, rules) in enumerate(filters, 1):
            cols = ("id", "execorder", "isactive", "flags", "status", "match_all_rules", "stop_onmatch", "target",
                    "email_id", "name", "notes", "created", "updated")
            row: tuple[Any, ...] = (fid, fid, 1, 0, 0, 1, 0, "Any", 0, name, None, t, t)
            if self.legacy:
                cols = tuple(c for c in cols if c != "flags")
                row = row[:3] + row[4:]
            self.add("filter", cols, row)
            for what, how, val in rules:
                self.add("filter_rule", ("filter_id", "what", "how", "val", "isactive", "notes", "created", "updated"),
                         (fid, what, how, val, 1, "", t, t))
            self.add("filter_action", ("filter_id", "sort", "type", "configuration", "updated"),
                     (fid, 1, action, json.dumps(config), t))
        self.m.objects["automation_rule"] = len(filters)

    def _shared_files(self) -> None:
        """A few files referenced by many entries (osTicket dedupes files by signature and size)."""
        self.shared = []
        for name, mime, size in [("company-logo.png", "image/png", 6_000), ("terms.pdf", "application/pdf", 40_000)]:
            raw = fs.png_bytes(self.files_rng, size) if mime == "image/png" else fs.pdf_bytes(self.files_rng, size)
            self.shared.append(self._file(name, mime, raw, _dt(self.t0)))

    # ----- files ---------------------------------------------------------------------------------------------
    def _file(self, name: str, mime: str, raw: bytes, created: str, backend: str = "D", damage: str | None = None,
              ) -> int:
        fid = self.next_id("file")
        key = fs.file_key(self.files_rng, raw)
        size = len(raw) + (1000 if damage == "size_mismatch" else 0)
        if backend == "F" and self.o.files_dir is not None:
            if damage != "missing_fs_file":
                fs.write_fs_file(Path(self.o.files_dir), key, raw)
        else:
            backend = "D"
            pieces = fs.chunks(raw)
            for index, piece in enumerate(pieces):
                if damage == "missing_chunk" and index == 1:
                    continue
                self.add("file_chunk", ("file_id", "chunk_id", "filedata"), (fid, index, piece))
        self.add("file", ("id", "ft", "bk", "type", "size", "key", "signature", "name", "attrs", "created"),
                 (fid, "T", backend, mime, size, key, fs.file_signature(raw), name, None, created))
        self.last_file_key = key  # kept for the caller that embeds it as cid:<key>
        if damage:
            self.m.mark(damage, fid)
        return fid

    # ----- tickets -------------------------------------------------------------------------------------------
    def tickets(self) -> None:
        n = self.o.tickets
        rng = self.rng
        span = 86400 * 365 * 4
        forced = [c for c in CASES if c not in self.unsupported]
        tid = 0
        while tid < n:
            tid += 1
            case = forced.pop(0) if forced else None
            cases = {case} if case else set()
            for name, rate in (("merge", self.o.rate_merge), ("link", self.o.rate_link),
                               ("long_thread", self.o.rate_long_thread), ("task", self.o.rate_task)):
                if name not in self.unsupported and rng.random() < rate:
                    cases.add(name)
            for name in RARE_CASES:
                if name not in self.unsupported and rng.random() < self.o.rate_rare:
                    cases.add(name)
            created = self.t0 + int(span * tid / max(n, 1)) + rng.randint(0, 3600)
            children = 0
            if cases & {"merge", "link"} and tid < n:
                children = min(n - tid, 1 + (rng.random() < 0.3))
            parent_thread = self._ticket(tid, created, cases, parent=None)
            relation = "merge" if "merge" in cases else "link"
            for _ in range(children):
                tid += 1
                self._ticket(tid, created + rng.randint(60, 7200), {relation + "_child"}, parent=parent_thread)

    def _ticket(self, tid: int, created: int, cases: set[str], parent: tuple[int, int] | None) -> tuple[int, int]:
        """Write one ticket with its thread, entries, events, forms and files; return (ticket_id, thread_id)."""
        rng = self.rng
        uid = rng.randint(1, len(self.users) - 1)
        user_name, user_email_id = self.users[uid]
        status_id = rng.choices([1, 2, 3, 4], weights=[40, 15, 40, 5])[0]
        if "archived" in cases:
            status_id = 4
        if "resolved" in cases:
            status_id = 2
        merged_child = "merge_child" in cases
        linked_child = "link_child" in cases
        if merged_child:
            status_id = 3  # a merged child is forced into a closed status
        state = idata.TICKET_STATUSES[status_id - 1][2]
        staff_id, staff_name = self.staff[rng.randrange(len(self.staff))] if rng.random() < 0.8 else (0, "")
        if "dangling_staff" in cases:
            staff_id, staff_name = self.dangling_staff[0], "Former Agent"
            self.m.mark("dangling_staff_ticket_ids", tid)
        dept_id = self.dept_ids[rng.randrange(5)]
        topic_id = 0 if rng.random() < 0.1 else self.topic_ids[rng.randrange(4)]
        team_id = self.team_ids[0] if rng.random() < 0.1 else 0
        source = rng.choice(["Web", "Email", "Email", "Phone", "API", "Other"])
        number = f"{100000 + tid}"
        if "duplicate_number" in cases and tid > 1:
            number = f"{100000 + tid - 1}"
            self.m.mark("duplicate_number_ticket_ids", tid)
        thread_id = self.next_id("thread")
        subject = content.subject(rng)
        # ---- entries ----
        entries = self._entries(tid, thread_id, created, cases, uid, user_name, staff_id or self.staff[0][0],
                                staff_name or self.staff[0][1], source)
        last = max(e.created for e in entries)
        closed = last + 600 if state in ("closed", "archived") else None
        reopened = None
        if "reopened" in cases:
            reopened = last - 300
            self.m.mark("reopened_ticket_ids", tid)
        flags = 0
        ticket_pid = None
        if parent is not None:
            ticket_pid = parent[0]
            flags = T_LINKED if linked_child else (T_COMBINE if rng.random() < 0.5 else T_SEPARATE)
        if "merge" in cases or "link" in cases:
            flags |= T_PARENT
        duedate = None
        lastupdate: str | None = _dt(closed or last)
        if "zero_dates" in cases:
            duedate = ZERO_DATE
            lastupdate = ZERO_DATE
            self.m.mark("zero_dates", {"table": "ticket", "column": "duedate", "id": tid})
            if not self.legacy:
                self.m.mark("zero_dates", {"table": "ticket", "column": "lastupdate", "id": tid})
        last_m = max((e.created for e in entries if e.type == "M"), default=created)
        last_r = max((e.created for e in entries if e.type == "R"), default=None)
        if self.legacy:
            cols = ("ticket_id", "number", "user_id", "user_email_id", "status_id", "dept_id", "sla_id", "topic_id",
                    "staff_id", "team_id", "email_id", "ip_address", "source", "isoverdue", "isanswered", "duedate",
                    "reopened", "closed", "lastmessage", "lastresponse", "created", "updated")
            row: tuple[Any, ...] = (
                tid, number, uid, user_email_id, status_id, dept_id, 1, topic_id, staff_id, team_id, 0, "10.0.0.1",
                source, 0, int(last_r is not None), duedate, _dt(reopened) if reopened else None,
                _dt(closed) if closed else None, _dt(last_m), _dt(last_r) if last_r else None, _dt(created),
                _dt(closed or last))
        else:
            cols = ("ticket_id", "ticket_pid", "number", "user_id", "user_email_id", "status_id", "dept_id", "sla_id",
                    "topic_id", "staff_id", "team_id", "email_id", "lock_id", "flags", "sort", "ip_address", "source",
                    "source_extra", "isoverdue", "isanswered", "duedate", "est_duedate", "reopened", "closed",
                    "lastupdate", "created", "updated")
            row = (tid, ticket_pid, number, uid, user_email_id, status_id, dept_id, 1, topic_id, staff_id, team_id,
                   0, 0, flags, 1 if linked_child else 0, "10.0.0.1", source, None, int("overdue" in cases),
                   int(last_r is not None), duedate, _dt(created + 18 * 3600), _dt(reopened) if reopened else None,
                   _dt(closed) if closed else None, lastupdate, _dt(created), _dt(closed or last))
        self.add("ticket", cols, row)
        # ---- thread ----
        own_thread_visible = 0
        if not self.legacy:
            object_type, extra = "T", None
            if merged_child:
                object_type = "C"
                extra = json.dumps({"ticket_id": parent[0], "number": self._number_of(parent[0])})
            lastresponse: str | None = _dt(last_r) if last_r else None
            if "zero_dates" in cases:
                lastresponse = ZERO_DATE
                self.m.mark("zero_dates", {"table": "thread", "column": "lastresponse", "id": thread_id})
            self.add("thread", ("id", "object_id", "object_type", "extra", "lastresponse", "lastmessage", "created"),
                     (thread_id, tid, object_type, extra, lastresponse, _dt(last_m), _dt(created)))
        target_thread = parent[1] if merged_child else thread_id
        visible = hidden = n_att = n_inline = 0
        for entry in entries:
            if merged_child:
                entry.flags |= F_CHILD
                entry.merge_from_thread = thread_id
            self._write_entry(tid, target_thread, entry)
            if entry.flags & F_HIDDEN:
                hidden += 1
            else:
                visible += 1
                n_att += len(entry.files)
                n_inline += sum(1 for _, inline, _ in entry.files if inline)
        if merged_child:
            self.m.mark("merged_child_ticket_ids", tid)
            for moved in entries:
                if not moved.flags & F_HIDDEN:
                    self.m.mark("merged_entry_ids", moved.id)
            if self.m.tickets is not None and parent[0] in self.m.tickets:
                truth = self.m.tickets[parent[0]]
                truth.visible_entries += visible
                truth.hidden_entries += hidden
                truth.attachments += n_att
                truth.inline_attachments += n_inline
            self.m.objects["message"] += visible
        else:
            own_thread_visible = visible
            self.m.objects["message"] += visible
        if linked_child:
            self.m.mark("linked_child_ticket_ids", tid)
        if "merge" in cases:
            self.m.mark("merge_parent_ticket_ids", tid)
        self.m.objects["attachment"] += n_att
        # ---- events, collaborators, forms, task ----
        self._events(tid, thread_id, created, closed, reopened, staff_id, staff_name, uid, user_name, cases, parent)
        if rng.random() < self.o.rate_collaborators or "collab_message" in cases:
            self._collaborators(tid, thread_id, uid, created)
        priority_id = self._ticket_forms(tid, created, topic_id, subject, cases)
        if "task" in cases:
            self._task(tid, created, dept_id)
        self.m.objects["ticket"] += 1
        self.m.tables.setdefault("ticket", 0)
        if self.m.tickets is not None:
            self.m.tickets[tid] = TicketTruth(
                number=number, subject=subject, status_state=state, visible_entries=own_thread_visible,
                hidden_entries=0 if merged_child else hidden, attachments=0 if merged_child else n_att,
                inline_attachments=0 if merged_child else n_inline,
                merged_into=parent[0] if merged_child else None, linked_to=parent[0] if linked_child else None,
                priority_id=priority_id)
        self._numbers[tid] = number  # recent numbers, for the merged child's thread.extra
        if len(self._numbers) > 64:
            self._numbers.pop(next(iter(self._numbers)))
        return tid, thread_id

    def _number_of(self, tid: int) -> str:
        return self._numbers.get(tid, f"{100000 + tid}")

    def _entries(self, tid: int, thread_id: int, created: int, cases: set[str], uid: int, user_name: str,
                 staff_id: int, staff_name: str, source: str) -> list[_Entry]:
        rng = self.rng
        count = 1 + min(int(rng.expovariate(0.35)), 14)
        if "long_thread" in cases:
            count = rng.randint(20, 32)
            self.m.mark("long_thread_ticket_ids", tid)
        at = created
        entries: list[_Entry] = []
        for index in range(count):
            if index == 0:
                kind = "M"
            else:
                kind = rng.choices(["M", "R", "N"], weights=[40, 45, 15])[0]
            at += rng.randint(120, 86400) if index else 0
            entry = _Entry(id=0, type=kind, created=at, source=source if index == 0 else rng.choice(["Web", "Email"]))
            if kind == "M":
                entry.user_id, entry.poster = uid, user_name
                entry.flags = F_ORIGINAL if index == 0 else 0
            else:
                entry.staff_id, entry.poster = staff_id, staff_name
            entry.title = f"Re: {content.subject(rng)}" if index else content.subject(rng)
            script = None
            if rng.random() < 0.05:
                script = rng.choice(list(content.SCRIPTS))
            entry.body = content.html_body(rng, rich=rng.random() < 0.15, script=script)
            if self.legacy and rng.random() < 0.3:
                entry.format, entry.body = "text", content.plain_body(rng)  # <= 1.10 stored text unescaped
            entries.append(entry)
        # the forced special cases land on specific entries
        last = entries[-1]
        if "rich_html" in cases:
            entries[0].body = content.html_body(rng, rich=True) + content.html_body(rng, rich=True)
            self.m.mark("rich_html_ticket_ids", tid)
        if "non_latin" in cases:
            for i, script in enumerate(["cjk", "arabic", "cyrillic"]):
                entries[min(i, len(entries) - 1)].body = content.html_body(rng, script=script)
            self.m.mark("non_latin_ticket_ids", tid)
        if "text_body" in cases:
            text = content.plain_body(rng)
            # 1.11+ stores format='text' bodies through Format::htmlchars (TextThreadEntryBody::getClean)
            entries[0].format, entries[0].body = "text", text if self.legacy else content.stored_text(text)
        if "empty_body" in cases:
            last.body = "-"
        if "long_body" in cases or rng.random() < self.o.rate_long_body:
            self._long_body(entries[0])
        if "unknown_sender" in cases:
            unknown = _Entry(id=0, type="M", created=last.created + 300, source="Email",
                             poster="Stranger Danger", title="Re: forwarded",
                             body='<div class="banner">Received From: Stranger Danger &lt;stranger@unknown.example.test'
                                  "&gt;</div>" + content.html_body(rng))
            entries.append(unknown)
        if "collab_message" in cases:
            cuid = uid % (len(self.users) - 1) + 1
            entries.append(_Entry(id=0, type="M", created=entries[-1].created + 200, user_id=cuid,
                                  poster=self.users[cuid][0], flags=F_COLLABORATOR, source="Email",
                                  title="Re: cc", body=content.html_body(rng)))
            self._collab_user = cuid
        if "agent_email_note" in cases:
            entries.append(_Entry(id=0, type="N", created=entries[-1].created + 100, staff_id=staff_id,
                                  poster=staff_name, source="Email", title="Re: reply by email",
                                  body=content.html_body(rng)))
        if "system_note" in cases or rng.random() < self.o.rate_system_note:
            entries.append(_Entry(id=0, type="N", created=entries[-1].created + 60, flags=F_SYSTEM, poster="SYSTEM",
                                  source="", title="Status Changed",
                                  body="<p>Ticket status changed by rule.</p>"))
        if "recipients" in cases:
            reply = _Entry(id=0, type="R", created=entries[-1].created + 90, staff_id=staff_id, poster=staff_name,
                           source="", title="Re: all", body=content.html_body(rng), flags=F_REPLY_ALL,
                           recipients=json.dumps({"to": [f"{self.users[uid][0]} <user{uid}@mail.example.test>"],
                                                  "cc": ["Ops <ops@example.test>"]}))
            entries.append(reply)
        if "dangling_staff" in cases:
            ghost = _Entry(id=0, type="R", created=entries[-1].created + 30, staff_id=self.dangling_staff[1],
                           poster="Deleted Agent", source="", title="Re: ghost", body=content.html_body(rng))
            entries.append(ghost)
        # assign ids in created order (osTicket orders by created, id)
        entries.sort(key=lambda e: e.created)
        final: list[_Entry] = []
        for entry in entries:
            entry.id = self.next_id("thread_entry")
            if entry.source == "Email":
                entry.email_mid = f"<{hashlib.md5(f'{self.o.seed}-{entry.id}'.encode()).hexdigest()}@mail.example.test>"
            final.append(entry)
            edit = not self.legacy and entry.flags & F_SYSTEM == 0 and (
                rng.random() < self.o.rate_edit or ("edit" in cases and entry is entries[0])
                or ("edit_chain" in cases and entry is entries[0]))
            if edit:
                final.extend(self._edits(tid, entry, chain=2 if "edit_chain" in cases else 1,
                                         editor=staff_id))
        self._attachments(tid, final, cases)
        if "invalid_utf8" in cases and self.o.invalid_utf8:
            victim = final[-1]
            victim.title = b"Re: caf\xe9 \xff\xfe order \xc3"  # latin1 bytes, lone lead byte: not valid UTF-8
            self.m.mark("invalid_utf8", {"table": "thread_entry" if not self.legacy else "ticket_thread",
                                         "column": "title", "id": victim.id})
        for entry in final:
            if entry.type == "M" and entry.user_id == 0 and entry.flags & F_SYSTEM == 0:
                self.m.mark("unknown_sender_entry_ids", entry.id)
            if entry.flags & F_SYSTEM:
                self.m.mark("system_note_entry_ids", entry.id)
            if entry.flags & F_COLLABORATOR:
                self.m.mark("collaborator_message_entry_ids", entry.id)
            if entry.type == "N" and entry.source == "Email" and entry.staff_id:
                self.m.mark("agent_email_note_entry_ids", entry.id)
            if entry.body == "-":
                self.m.mark("empty_body_entry_ids", entry.id)
            if entry.format == "text":
                self.m.mark("text_body_entry_ids", entry.id)
            if entry.staff_id in self.dangling_staff:
                self.m.mark("dangling_staff_entry_ids", entry.id)
            if entry.recipients:
                self.m.mark("recipients_entry_ids", entry.id)
        return final

    def _edits(self, tid: int, original: _Entry, chain: int, editor: int) -> list[_Entry]:
        """Superseded versions: the old row gets FLAG_HIDDEN, the new one FLAG_EDITED, pid=old id, same created."""
        versions = []
        previous = original
        for step in range(chain):
            previous.flags |= F_HIDDEN
            newer = _Entry(id=self.next_id("thread_entry"), type=previous.type, created=previous.created,
                           staff_id=previous.staff_id, user_id=previous.user_id,
                           flags=(previous.flags & ~F_HIDDEN & ~F_ORIGINAL) | F_EDITED | (previous.flags & F_ORIGINAL),
                           pid=previous.id, poster=previous.poster, source=previous.source, title=previous.title,
                           body=previous.body.replace("</p>", f" (edited {step + 1})</p>", 1) or "<p>edited</p>",
                           format=previous.format, editor=editor, editor_type="S")
            self.m.mark("hidden_entry_ids", previous.id)
            versions.append(newer)
            previous = newer
        self.m.mark("edited_entry_ids", previous.id)
        if chain > 1:
            self.m.mark("edit_chain_entry_ids", previous.id)
        return versions

    def _long_body(self, entry: _Entry) -> None:
        html = content.long_html_body(self.rng, LONG_BODY_CHARS)
        raw = html.encode("utf-8")
        name = hashlib.md5(raw).hexdigest() + ".txt"
        entry.body = ""
        entry._long = (name, raw)  # type: ignore[attr-defined]

    def _attachments(self, tid: int, entries: list[_Entry], cases: set[str]) -> None:
        rng = self.rng
        created = _dt(entries[0].created)
        visible = [e for e in entries if not e.flags & F_HIDDEN]
        for entry in entries:
            long = getattr(entry, "_long", None)
            if long:
                fid = self._file(long[0], "text/html", long[1], created)
                entry.files.append((fid, 1, None))
                self.m.mark("long_body_entry_ids", entry.id)
        forced = {c for c in cases if c in ("inline_image", "attachment_multi_chunk", "attachment_fs", "shared_file",
                                            "missing_chunk", "size_mismatch", "missing_fs_file")}
        for entry in visible:
            if entry.flags & F_SYSTEM or entry.body in ("-", ""):
                continue
            if forced:
                case = forced.pop()
            elif rng.random() < self.o.rate_attachment:
                case = rng.choices(["plain", "inline_image", "shared_file", "attachment_fs", "attachment_multi_chunk"],
                                   weights=[60, 15, 10, 12, 3])[0]
            else:
                continue
            when = _dt(entry.created)
            if case == "inline_image":
                raw = fs.png_bytes(self.files_rng, rng.randint(2_000, 30_000))
                fid = self._file(f"image{entry.id}.png", "image/png", raw, when)
                entry.body += f'<p><img src="cid:{self.last_file_key}" alt="screenshot.png" /></p>'
                entry.files.append((fid, 1, None))
                self.m.mark("inline_image_entry_ids", entry.id)
            elif case == "shared_file":
                fid = self.shared[rng.randrange(len(self.shared))]
                entry.files.append((fid, 0, None))
                self.m.mark("shared_file_entry_ids", entry.id)
            else:
                big = case in ("attachment_multi_chunk", "missing_chunk")
                size = rng.randint(fs.CHUNK_SIZE + 20_000, 2 * fs.CHUNK_SIZE + 300_000) if big else \
                    rng.randint(500, 60_000)
                raw = fs.pdf_bytes(self.files_rng, size)
                backend = "F" if case in ("attachment_fs", "missing_fs_file") else "D"
                damage = case if case in ("missing_chunk", "size_mismatch", "missing_fs_file") else None
                fid = self._file(f"document-{entry.id}.pdf", "application/pdf", raw, when, backend, damage)
                override = "renamed-by-agent.pdf" if entry.id % 17 == 0 else None
                entry.files.append((fid, 0, override))
                if big:
                    self.m.mark("multi_chunk_file_ids", fid)
                if backend == "F" and self.o.files_dir is not None:
                    self.m.mark("fs_file_ids", fid)

    def _write_entry(self, tid: int, thread_id: int, e: _Entry) -> None:
        body = e.body
        title = content.stored_title(e.title) if isinstance(e.title, str) else e.title
        if self.legacy:
            self.add("ticket_thread", ("id", "pid", "ticket_id", "staff_id", "user_id", "thread_type", "poster",
                                       "source", "title", "body", "format", "ip_address", "created", "updated"),
                     (e.id, e.pid, tid, e.staff_id, e.user_id, e.type, e.poster, e.source, self._title(title), body,
                      e.format, "10.0.0.2", _dt(e.created), _dt(e.created)))
            for fid, inline, _name in e.files:
                aid = self.next_id("ticket_attachment")
                self.add("ticket_attachment", ("attach_id", "ticket_id", "file_id", "ref_id", "inline", "created"),
                         (aid, tid, fid, e.id, inline, _dt(e.created)))
            if e.email_mid:
                self.add("ticket_email_info", ("id", "thread_id", "email_mid", "headers"),
                         (self.next_id("ticket_email_info"), e.id, e.email_mid, f"Message-ID: {e.email_mid}\r\n"))
            return
        self.add("thread_entry", ("id", "pid", "thread_id", "staff_id", "user_id", "type", "flags", "poster",
                                  "editor", "editor_type", "source", "title", "body", "format", "ip_address", "extra",
                                  "recipients", "created", "updated"),
                 (e.id, e.pid, thread_id, e.staff_id, e.user_id, e.type, e.flags, e.poster, e.editor, e.editor_type,
                  e.source, self._title(title), body, e.format, "10.0.0.2", None, e.recipients, _dt(e.created),
                  _dt(e.created)))
        for fid, inline, name in e.files:
            self.add("attachment", ("id", "object_id", "type", "file_id", "name", "inline", "lang"),
                     (self.next_id("attachment"), e.id, "H", fid, name, inline, None))
        if e.email_mid:
            cols = ("id", "thread_entry_id", "mid", "headers")
            row: tuple[Any, ...] = (self.next_id("thread_entry_email"), e.id, e.email_mid,
                                    f"Message-ID: {e.email_mid}\r\nFrom: sender@mail.example.test\r\n")
            if self.o.version != "1.14":
                cols = ("id", "thread_entry_id", "email_id", "mid", "headers")
                row = (row[0], row[1], 1, row[2], row[3])
            self.add("thread_entry_email", cols, row)
        if e.merge_from_thread:
            self.add("thread_entry_merge", ("id", "thread_entry_id", "data"),
                     (self.next_id("thread_entry_merge"), e.id, json.dumps({"thread": e.merge_from_thread})))

    def _title(self, title: str | bytes | None) -> str | bytes | None:
        if title is None or not self.o.invalid_utf8:
            return title
        return title if isinstance(title, bytes) else title.encode("utf-8")  # raw bytes into the latin1 column

    def _events(self, tid: int, thread_id: int, created: int, closed: int | None, reopened: int | None,
                staff_id: int, staff_name: str, uid: int, user_name: str, cases: set[str],
                parent: tuple[int, int] | None) -> None:
        events: list[tuple[str, int, int, str, str, int, str | None]] = [
            ("created", created, uid, "U", user_name, 0, None)]
        if staff_id:
            events.append(("assigned", created + 300, self.staff[0][0], "S", self.staff[0][1], 0,
                           json.dumps({"staff": [staff_id, staff_name]})))
        if reopened:
            events.append(("closed", reopened - 600, staff_id or 1, "S", staff_name or "SYSTEM", 0, None))
            events.append(("reopened", reopened, uid, "U", user_name, 0, None))
        if "zero_dates" in cases or tid % 23 == 0:
            events.append(("overdue", created + 86400, 0, "S", "SYSTEM", 1, None))  # annulled overdue
        if closed:
            events.append(("closed", closed, staff_id or 1, "S", staff_name or "SYSTEM", 0,
                           json.dumps({"status": [3, "Closed"]})))
        if "merge_child" in cases and parent:
            events.append(("merged", created + 700, 1, "S", self.staff[0][1], 0, json.dumps({"child": True})))
        if "link_child" in cases and parent:
            events.append(("linked", created + 700, 1, "S", self.staff[0][1], 0, None))
        for name, at, actor, actor_type, username, annulled, data in events:
            if self.legacy:
                if name not in ("created", "closed", "reopened", "assigned", "transferred", "overdue"):
                    continue
                self.add("ticket_event", ("ticket_id", "staff_id", "team_id", "dept_id", "topic_id", "state", "staff",
                                          "annulled", "timestamp"),
                         (tid, staff_id, 0, 1, 0, name, username, annulled, _dt(at)))
            else:
                self.add("thread_event", ("id", "thread_id", "thread_type", "event_id", "staff_id", "team_id",
                                          "dept_id", "topic_id", "data", "username", "uid", "uid_type", "annulled",
                                          "timestamp"),
                         (self.next_id("thread_event"), thread_id, "T", idata.EVENT_ID[name], staff_id, 0, 1, 0, data,
                          username, actor or None, actor_type, annulled, _dt(at)))
            self.m.objects["event"] += 1

    def _collaborators(self, tid: int, thread_id: int, uid: int, created: int) -> None:
        chosen = {getattr(self, "_collab_user", 0)} - {0, uid}
        self._collab_user = 0
        while len(chosen) < 1 + (tid % 2):
            other = self.rng.randint(1, len(self.users) - 1)
            if other != uid:
                chosen.add(other)
        for cuid in sorted(chosen):
            if self.legacy:
                self.add("ticket_collaborator", ("id", "isactive", "ticket_id", "user_id", "role", "updated"),
                         (self.next_id("ticket_collaborator"), 1, tid, cuid, "M", _dt(created)))
                continue
            self.add("thread_collaborator", ("id", "flags", "thread_id", "user_id", "role", "created", "updated"),
                     (self.next_id("thread_collaborator"), 0x3 if cuid % 2 else 0x1, thread_id, cuid, "M",
                      _dt(created), _dt(created)))
        self.m.mark("collaborator_ticket_ids", tid)

    def _ticket_forms(self, tid: int, created_ts: int, topic_id: int, subject: str, cases: set[str]) -> int | None:
        rng = self.rng
        f = self.fields["T"]
        created = _dt(created_ts)
        priority_id: int | None = rng.choices([1, 2, 3, 4], weights=[20, 55, 20, 5])[0]
        if "no_priority" in cases:
            priority_id = None
            self.m.mark("no_priority_ticket_ids", tid)
        values: list[tuple[int, Any, int | None]] = [(f["subject"], subject, None)]
        if priority_id is not None:
            values.append((f["priority"], idata.TICKET_PRIORITIES[priority_id - 1][2], priority_id))
        values.append((f["order_number"], f"ORD-{tid:07d}", None))
        if rng.random() < 0.5:
            values.append((f["internal_summary"], "Customer reports intermittent failures.\nSee notes.", None))
        values.append((f["vip"], "1" if tid % 11 == 0 else "0", None))
        if rng.random() < 0.6:
            when = created_ts - rng.randint(86400, 86400 * 700)
            legacy_epoch = "legacy_datetime" in cases or self.legacy or rng.random() < 0.1
            text = str(when) if legacy_epoch else _form_datetime(when, ANSWER_ZONES[tid % len(ANSWER_ZONES)])
            values.append((f["purchase_date"], text, None))
            if legacy_epoch:
                self.m.mark("epoch_datetime_ticket_ids", tid)
        if rng.random() < 0.5:
            picked = rng.sample([("hw", "Hardware"), ("sw", "Software"), ("net", "Network"), ("bill", "Billing")],
                                rng.randint(1, 2))
            values.append((f["product_area"], json.dumps(dict(picked)), None))
        iid, label = self.region_items[tid % len(self.region_items)]
        values.append((f["region"], json.dumps({str(iid): label}), None))
        if rng.random() < 0.3:
            values.append((f["callback_phone"], f"555{tid % 10_000_000:07d}X{tid % 100}", None))
        if tid % 97 == 0:
            values.append((self.orphan_field, "REF-OLD", None))  # answer of a deleted field (form_id=0)
        self._form_entry(idata.FORM_TICKET, tid, "T", 1, created, values)
        if topic_id == 3:  # the Hardware topic carries the generic 'G' form
            self._form_entry(self.g_form, tid, "T", 2, created,
                             [(self.fields["G"]["serial"], f"SN{tid:08d}", None),
                              (self.fields["G"]["warranty"], "1" if tid % 2 else "0", None)])
        if self.o.cdata != "missing":
            cdata_values = list(values)
            stale = "stale_cdata" in cases or (self.o.cdata == "stale" and rng.random() < 0.02)
            if stale and self.o.cdata == "stale":
                cdata_values[0] = (f["subject"], subject + " (old subject)", None)
                self.m.mark("stale_cdata_ticket_ids", tid)
            self._cdata_row("ticket__cdata", tid, cdata_values, "T")
        return priority_id

    def _cdata_columns(self, kind: str) -> list[tuple[str, int | None]]:
        """(column, field id) of the primary form of ``kind`` (ext-stored fields are present but NULL)."""
        if kind == "T":
            names = ["subject", "priority", "order_number", "internal_summary", "vip", "purchase_date",
                     "product_area", "region", "callback_phone"]
        elif kind == "U":
            names = ["email", "name", "phone", "notes", "customer_id", "home_region", "customer_since"]
        else:
            names = ["name", "address", "phone", "website", "notes", "industry", "key_account"]
        return [(name, self.fields[kind].get(name)) for name in names]

    def create_cdata_tables(self) -> None:
        if self.o.cdata == "missing":
            self.m.notes["cdata"] = "missing"
            return
        charset = "utf8"
        for table, pk, kind in (("ticket__cdata", "ticket_id", "T"), ("user__cdata", "user_id", "U"),
                                ("organization__cdata", "org_id", "O")):
            cols = ", ".join(f"`{name}` mediumtext" for name, _ in self._cdata_columns(kind))
            with self.conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS `{self.p}{table}`")
                cur.execute(f"CREATE TABLE `{self.p}{table}` (`{pk}` int(11) unsigned NOT NULL, {cols}, "
                            f"PRIMARY KEY (`{pk}`)) DEFAULT CHARSET={charset}")
            self.m.tables[table] = 0
        self.m.notes["cdata"] = self.o.cdata

    def _cdata_row(self, table: str, object_id: int, values: list[tuple[int, Any, int | None]], kind: str) -> None:
        by_field = {fid: (value, value_id) for fid, value, value_id in values}
        row: list[Any] = [object_id]
        names = []
        for name, fid in self._cdata_columns(kind):
            names.append(name)
            if fid is None or fid not in by_field:
                row.append(None)
                continue
            value, value_id = by_field[fid]
            if value_id is not None:
                row.append(str(value_id))
            elif self.field_types.get(fid, "").startswith(("list-", "choices")) and value:
                # the keys only (choice keys / list item ids), as the real cdata upsert writes them
                row.append(",".join(json.loads(value)))
            else:
                row.append(value)
        pk = {"ticket__cdata": "ticket_id", "user__cdata": "user_id", "organization__cdata": "org_id"}[table]
        self.add(table, (pk, *names), tuple(row))

    def _task(self, tid: int, created: int, dept_id: int) -> None:
        task_id = self.next_id("task")
        thread_id = self.next_id("thread")
        staff_id, staff_name = self.staff[task_id % len(self.staff)]
        self.add("task", ("id", "object_id", "object_type", "number", "dept_id", "staff_id", "team_id", "lock_id",
                          "flags", "duedate", "closed", "created", "updated"),
                 (task_id, tid, "T", f"{task_id:05d}", dept_id, staff_id, 0, 0, 0x1 if task_id % 2 else 0,
                  None, None if task_id % 2 else _dt(created + 7200), _dt(created), _dt(created)))
        self.add("thread", ("id", "object_id", "object_type", "extra", "lastresponse", "lastmessage", "created"),
                 (thread_id, task_id, "A", None, None, None, _dt(created)))
        for i in range(1 + task_id % 3):
            e = _Entry(id=self.next_id("thread_entry"), type="N", created=created + 60 * (i + 1), staff_id=staff_id,
                       poster=staff_name, source="", title="Task note", body=content.html_body(self.rng))
            self._write_entry(tid, thread_id, e)
            self.m.objects["task_message"] += 1
        self.add("thread_event", ("id", "thread_id", "thread_type", "event_id", "staff_id", "team_id", "dept_id",
                                  "topic_id", "data", "username", "uid", "uid_type", "annulled", "timestamp"),
                 (self.next_id("thread_event"), thread_id, "A", idata.EVENT_ID["created"], staff_id, 0, dept_id, 0,
                  None, staff_name, staff_id, "S", 0, _dt(created)))
        self._form_entry(idata.FORM_TASK, task_id, "A", 1, _dt(created),
                         [(self.fields["A"]["title"], f"Follow up on ticket {tid}", None)])
        self.m.objects["task"] += 1
        self.m.mark("task_ids", task_id)

    # ----- run -----------------------------------------------------------------------------------------------
    def run(self) -> Manifest:
        self.last_file_key = ""
        self._numbers: dict[int, str] = {}
        self._collab_user = 0
        self._baseline_counts()
        self.reference_data()
        self.tickets()
        self.w.close()
        for name in list(self.m.tables):
            if self.m.tables[name] == 0 and name not in ("ticket__cdata", "user__cdata", "organization__cdata"):
                del self.m.tables[name]
        return self.m


def generate(conn: Any, options: GeneratorOptions) -> Manifest:
    """Write generated osTicket data into the connection's database and return the truth manifest."""
    return _Generator(conn, options).run()
