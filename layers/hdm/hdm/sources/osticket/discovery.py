"""``discover()``: version, prefix, row counts per table and the record counts extraction will yield."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdm.sources.base import Discovery
from hdm.sources.osticket.table_ledger import table_ledger
from hdm.sources.osticket.versions import Layout

if TYPE_CHECKING:
    from hdm.sources.osticket.source import OsTicketSource


def table_counts(source: OsTicketSource) -> dict[str, int]:
    """Exact row counts of every table of the install (prefix stripped)."""
    out: dict[str, int] = {}
    for suffix in sorted(source.columns):
        out[suffix] = int(source.conn.scalar(f"SELECT COUNT(*) FROM `{source.prefix}{suffix}`") or 0)
    return out


def canonical_counts(source: OsTicketSource, tables: dict[str, int]) -> dict[str, int]:
    """How many records each object type's chunks yield (the extraction rules, counted in SQL)."""
    p = lambda s: f"`{source.prefix}{s}`"  # noqa: E731 - tiny local formatter
    q = source.conn.scalar
    has = source.columns.__contains__
    c: dict[str, int] = {
        "organization": tables.get("organization", 0),
        "contact": tables.get("user", 0),
        "agent": tables.get("staff", 0),
        "team": tables.get("department", 0) + tables.get("team", 0),
        "sla_policy": tables.get("sla", 0),
        "category": tables.get("help_topic", 0),
        "status": tables.get("ticket_status", 0),
        "priority": tables.get("ticket_priority", 0),
        "response_template": tables.get("canned_response", 0) + tables.get("email_template", 0),
        "automation_rule": tables.get("filter", 0) + tables.get("sla", 0) + tables.get("help_topic", 0)
        + tables.get("department", 0),
        "kb_category": tables.get("faq_category", 0),
        "kb_article": tables.get("faq", 0),
    }
    c["custom_field"] = int(q(
        f"SELECT COUNT(*) FROM {p('form_field')} f LEFT JOIN {p('form')} fm ON fm.id = f.form_id "
        f"WHERE f.type NOT IN ('thread', 'break', 'info') AND (fm.type IS NULL OR fm.type NOT LIKE 'L%%')") or 0)
    tasks = int(q(f"SELECT COUNT(*) FROM {p('task')} WHERE object_type = 'T' AND object_id IN "
                  f"(SELECT ticket_id FROM {p('ticket')})") or 0) if has("task") else 0
    c["ticket"] = tables.get("ticket", 0) + tasks
    if source.layout is Layout.MODERN:
        owners = (f"((h.object_type IN ('T', 'C') AND h.object_id IN (SELECT ticket_id FROM {p('ticket')}))"
                  + (f" OR (h.object_type = 'A' AND h.object_id IN (SELECT k.id FROM {p('task')} k "
                     f"JOIN {p('ticket')} t ON t.ticket_id = k.object_id WHERE k.object_type = 'T'))"
                     if has("task") else "")
                  + ")")
        entries = f"FROM {p('thread')} h JOIN {p('thread_entry')} te ON te.thread_id = h.id"
        c["message"] = int(q(f"SELECT COUNT(*) {entries} WHERE {owners} AND (te.flags & 4) = 0") or 0)
        c["attachment"] = int(q(
            f"SELECT COUNT(*) {entries} JOIN {p('attachment')} a ON a.type = 'H' AND a.object_id = te.id "
            f"LEFT JOIN {p('file')} f ON f.id = a.file_id WHERE {owners} AND (te.flags & 4) = 0 "
            f"AND NOT (a.inline = 1 AND (te.body IS NULL OR te.body = '') "
            f"AND LOWER(COALESCE(f.type, '')) IN ('text/html', 'text/plain'))") or 0)
        c["event"] = int(q(f"SELECT COUNT(*) FROM {p('thread')} h JOIN {p('thread_event')} e ON e.thread_id = h.id "
                           f"WHERE {owners}") or 0) if has("thread_event") else 0
    else:
        in_tickets = f"ticket_id IN (SELECT ticket_id FROM {p('ticket')})"
        c["message"] = int(q(f"SELECT COUNT(*) FROM {p('ticket_thread')} WHERE {in_tickets}") or 0)
        c["attachment"] = int(q(
            f"SELECT COUNT(*) FROM {p('ticket_attachment')} a LEFT JOIN {p('file')} f ON f.id = a.file_id "
            f"LEFT JOIN {p('ticket_thread')} te ON te.id = a.ref_id WHERE a.{in_tickets} AND NOT (a.inline = 1 AND "
            f"(te.body IS NULL OR te.body = '') AND LOWER(COALESCE(f.type, '')) IN ('text/html', 'text/plain'))") or 0)
        c["event"] = int(q(f"SELECT COUNT(*) FROM {p('ticket_event')} WHERE {in_tickets}") or 0) \
            if has("ticket_event") else 0
    return c


def discover(source: OsTicketSource) -> Discovery:
    tables = table_counts(source)
    counts = canonical_counts(source, tables)
    details: dict[str, Any] = {
        "prefix": source.prefix,
        "layout": source.layout.value,
        "schema_signature": source.config.get("schema_signature") or None,
        "db_timezone": source.config.get("db_timezone") or None,
        "default_storage_bk": source.config.get("default_storage_bk") or None,
        "table_counts": tables,
        "warnings": list(source.warnings),
        "read_only_account": not source.conn.writable_privileges,
        "write_grants": sorted(source.conn.writable_privileges),  # non-empty only with allow_writable
        "connection_tls": getattr(source.conn, "tls_version", None),  # e.g. TLSv1.3; None: in clear
        "connection_tls_verified": bool(getattr(source.conn, "tls_verified", False)),
        "tables": table_ledger(tables),  # every table: rows, what they become, what happens to them
    }
    p = f"`{source.prefix}"
    if source.layout is Layout.MODERN:
        details["orphan_thread_entries"] = int(source.conn.scalar(
            f"SELECT COUNT(*) FROM {p}thread` h JOIN {p}thread_entry` te ON te.thread_id = h.id "
            f"WHERE h.object_type IN ('T', 'C') AND h.object_id NOT IN (SELECT ticket_id FROM {p}ticket`)") or 0)
    else:
        details["orphan_thread_entries"] = int(source.conn.scalar(
            f"SELECT COUNT(*) FROM {p}ticket_thread` WHERE ticket_id NOT IN (SELECT ticket_id FROM {p}ticket`)") or 0)
    if source.layout is Layout.MODERN and "task" in source.columns:
        # tasks not attached to a ticket (or to a ticket that is gone) are not extracted: said here
        details["unlinked_tasks"] = int(source.conn.scalar(
            f"SELECT COUNT(*) FROM {p}task` WHERE NOT (object_type = 'T' AND object_id IN "
            f"(SELECT ticket_id FROM {p}ticket`))") or 0)
    if source.layout is Layout.MODERN:
        details["hidden_entries"] = int(source.conn.scalar(
            f"SELECT COUNT(*) FROM `{source.prefix}thread_entry` WHERE (flags & 4) <> 0") or 0)
        if "thread_event" in source.columns:
            details["events_of_deleted_tickets"] = int(source.conn.scalar(
                f"SELECT COUNT(*) FROM `{source.prefix}thread_event` WHERE thread_id = 0") or 0)
    return Discovery(system="osticket", version=source.version, counts=counts, details=details)
