"""Record a real osTicket: install it, write tickets through its own code paths, keep the database and pages.

    python -m hdm_infra.osticket_real.record --version 1.18 --source /work/scratch/ost-v1.18.1 \\
        --out tests/fixtures/osticket_real/1.18

``--source`` is an osTicket source tree (e.g. ``git archive v1.18.1`` of github.com/osTicket/osTicket); this script
fetches nothing. It copies the tree to a scratch folder, serves it with lighttpd + php-cgi, starts (or reuses, with
``--mariadb-dir``) a private MariaDB, and then only talks HTTP to osTicket: the web installer, the staff panel (scp/),
the JSON API and the e-mail endpoint (``api/http.php/tickets.email``, the same parser ``api/pipe.php`` uses).

Debian 12 packages: see :data:`hdm_infra.osticket_real.app.APT_PACKAGES`
(``apt-get install php-cli php-cgi php-mysql php-mbstring php-xml php-gd php-intl php-imap php-apcu php-curl
lighttpd mariadb-server mariadb-client``).

Output (``--out``): ``osticket.sql.gz`` (mysqldump), ``pages/<number>.staff.html`` / ``.client.html`` and
``manifest.json`` (versions, per-table row counts, which features each ticket exercises, what could not be driven).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket_real import app, messages
from hdm_infra.osticket_real.staff import Api, Staff, ticket_id
from hdm_infra.osticket_real.web import TIMEOUT_S, Browser, WebError, page_errors

DUMP_NAME = "osticket.sql.gz"
# custom fields added to the ticket form ("Ticket Details") through Admin > Manage > Forms
CUSTOM_FIELDS = [
    ("Asset tag", "text", "asset_tag", "a"),
    ("Steps to reproduce", "memo", "steps", "a"),
    ("Impact", "choices", "impact", "a"),
    ("Incident start", "datetime", "incident_start", "a"),
    ("Under warranty", "bool", "warranty", "a"),
    ("Callback phone", "phone", "callback_phone", "a"),
    ("Product", "list", "product", "a"),  # type becomes list-<id> once the list exists
    ("Internal cost code", "text", "cost_code", "e"),
]
PRODUCTS = ["Laptop", "Printer", "VPN"]
IMPACT_CHOICES = "low:Low impact\nhigh:High impact\nall:Everyone affected"


class Recording:
    """Collects what was written (per ticket features) and what failed."""

    def __init__(self, ost: app.Osticket) -> None:
        self.ost = ost
        self.tickets: dict[str, dict[str, Any]] = {}
        self.gaps: list[str] = []
        self.steps: list[str] = []

    def ticket(self, number: str, *features: str) -> None:
        entry = self.tickets.setdefault(number, {"number": number, "features": []})
        entry["features"].extend(f for f in features if f not in entry["features"])

    def attempt(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - a step osTicket refused is recorded, the run goes on
            self.gaps.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc()
            return None
        self.steps.append(what)
        return result


def _field_ids(ost: app.Osticket) -> dict[str, int]:
    rows = ost.sql(f"SELECT f.name, f.id FROM {ost.prefix}form_field f JOIN {ost.prefix}form fm ON fm.id=f.form_id "
                   "WHERE fm.type='T'")
    return {str(n): int(i) for n, i in rows}


def setup_helpdesk(rec: Recording, staff: Staff) -> str:
    """Admin work done in the UI: mail settings, an API key, custom fields, a second agent."""
    ost = rec.ost
    # no DNS here: osTicket would otherwise reject every address whose domain has no MX record
    staff.save_settings("emailsettings.php", {"verify_email_addrs": None})
    # let clients open their ticket with e-mail + ticket number (else osTicket mails an access link)
    rec.attempt("client access without e-mail verification (Settings > Users)",
                lambda: staff.save_settings("settings.php?t=users", {"client_verify_email": None}))
    rec.attempt("second agent (Admin > Agents)",
                lambda: staff.create_agent("Bob", "Builder", "bob.builder@example.org", "bob"))
    key = staff.create_api_key()
    form_id = int(ost.sql(f"SELECT id FROM {ost.prefix}form WHERE type='T'")[0][0])
    list_id = rec.attempt("custom list with items (Admin > Lists)", lambda: staff.create_list("Product", PRODUCTS))
    fields = []
    for label, type_, name, vis in CUSTOM_FIELDS:
        if type_ == "list":
            if not list_id:
                continue
            type_ = f"list-{list_id}"
        fields.append((label, type_, name, vis))
    rec.attempt("custom ticket-form fields (Admin > Forms)", lambda: staff.add_form_fields(form_id, fields))
    ids = _field_ids(ost)
    if "impact" in ids:
        rec.attempt("choices field configuration",
                    lambda: staff.configure_field(ids["impact"], {"Choices": IMPACT_CHOICES}))
    return key


def api_tickets(rec: Recording, api: Api) -> dict[str, str]:
    made: dict[str, str] = {}

    def new(tag: str, payload: dict[str, Any], *features: str) -> None:
        number = rec.attempt(f"API ticket {tag}", lambda: api.ticket(payload))
        if number:
            made[tag] = number
            rec.ticket(number, "source:API", *features)

    new("plain", {"name": "Jane Quote", "email": "jane@example.com", "subject": "Printer says \"toner\" & <low>",
                  "message": "Hello,\nthe printer shows: level > 90% & \"replace\" <now>.\nThanks", "ip": "10.0.0.5",
                  "priority": 3, "asset_tag": "PRN-0042", "steps": "1. print\n2. wait > 5 min",
                  "impact": "high", "incident_start": "2025-03-16", "warranty": True,
                  "callback_phone": "555-0100", "product": "Printer", "cost_code": "CC-17"},
        "plain-text entity escaping", "custom fields all types", "priority high")
    new("html", {"name": "Harriet Html", "email": "harriet@example.com", "subject": "HTML message via API",
                 "message": "data:text/html,<p>Line <b>bold</b> &amp; <i>italic</i></p><ul><li>one</li><li>two</li>"
                            "</ul><p>Quote: &quot;x &gt; y&quot;</p>",
                 "attachments": [{"notes.txt": "data:text/plain;base64,"
                                  + __import__("base64").b64encode(b"attachment body\n").decode()},
                                 {"pixel.png": "data:image/png;base64,"
                                  + __import__("base64").b64encode(messages.PNG_1PX).decode()}],
                 "impact": "low", "warranty": False, "incident_start": "2025-01-31 14:45"},
        "html body", "attachments", "checkbox false", "datetime with time")
    big = "".join(f"line {i:05d}: the quick brown fox > lazy dog & co\n" for i in range(1600))
    new("big", {"name": "Bigsby Body", "email": "bigsby@example.com", "subject": "Plain body larger than 64 KB",
                "message": big}, "body > 64 KB (plain)")
    new("minimal", {"name": "Mini Mal", "email": "mini@example.com", "subject": "No custom answers",
                    "message": "Only the required fields."}, "no custom answers")
    return made


def mail_tickets(rec: Recording, api: Api) -> dict[str, tuple[str, str]]:
    """tag -> (ticket number, message-id)"""
    made: dict[str, tuple[str, str]] = {}

    def pipe(tag: str, build: Callable[[str], bytes], *features: str) -> None:
        msgid = f"<rec-{tag}@mail.example.net>"
        number = rec.attempt(f"e-mail ticket {tag}", lambda: api.email(build(msgid)))
        if number:
            made[tag] = (number, msgid)
            rec.ticket(number, "source:Email", *features)

    pipe("inline", messages.html_with_inline_image, "html e-mail", "inline image cid:")
    pipe("latin1", messages.plain_latin1, "iso-8859-1 e-mail", "encoded-word subject", "plain-text entity escaping")
    pipe("cp1252", lambda m: messages.plain_cp1252(m, cc="Carl Copy <carl@example.com>"),
         "windows-1252 e-mail", "quoted lines", "Cc collaborator from e-mail")
    pipe("attach", messages.with_attachment, "e-mail attachment")
    pipe("empty", messages.empty_body, "empty body")
    pipe("bightml", messages.big_html, "body > 64 KB (html)")
    if "latin1" in made:
        number, msgid = made["latin1"]
        rec.attempt("e-mail reply threaded by In-Reply-To", lambda: api.email(messages.reply_by_mail(
            "<rec-latin1-reply@mail.example.net>", msgid, "gerard@example.fr", "Réseau en panne",
            "Merci, ça marche de nouveau.\n\n> Le café du réseau...")))
        rec.ticket(number, "client reply by e-mail")
    return made


def staff_work(rec: Recording, staff: Staff, api_made: dict[str, str], mail_made: dict[str, tuple[str, str]]) -> None:
    ost = rec.ost
    num = {**api_made, **{k: v[0] for k, v in mail_made.items()}}

    def tid(tag: str) -> int | None:
        return ticket_id(ost, num[tag]) if tag in num else None

    def act(tag: str, feature: str, fn: Callable[[int], Any]) -> None:
        t = tid(tag)
        if t is None:
            rec.gaps.append(f"{feature}: ticket {tag} missing")
            return
        if rec.attempt(f"{feature} on {tag}", lambda: fn(t) or True):
            rec.ticket(num[tag], feature)

    act("plain", "staff reply (html)", lambda t: staff.reply(t, "<p>Hi Jane,</p><p>Please try <b>this</b> &amp; "
                                                                "report back &gt; thanks.</p>"))
    act("plain", "internal note with title", lambda t: staff.note(t, "Vendor case opened",
                                                                  "<p>Vendor case <i>#V-99</i> opened.</p>"))
    act("plain", "assignment (system note)", lambda t: staff.assign(t, "Bob", "Bob knows printers."))
    act("cp1252", "self-assignment (claim)", lambda t: staff.assign(t, "Ada", "Taking this one."))
    act("plain", "transfer (system note)", lambda t: staff.transfer(t, "Sales", "Billing related, moving."))
    act("html", "staff reply then close with comment",
        lambda t: (staff.reply(t, "<p>Fixed, closing.</p>"), staff.set_status(t, 3, "Closing: resolved by reply.")))
    act("cp1252", "internal note with title", lambda t: staff.note(t, "Checked invoice", "<p>Amount is right.</p>"))
    act("minimal", "task on ticket", lambda t: staff.add_task(t, "Replace toner cartridge",
                                                              "<p>Order and replace the cartridge.</p>"))
    users = dict(ost.sql(f"SELECT e.address, u.id FROM {ost.prefix}user u JOIN {ost.prefix}user_email e "
                         "ON e.id=u.default_email_id"))
    if "harriet@example.com" in users:
        act("minimal", "collaborator added by staff", lambda t: staff.add_cc(t, int(users["harriet@example.com"])))
    first = ost.sql(f"SELECT e.id, e.thread_id FROM {ost.prefix}thread_entry e JOIN {ost.prefix}thread h "
                    f"ON h.id=e.thread_id AND h.object_type='T' JOIN {ost.prefix}ticket t ON t.ticket_id=h.object_id "
                    "WHERE t.number=%s ORDER BY e.id LIMIT 1", (num.get("attach", ""),))
    if first:
        act("attach", "entry edited by staff",
            lambda t: staff.edit_entry(t, int(first[0][1]), int(first[0][0]),
                                       "Log file attached (edited by staff: typo fixed) & <kept>."))
    if "big" in num and "minimal" in num:
        if rec.attempt("link tickets", lambda: staff.merge(num["minimal"], [num["big"]], link=True) or True):
            rec.ticket(num["minimal"], "linked (parent)")
            rec.ticket(num["big"], "linked (child)")
    if "attach" in num and "empty" in num:
        if rec.attempt("merge tickets (combine)", lambda: staff.merge(num["attach"], [num["empty"]]) or True):
            rec.ticket(num["attach"], "merged (parent)")
            rec.ticket(num["empty"], "merged (child)")


def client_page(ost: app.Osticket, number: str, email: str) -> str | None:
    web = Browser(ost.url)
    web.get("login.php")
    resp = web.post("login.php", {"lemail": email, "lticket": number}, expect=(200, 302))
    if "tickets.php" not in resp.url and "Ticket #" not in resp.text:
        raise WebError(f"client login refused: {page_errors(resp.text)}")
    tid = ticket_id(ost, number)
    return web.get(f"tickets.php?id={tid}").text


def save_pages(rec: Recording, staff: Staff, out: Path) -> None:
    ost = rec.ost
    pages = out / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    pages.mkdir(parents=True)
    rows = ost.sql(f"SELECT t.ticket_id, t.number, e.address FROM {ost.prefix}ticket t JOIN {ost.prefix}user u "
                   f"ON u.id=t.user_id JOIN {ost.prefix}user_email e ON e.id=u.default_email_id ORDER BY t.ticket_id")
    for tid, number, email in rows:
        (pages / f"{number}.staff.html").write_text(staff.ticket_page(int(tid)))
        page = rec.attempt(f"client page {number}", lambda n=number, e=email: client_page(ost, n, e))
        if page:
            (pages / f"{number}.client.html").write_text(page)
        rec.ticket(str(number))
    # the print view is a PDF rendered by mPDF; keep one sample (bytes as served)
    if rows:
        resp = staff.web.http.get(staff.web.url(f"scp/tickets.php?id={rows[0][0]}&a=print"), timeout=TIMEOUT_S)
        kind = "pdf" if resp.content[:4] == b"%PDF" else "html"
        (pages / f"{rows[0][1]}.print.{kind}").write_bytes(resp.content)
        if kind != "pdf":
            rec.gaps.append(f"print view did not return a PDF (status {resp.status_code}); saved as html")


def dump(ost: app.Osticket, out: Path) -> None:
    cmd = ["mysqldump", "--host=127.0.0.1", f"--port={ost.db.port}", f"--user={ost.db.admin_user}",
           "--skip-dump-date", "--skip-comments", "--hex-blob", "--single-transaction",
           "--default-character-set=utf8mb4", "--skip-extended-insert", "--no-tablespaces", ost.database]
    env = {"MYSQL_PWD": ost.db.admin_password, "PATH": "/usr/bin:/bin:/usr/sbin"}
    done = subprocess.run(cmd, capture_output=True, check=True, env=env, timeout=300)
    text = done.stdout.decode("utf-8")
    # session-dependent rows say nothing about tickets and change every run
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("INSERT INTO `ost_session`", "INSERT INTO `ost_syslog`"))) + "\n"
    with gzip.GzipFile(out / DUMP_NAME, "wb", mtime=0) as fh:
        fh.write(text.encode("utf-8"))


def table_counts(ost: app.Osticket) -> dict[str, int]:
    counts = {}
    for (name,) in ost.sql("SELECT table_name FROM information_schema.tables WHERE table_schema=%s ORDER BY 1",
                           (ost.database,)):
        counts[str(name)] = int(ost.sql(f"SELECT COUNT(*) FROM `{name}`")[0][0])
    return {k: v for k, v in counts.items() if v}


def source_version(source: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    bootstrap = (source / "bootstrap.php").read_text(errors="replace")
    m = re.search(r"define\('MAJOR_VERSION', *'([^']+)'\)", bootstrap)
    info["major_version"] = m.group(1) if m else ""
    info["core_sig"] = (source / "include/upgrader/streams/core.sig").read_text().strip()
    return info


def record(version: str, source: Path, out: Path, work: Path, mariadb_dir: Path | None,
           source_ref: dict[str, str] | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    own_db = mariadb_dir is None
    db = MariaDB.start(mariadb_dir or (work / "mariadb"))
    database = "ost_" + re.sub(r"\W", "_", version)
    ost = app.start(source, work, db, database)
    started = time.time()
    try:
        app.install(ost)
        rec = Recording(ost)
        staff = Staff(ost)
        key = setup_helpdesk(rec, staff)
        api = Api(ost, key)
        api_made = api_tickets(rec, api)
        mail_made = mail_tickets(rec, api)
        staff_work(rec, staff, api_made, mail_made)
        save_pages(rec, staff, out)
        dump(ost, out)
        manifest = {
            "osticket": {"version_label": version, **source_version(source), **(source_ref or {}),
                         "schema_signature": ost.sql(f"SELECT value FROM {ost.prefix}config WHERE namespace='core' "
                                                     "AND `key`='schema_signature'")[0][0]},
            "php": ost.php_version(),
            "mariadb": ost.sql("SELECT VERSION()")[0][0],
            "table_prefix": ost.prefix,
            "timezone": "UTC",
            "dump": DUMP_NAME,
            "attachments_on_disk": "none: default storage backend is the database (file.bk='D', file_chunk)",
            "tables": table_counts(ost),
            "tickets": sorted(rec.tickets.values(), key=lambda t: t["number"]),
            "steps": rec.steps,
            "not_driven": rec.gaps,
            "recorded_in_s": round(time.time() - started, 1),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        return manifest
    finally:
        ost.stop()
        if own_db:
            db.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.osticket_real.record",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="label, e.g. 1.18 or 1.16")
    parser.add_argument("--source", required=True, type=Path, help="osTicket source tree (not modified)")
    parser.add_argument("--out", required=True, type=Path, help="fixture folder to (over)write")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp dir)")
    parser.add_argument("--source-tag", default="", help="tag the tree was exported from (for the manifest)")
    parser.add_argument("--source-commit", default="", help="commit the tree was exported from (for the manifest)")
    parser.add_argument("--mariadb-dir", type=Path, help="reuse/start the private MariaDB kept in this folder")
    args = parser.parse_args(argv)
    if not (args.source / "main.inc.php").exists():
        parser.error(f"{args.source} is not an osTicket source tree (no main.inc.php)")
    work = args.work or Path(tempfile.mkdtemp(prefix="osticket-rec-"))
    try:
        ref = {k: v for k, v in (("tag", args.source_tag), ("commit", args.source_commit)) if v}
        manifest = record(args.version, args.source.resolve(), args.out.resolve(), work.resolve(), args.mariadb_dir,
                          ref)
    except (WebError, requests.RequestException, subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"recording failed: {exc}")
        return 1
    print(json.dumps({"tickets": len(manifest["tickets"]), "not_driven": manifest["not_driven"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
