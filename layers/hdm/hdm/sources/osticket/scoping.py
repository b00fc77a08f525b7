"""The discovery (scoping) report: what is in the osTicket database and what will need a decision.

``build_scoping_report(source) -> dict`` (JSON-able) and ``render_scoping_markdown(report) -> str``.
Everything is counted in SQL (read-only); nothing personal (emails, bodies) is included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdm.model import CustomFieldDef
from hdm.sources.osticket.versions import Layout

if TYPE_CHECKING:
    from hdm.sources.osticket.source import OsTicketSource

LONG_THREAD = 20
UTF8_CHARSETS = {"utf8", "utf8mb3", "utf8mb4"}
# text columns scanned for bytes that are not valid UTF-8 (only when the column is not a UTF-8 column)
SCANNED_TEXT = {
    "thread_entry": ("title", "body", "poster"), "ticket_thread": ("title", "body", "poster"),
    "user": ("name",), "user_email": ("address",), "organization": ("name",), "staff": ("firstname", "lastname"),
    "form_entry_values": ("value",), "file": ("name",), "attachment": ("name",),
}
ZERO_DATE_COLUMNS = {
    "ticket": ("created", "updated", "closed", "duedate", "lastupdate"), "user": ("created", "updated"),
    "organization": ("created", "updated"), "thread_entry": ("created",), "ticket_thread": ("created",),
    "thread": ("lastresponse", "lastmessage"), "staff": ("created",),
}


def build_scoping_report(source: OsTicketSource) -> dict[str, Any]:
    discovery = source.discover()
    q = source.conn.scalar
    p = lambda s: f"`{source.prefix}{s}`"  # noqa: E731
    report: dict[str, Any] = {
        "system": "osticket",
        "version": discovery.version,
        "prefix": source.prefix,
        "layout": source.layout.value,
        "schema_signature": discovery.details.get("schema_signature"),
        "db_timezone": discovery.details.get("db_timezone"),
        "read_only_account": discovery.details.get("read_only_account"),
        "write_grants": discovery.details.get("write_grants", []),
        "connection_tls": discovery.details.get("connection_tls"),
        "connection_tls_verified": discovery.details.get("connection_tls_verified", False),
        "warnings": discovery.details.get("warnings", []),
        "table_counts": discovery.details["table_counts"],
        "tables": discovery.details.get("tables", {}),  # per table: what its rows become (table_ledger)
        "record_counts": discovery.counts,
    }
    report["custom_fields"] = _custom_fields(source)
    report["required_ticket_fields"] = [f["name"] for f in report["custom_fields"]
                                        if f["target"] == "ticket" and (f["required_for_customer"]
                                                                        or f["required_for_agent"])
                                        and not f["core"] and f["enabled"]]
    report["attachments"] = _attachments(source)
    report["threads"] = _threads(source)
    report["orphan_users"] = int(q(
        f"SELECT COUNT(*) FROM {p('user')} u LEFT JOIN {p('organization')} o ON o.id = u.org_id "
        f"WHERE u.org_id = 0 OR o.id IS NULL") or 0)
    report["users_without_email"] = int(q(
        f"SELECT COUNT(*) FROM {p('user')} u LEFT JOIN {p('user_email')} e ON e.user_id = u.id WHERE e.id IS NULL")
        or 0)
    dupes = source.conn.rows(
        f"SELECT LOWER(TRIM(name)) AS norm, COUNT(*) AS n, MIN(name) AS example FROM {p('organization')} "
        f"GROUP BY LOWER(TRIM(name)) HAVING COUNT(*) > 1 ORDER BY n DESC, norm")
    report["duplicate_organizations"] = [{"name": r["example"], "count": int(r["n"])} for r in dupes]
    report["merged_tickets"], report["linked_tickets"] = _merges(source)
    report["tasks"] = int(q(f"SELECT COUNT(*) FROM {p('task')}") or 0) if "task" in source.columns else 0
    collab = next((t for t in ("thread_collaborator", "ticket_collaborator") if t in source.columns), None)
    report["collaborators"] = int(q(f"SELECT COUNT(*) FROM {p(collab)}") or 0) if collab else 0
    report["hidden_entries"] = discovery.details.get("hidden_entries", 0)
    report["events_of_deleted_tickets"] = discovery.details.get("events_of_deleted_tickets", 0)
    report["orphan_thread_entries"] = discovery.details.get("orphan_thread_entries", 0)
    report["unlinked_tasks"] = discovery.details.get("unlinked_tasks", 0)
    report["charset"] = _charsets(source)
    report["zero_dates"] = _zero_dates(source)
    report["departments"] = report["table_counts"].get("department", 0)
    if report["departments"] > 10:
        report["warnings"].append("more than 10 departments: agree a queue naming/consolidation with the customer")
    return report


def _custom_fields(source: OsTicketSource) -> list[dict[str, Any]]:
    out = []
    for chunk in source.plan(10 ** 9):
        if chunk.object_type != "custom_field":
            continue
        for rec in source.extract(chunk):
            assert isinstance(rec, CustomFieldDef)
            out.append({
                "id": rec.provenance.id, "target": rec.target, "form": rec.form, "name": rec.name, "label": rec.label,
                "type": rec.type, "source_type": rec.source_type, "choices": len(rec.choices),
                "required_for_customer": rec.required_for_customer, "required_for_agent": rec.required_for_agent,
                "visible_to_customer": rec.visible_to_customer, "enabled": rec.enabled,
                "core": any(f.code == "core_field" for f in rec.flags),
                "orphaned": any(f.code == "orphaned_field" for f in rec.flags),
            })
    return out


def _attachments(source: OsTicketSource) -> dict[str, Any]:
    p = lambda s: f"`{source.prefix}{s}`"  # noqa: E731
    link = "attachment" if source.layout is Layout.MODERN else "ticket_attachment"
    where = "WHERE a.type = 'H'" if source.layout is Layout.MODERN else ""
    row = source.conn.rows(
        f"SELECT COUNT(*) AS links, COUNT(DISTINCT a.file_id) AS files, COALESCE(SUM(f.size), 0) AS link_bytes, "
        f"SUM(a.inline) AS inline_links, SUM(f.id IS NULL) AS missing_file_rows "
        f"FROM {p(link)} a LEFT JOIN {p('file')} f ON f.id = a.file_id {where}")[0]
    distinct_bytes = source.conn.scalar(
        f"SELECT COALESCE(SUM(size), 0) FROM {p('file')} WHERE id IN (SELECT file_id FROM {p(link)} a {where})")
    backends = {r["bk"]: int(r["n"]) for r in source.conn.rows(
        f"SELECT bk, COUNT(*) AS n FROM {p('file')} GROUP BY bk ORDER BY bk")}
    largest = source.conn.scalar(f"SELECT MAX(size) FROM {p('file')}")
    over_10mb = source.conn.scalar(f"SELECT COUNT(*) FROM {p('file')} WHERE size > 10 * 1024 * 1024")
    return {"count": int(row["links"] or 0), "files": int(row["files"] or 0), "bytes": int(distinct_bytes or 0),
            "bytes_per_link": int(row["link_bytes"] or 0), "inline": int(row["inline_links"] or 0),
            "missing_file_rows": int(row["missing_file_rows"] or 0), "storage_backends": backends,
            "largest_bytes": int(largest or 0), "over_10_mb": int(over_10mb or 0),
            "needs_filesystem_access": any(bk != "D" for bk in backends)}


def _threads(source: OsTicketSource) -> dict[str, Any]:
    p = lambda s: f"`{source.prefix}{s}`"  # noqa: E731
    if source.layout is Layout.MODERN:
        per_ticket = (f"SELECT h.object_id AS tid, COUNT(*) AS n FROM {p('thread')} h "
                      f"JOIN {p('thread_entry')} te ON te.thread_id = h.id "
                      f"WHERE h.object_type IN ('T', 'C') AND (te.flags & 4) = 0 GROUP BY h.object_id")
    else:
        per_ticket = f"SELECT ticket_id AS tid, COUNT(*) AS n FROM {p('ticket_thread')} GROUP BY ticket_id"
    row = source.conn.rows(f"SELECT COUNT(*) AS tickets, SUM(n >= {LONG_THREAD}) AS long_threads, MAX(n) AS longest, "
                           f"AVG(n) AS average FROM ({per_ticket}) x")[0]
    return {"tickets_with_entries": int(row["tickets"] or 0), f"threads_{LONG_THREAD}_plus": int(row["long_threads"]
                                                                                                  or 0),
            "longest": int(row["longest"] or 0), "average": round(float(row["average"] or 0), 1)}


def _merges(source: OsTicketSource) -> tuple[int, int]:
    if "ticket_pid" not in source.columns.get("ticket", ()):
        return 0, 0
    p = f"`{source.prefix}ticket`"
    merged = source.conn.scalar(f"SELECT COUNT(*) FROM {p} WHERE ticket_pid IS NOT NULL AND (flags & 3) <> 0")
    linked = source.conn.scalar(f"SELECT COUNT(*) FROM {p} WHERE ticket_pid IS NOT NULL AND (flags & 3) = 0")
    return int(merged or 0), int(linked or 0)


def _charsets(source: OsTicketSource) -> dict[str, Any]:
    like = source.prefix.replace("_", "\\_") + "%"
    tables = source.conn.rows(
        "SELECT TABLE_NAME, TABLE_COLLATION, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME LIKE %s", (like,))
    by_collation: dict[str, int] = {}
    engines: dict[str, int] = {}
    for t in tables:
        by_collation[t["TABLE_COLLATION"] or "?"] = by_collation.get(t["TABLE_COLLATION"] or "?", 0) + 1
        engines[t["ENGINE"] or "?"] = engines.get(t["ENGINE"] or "?", 0) + 1
    odd = source.conn.rows(
        "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME, DATA_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE %s AND CHARACTER_SET_NAME IS NOT NULL "
        "AND CHARACTER_SET_NAME NOT IN ('utf8', 'utf8mb3', 'utf8mb4', 'ascii', 'binary')", (like,))
    odd_columns = [f"{r['TABLE_NAME'][len(source.prefix):]}.{r['COLUMN_NAME']} ({r['CHARACTER_SET_NAME']})"
                   for r in odd]
    scan = {(r["TABLE_NAME"][len(source.prefix):], r["COLUMN_NAME"]) for r in odd}
    for table, cols in SCANNED_TEXT.items():  # binary-typed text columns (BLOB bodies) are scanned too
        for c in cols:
            if c in source.columns.get(table, ()):
                dtype = source.conn.scalar(
                    "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (source.prefix + table, c))
                if dtype in ("blob", "mediumblob", "longblob", "tinyblob", "varbinary", "binary"):
                    scan.add((table, c))
    invalid: dict[str, int] = {}
    for table, column in sorted(scan):
        n = source.conn.scalar(
            f"SELECT COUNT(*) FROM `{source.prefix}{table}` WHERE `{column}` IS NOT NULL AND "
            f"CAST(CONVERT(CAST(`{column}` AS BINARY) USING utf8mb4) AS BINARY) <> CAST(`{column}` AS BINARY)")
        if n:
            invalid[f"{table}.{column}"] = int(n)
    return {"table_collations": by_collation, "engines": engines, "non_utf8_columns": odd_columns,
            "invalid_utf8_values": invalid, "invalid_utf8_total": sum(invalid.values()),
            "myisam_tables": engines.get("MyISAM", 0)}


def _zero_dates(source: OsTicketSource) -> dict[str, int]:
    out: dict[str, int] = {}
    for table, cols in ZERO_DATE_COLUMNS.items():
        present = [c for c in cols if c in source.columns.get(table, ())]
        if not present:
            continue
        parts = ", ".join(f"SUM(CAST(`{c}` AS CHAR) LIKE '0000-00-00%%') AS `{c}`" for c in present)
        row = source.conn.rows(f"SELECT {parts} FROM `{source.prefix}{table}`")[0]
        for c in present:
            if row[c]:
                out[f"{table}.{c}"] = int(row[c])
    return out


# -- Markdown -------------------------------------------------------------------------------------

def render_scoping_markdown(report: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    add(f"# osTicket scoping report ({report.get('version')})\n")
    add(f"- Version: **{report.get('version')}** (layout {report.get('layout')}, schema signature "
        f"`{(report.get('schema_signature') or '?')[:8]}`)")
    zone = report.get("db_timezone") or "not set (UTC assumed)"
    add(f"- Table prefix: `{report.get('prefix')}`; stored time zone: {zone}")
    if report.get("read_only_account"):
        add("- Read-only account: yes")
    else:
        grants = "; ".join(report.get("write_grants") or []) or "write grants present"
        add(f"- Read-only account: **no** ({grants}; accepted only because allow_writable is set)")
    tls = report.get("connection_tls")
    checked = "server certificate verified" if report.get("connection_tls_verified") else "certificate not checked"
    add(f"- Connection: {f'TLS ({tls}, {checked})' if tls else 'not encrypted (loopback host or named opt-out)'}")
    for w in report.get("warnings", []):
        add(f"- ⚠ {w}")
    add("\n## Records to migrate\n")
    add("| object | records |\n| --- | ---: |")
    for k, v in sorted(report.get("record_counts", {}).items()):
        add(f"| {k} | {v:,} |")
    att = report.get("attachments", {})
    th = report.get("threads", {})
    add("\n## What needs attention\n")
    add("| item | count |\n| --- | ---: |")
    facts = [
        ("attachments (links)", att.get("count", 0)), ("distinct files", att.get("files", 0)),
        ("attachment bytes (distinct files)", att.get("bytes", 0)), ("files over 10 MB", att.get("over_10_mb", 0)),
        ("attachment links whose file row is gone", att.get("missing_file_rows", 0)),
        (f"threads with {LONG_THREAD}+ entries", th.get(f"threads_{LONG_THREAD}_plus", 0)),
        ("longest thread (entries)", th.get("longest", 0)),
        ("users without organization", report.get("orphan_users", 0)),
        ("users without email", report.get("users_without_email", 0)),
        ("duplicate organization names", len(report.get("duplicate_organizations", []))),
        ("merged tickets", report.get("merged_tickets", 0)), ("linked tickets", report.get("linked_tickets", 0)),
        ("tasks", report.get("tasks", 0)), ("collaborators (CCs)", report.get("collaborators", 0)),
        ("superseded (hidden) edits, not migrated", report.get("hidden_entries", 0)),
        ("events left by deleted tickets", report.get("events_of_deleted_tickets", 0)),
        ("thread entries of deleted tickets, not migrated", report.get("orphan_thread_entries", 0)),
        ("tasks without a ticket, not migrated", report.get("unlinked_tasks", 0)),
        ("values with invalid UTF-8 bytes", report.get("charset", {}).get("invalid_utf8_total", 0)),
    ]
    for label, value in facts:
        add(f"| {label} | {value:,} |")
    if att.get("storage_backends"):
        add(f"\nStorage backends (file.bk): {', '.join(f'{k}: {v}' for k, v in att['storage_backends'].items())}"
            + (" — **filesystem/S3 access is needed for some files**" if att.get("needs_filesystem_access") else ""))
    if report.get("duplicate_organizations"):
        add("\nDuplicate organization names (case-insensitive; merged into one account, flagged):")
        for d in report["duplicate_organizations"]:
            add(f"- {d['name']} ×{d['count']}")
    add("\n## Custom fields\n")
    add("| target | form | name | label | type | required (customer/agent) | visible to customer | enabled |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for f in report.get("custom_fields", []):
        req = f"{'yes' if f['required_for_customer'] else 'no'}/{'yes' if f['required_for_agent'] else 'no'}"
        note = " (core)" if f["core"] else " (orphaned)" if f["orphaned"] else ""
        add(f"| {f['target']} | {f['form'] or '-'} | `{f['name']}`{note} | {f['label']} | {f['type']} "
            f"({f['source_type']}) | {req} | {'yes' if f['visible_to_customer'] else 'no'} | "
            f"{'yes' if f['enabled'] else 'no'} |")
    if report.get("required_ticket_fields"):
        add(f"\nRequired ticket custom fields (set optional in the destination during the load): "
            f"{', '.join('`' + n + '`' for n in report['required_ticket_fields'])}")
    cs = report.get("charset", {})
    add("\n## Charset and storage\n")
    add(f"- Table collations: {', '.join(f'{k}: {v}' for k, v in cs.get('table_collations', {}).items())}")
    add(f"- Engines: {', '.join(f'{k}: {v}' for k, v in cs.get('engines', {}).items())}"
        + (" — MyISAM tables give no consistent snapshot: plan a delta pass" if cs.get("myisam_tables") else ""))
    if cs.get("non_utf8_columns"):
        add(f"- Columns not in UTF-8: {', '.join(cs['non_utf8_columns'])}")
    for col, n in cs.get("invalid_utf8_values", {}).items():
        add(f"- {col}: {n} value(s) with bytes that are not valid UTF-8 (extracted with U+FFFD/latin1, flagged)")
    if report.get("zero_dates"):
        add(f"- Zero dates (extracted as null, flagged): "
            f"{', '.join(f'{k}: {v}' for k, v in report['zero_dates'].items())}")
    add("\n## Rows per table, and what becomes of them\n")
    add("| table | rows | becomes | what happens to its rows |\n| --- | ---: | --- | --- |")
    tables = report.get("tables", {})
    for k, v in sorted(report.get("table_counts", {}).items()):
        t = tables.get(k, {})
        add(f"| {report.get('prefix', '')}{k} | {v:,} | {t.get('becomes') or '-'} | {t.get('fate') or ''} |")
    return "\n".join(lines) + "\n"
