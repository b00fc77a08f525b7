"""Delta runs over an osTicket database (the capability described in ``hdm/delta.py``).

The high-water mark comes from the database server: ``NOW()`` (the session clock the ``updated`` columns are
written with) and the highest ids of the append-only tables (thread entries, attachments, thread events). What
changed after a mark, less a lag window for late commits:

- tickets whose ``updated``/``lastupdate`` moved, tickets above the last highest id, and the tickets of thread
  entries (replies, notes) added or edited, of attachments and of thread events added, and of tasks updated;
- users and organizations whose ``updated`` moved or above the last highest id;
- the small catalogues (agents, departments, SLAs, topics, statuses ...) are re-read whole: the destination skips
  the rows whose content hash did not change.

Hard deletes (``Ticket::delete()`` removes rows) are found by :func:`live_keys` (the ids that exist now).
Only the 1.10+ layout (thread/thread_entry) is supported; 1.7-1.9 says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hdm.delta import DeltaNotSupported, delta_chunks, relabel
from hdm.sources.base import ChunkSpec
from hdm.sources.osticket.tickets import task_id
from hdm.sources.osticket.versions import Layout

if TYPE_CHECKING:
    from hdm.sources.osticket.source import OsTicketSource

MARK_VERSION = 1
_FMT = "%Y-%m-%d %H:%M:%S"
_APPEND_ONLY = {"entry": ("thread_entry", "id"), "attachment": ("attachment", "id"), "event": ("thread_event", "id"),
                "ticket": ("ticket", "ticket_id"), "user": ("user", "id"), "organization": ("organization", "id")}


def _require_modern(src: OsTicketSource) -> None:
    if src.layout != Layout.MODERN:
        raise DeltaNotSupported("delta runs need osTicket 1.10 or later (thread/thread_entry tables); this database "
                                "has the 1.7-1.9 layout: run a full migration again instead")


def delta_mark(src: OsTicketSource) -> dict[str, Any]:
    """The server's clock and the highest ids, read in one statement (one instant)."""
    _require_modern(src)
    present = {name: (t, c) for name, (t, c) in _APPEND_ONLY.items() if t in src.columns}
    parts = ", ".join(f"(SELECT MAX(`{c}`) FROM `{src.prefix}{t}`) AS `{name}`" for name, (t, c) in present.items())
    row = src.conn.rows(f"SELECT NOW() AS now{', ' + parts if parts else ''}")[0]
    now = row["now"]
    return {"system": src.system, "version": MARK_VERSION,
            "now": now.strftime(_FMT) if isinstance(now, datetime) else str(now),
            "max_ids": {name: int(row[name] or 0) for name in present}}


def _since(mark: dict[str, Any], lag_seconds: int) -> str:
    if not isinstance(mark, dict) or mark.get("version") != MARK_VERSION or "now" not in mark:
        raise DeltaNotSupported("the earlier run's high-water mark is not one this osTicket source wrote "
                                f"(version {mark.get('version') if isinstance(mark, dict) else None!r}): "
                                "run a full migration again")
    return (datetime.strptime(mark["now"], _FMT) - timedelta(seconds=max(0, int(lag_seconds)))).strftime(_FMT)


def _ids(src: OsTicketSource, sql: str, args: tuple[Any, ...] = ()) -> set[int]:
    return {int(r["id"]) for r in src.conn.rows(sql, args) if r["id"] is not None}


def changed_tickets(src: OsTicketSource, since: str, max_ids: dict[str, int]) -> set[int]:
    t, cols = src.prefix, src.columns
    stamps = [c for c in ("updated", "lastupdate", "lastmessage", "lastresponse", "closed") if c in cols["ticket"]]
    where = " OR ".join([f"`{c}` >= %s" for c in stamps] + ["ticket_id > %s"])
    ids = _ids(src, f"SELECT ticket_id AS id FROM `{t}ticket` WHERE {where}",
               (*([since] * len(stamps)), max_ids.get("ticket", 0)))
    # the tickets of threads with entries added or edited (ticket threads, merged children, and tasks of tickets)
    entry_where = "te.id > %s" + (" OR te.updated >= %s" if "updated" in cols.get("thread_entry", ()) else "")
    entry_args: tuple[Any, ...] = (max_ids.get("entry", 0),) + ((since,) if " OR " in entry_where else ())
    threads = {(r["object_type"], int(r["object_id"])) for r in src.conn.rows(
        f"SELECT DISTINCT h.object_type, h.object_id FROM `{t}thread_entry` te JOIN `{t}thread` h "
        f"ON h.id = te.thread_id WHERE {entry_where}", entry_args)}
    if "attachment" in cols:
        threads |= {(r["object_type"], int(r["object_id"])) for r in src.conn.rows(
            f"SELECT DISTINCT h.object_type, h.object_id FROM `{t}attachment` a JOIN `{t}thread_entry` te "
            f"ON a.type = 'H' AND te.id = a.object_id JOIN `{t}thread` h ON h.id = te.thread_id "
            "WHERE a.id > %s", (max_ids.get("attachment", 0),))}
    if "thread_event" in cols:
        threads |= {(r["object_type"], int(r["object_id"])) for r in src.conn.rows(
            f"SELECT DISTINCT h.object_type, h.object_id FROM `{t}thread_event` e JOIN `{t}thread` h "
            "ON h.id = e.thread_id WHERE e.id > %s", (max_ids.get("event", 0),))}
    ids |= {oid for kind, oid in threads if kind in ("T", "C")}
    if "ticket_pid" in cols["ticket"]:  # children of a deleted (merged) parent: their parent reference changed
        ids |= _ids(src, f"SELECT c.ticket_id AS id FROM `{t}ticket` c WHERE c.ticket_pid > 0 AND NOT EXISTS "
                         f"(SELECT 1 FROM `{t}ticket` p WHERE p.ticket_id = c.ticket_pid)")
    tasks = {oid for kind, oid in threads if kind == "A"}
    if "task" in cols:
        if "updated" in cols["task"]:
            tasks |= _ids(src, f"SELECT id FROM `{t}task` WHERE updated >= %s", (since,))
        if tasks:
            marks = ", ".join(["%s"] * len(tasks))
            ids |= _ids(src, f"SELECT object_id AS id FROM `{t}task` WHERE object_type = 'T' AND id IN ({marks})",
                        tuple(sorted(tasks)))
    return ids


def _changed_own(src: OsTicketSource, table: str, since: str, max_id: int) -> set[int]:
    where = ("updated >= %s OR " if "updated" in src.columns.get(table, ()) else "") + "id > %s"
    args = ((since,) if where.startswith("updated") else ()) + (max_id,)
    return _ids(src, f"SELECT id FROM `{src.prefix}{table}` WHERE {where}", args)


def plan_delta(src: OsTicketSource, chunk_rows: int, since: dict[str, Any], lag_seconds: int,
               label: str) -> list[ChunkSpec]:
    from hdm.sources.osticket.source import LARGE_OWN, TICKET_SCOPED

    _require_modern(src)
    after = _since(since, lag_seconds)
    max_ids = {k: int(v) for k, v in (since.get("max_ids") or {}).items()}
    specs: list[ChunkSpec] = []
    for chunk in src.plan(chunk_rows):
        if chunk.object_type in LARGE_OWN or chunk.object_type in TICKET_SCOPED:
            continue
        specs.append(relabel(chunk, label))  # small catalogues: re-read whole, unchanged rows skipped by hash
    specs += delta_chunks("organization", _changed_own(src, "organization", after, max_ids.get("organization", 0)),
                          chunk_rows, label)
    specs += delta_chunks("contact", _changed_own(src, "user", after, max_ids.get("user", 0)), chunk_rows, label)
    tickets = changed_tickets(src, after, max_ids)
    for object_type in TICKET_SCOPED:
        specs += delta_chunks(object_type, tickets, chunk_rows, label)
    return specs


def live_keys(src: OsTicketSource) -> dict[str, set[str]]:
    """The keys that exist now, per type, for hard-delete detection. Thread entries, events and attachments count
    when their thread's ticket (or task) still exists, as extraction reads them (``Ticket::delete()`` removes the
    ticket row first; rows left behind are orphans, not records). Threads of other owners count whole, so a
    record is never reported deleted wrongly."""
    _require_modern(src)
    t = src.prefix
    live_thread = (f"(h.object_type IN ('T', 'C') AND EXISTS (SELECT 1 FROM `{t}ticket` k "
                   "WHERE k.ticket_id = h.object_id))")
    if "task" in src.columns:
        live_thread += f" OR (h.object_type = 'A' AND EXISTS (SELECT 1 FROM `{t}task` k WHERE k.id = h.object_id))"
    live_thread = f"({live_thread} OR h.object_type NOT IN ('T', 'C', 'A'))"
    out = {
        "ticket": {f"ticket:{i}" for i in _ids(src, f"SELECT ticket_id AS id FROM `{t}ticket`")},
        "contact": {f"contact:{i}" for i in _ids(src, f"SELECT id FROM `{t}user`")},
        "message": {f"message:{i}" for i in _ids(
            src, f"SELECT te.id FROM `{t}thread_entry` te JOIN `{t}thread` h ON h.id = te.thread_id "
                 f"WHERE {live_thread}")},
    }
    if "organization" in src.columns:
        out["organization"] = {f"organization:{i}" for i in _ids(src, f"SELECT id FROM `{t}organization`")}
    if "task" in src.columns:
        out["ticket"] |= {f"ticket:{task_id(i)}" for i in _ids(src, f"SELECT id FROM `{t}task`")}
    if "thread_event" in src.columns:
        out["event"] = {f"event:{i}" for i in _ids(
            src, f"SELECT e.id FROM `{t}thread_event` e JOIN `{t}thread` h ON h.id = e.thread_id "
                 f"WHERE {live_thread}")}
    if "attachment" in src.columns:  # files of live thread entries, and every file not on a thread entry
        out["attachment"] = {f"attachment:{i}" for i in _ids(
            src, f"SELECT a.id FROM `{t}attachment` a LEFT JOIN `{t}thread_entry` te ON a.type = 'H' "
                 f"AND te.id = a.object_id LEFT JOIN `{t}thread` h ON h.id = te.thread_id "
                 f"WHERE a.type <> 'H' OR {live_thread}")}
    return out
