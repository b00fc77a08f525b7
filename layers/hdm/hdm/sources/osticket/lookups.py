"""Small reference tables read once per source and shared by chunks (staff, departments, statuses …).

Large tables (users, organizations, tickets) are never cached: chunks check them per id range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hdm.sources.osticket.connection import ReadOnlyConnection
from hdm.sources.osticket.context import Context
from hdm.sources.osticket.values import parse_json


@dataclass(frozen=True)
class FieldInfo:
    id: int
    form_id: int
    form_type: Optional[str]  # T U O A C G L<n>; None when the form is gone
    form_title: Optional[str]
    form_deleted: bool
    name: str
    label: str
    type: str
    flags: int
    config: dict[str, Any]

    @property
    def key(self) -> str:
        return self.name or f"field_{self.id}"


def _cached(ctx: Context, name: str, load: Any) -> Any:
    if name not in ctx.cache:
        ctx.cache[name] = load(ctx, ctx.aux)  # the lookup connection: safe while the main one streams
    return ctx.cache[name]


def staff(ctx: Context) -> dict[int, str]:
    """staff_id → display name."""
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        rows = conn.rows(f"SELECT staff_id, firstname, lastname, username FROM {c.t('staff')}")
        return {int(r["staff_id"]): " ".join(p for p in (r["firstname"], r["lastname"]) if p) or (r["username"] or "")
                for r in rows}
    return _cached(ctx, "staff", load)


def departments(ctx: Context) -> dict[int, str]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        idc = c.col("department", "d", "id", "dept_id")
        name = c.col("department", "d", "name", "dept_name")
        return {int(r["id"]): r["name"] or "" for r in conn.rows(f"SELECT {idc} AS id, {name} AS name "
                                                                 f"FROM {c.t('department')} d")}
    return _cached(ctx, "departments", load)


def teams(ctx: Context) -> dict[int, str]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        if not c.has_table("team"):
            return {}
        return {int(r["team_id"]): r["name"] or "" for r in conn.rows(f"SELECT team_id, name FROM {c.t('team')}")}
    return _cached(ctx, "teams", load)


def topics(ctx: Context) -> dict[int, str]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        rows = conn.rows(f"SELECT topic_id, topic FROM {c.t('help_topic')}")
        return {int(r["topic_id"]): r["topic"] or "" for r in rows}
    return _cached(ctx, "topics", load)


def slas(ctx: Context) -> dict[int, str]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        return {int(r["id"]): r["name"] or "" for r in conn.rows(f"SELECT id, name FROM {c.t('sla')}")}
    return _cached(ctx, "slas", load)


def statuses(ctx: Context) -> dict[int, tuple[str, Optional[str]]]:
    """status id → (name, state)."""
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, tuple[str, Optional[str]]]:
        if not c.has_table("ticket_status"):
            return {}
        return {int(r["id"]): (r["name"] or "", r["state"])
                for r in conn.rows(f"SELECT id, name, state FROM {c.t('ticket_status')}")}
    return _cached(ctx, "statuses", load)


def priorities(ctx: Context) -> dict[int, tuple[str, str, Optional[int]]]:
    """priority_id → (key, label, urgency)."""
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, tuple[str, str, Optional[int]]]:
        rows = conn.rows(f"SELECT priority_id, priority, priority_desc, priority_urgency FROM {c.t('ticket_priority')}")
        return {int(r["priority_id"]): (r["priority"] or "", r["priority_desc"] or "",
                                        int(r["priority_urgency"]) if r["priority_urgency"] is not None else None)
                for r in rows}
    return _cached(ctx, "priorities", load)


def event_names(ctx: Context) -> dict[int, str]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, str]:
        if not c.has_table("event"):
            return {}
        return {int(r["id"]): r["name"] for r in conn.rows(f"SELECT id, name FROM {c.t('event')}")}
    return _cached(ctx, "event_names", load)


def form_fields(ctx: Context) -> dict[int, FieldInfo]:
    def load(c: Context, conn: ReadOnlyConnection) -> dict[int, FieldInfo]:
        if not c.has_table("form_field"):
            return {}
        if c.has_col("form_field", "flags"):
            flags = "f.flags"
        else:  # ≤ 1.9: required/private columns; rebuild the 1.10 flags from them
            req = c.col("form_field", "f", "required", default="0")
            priv = c.col("form_field", "f", "private", default="0")
            flags = (f"(1 | 0x1000 | 0x2000 | IF({priv}, 0, 0x100 | 0x200) "
                     f"| IF({req}, 0x4000 | IF({priv}, 0, 0x400), 0))")
        ffl = c.col("form", "fm", "flags", default="0")
        rows = conn.rows(
            f"SELECT f.id, f.form_id, f.type, f.label, f.name, f.configuration, {flags} AS flags, "
            f"fm.type AS form_type, fm.title AS form_title, {ffl} AS form_flags "
            f"FROM {c.t('form_field')} f LEFT JOIN {c.t('form')} fm ON fm.id = f.form_id")
        out: dict[int, FieldInfo] = {}
        for r in rows:
            cfg = parse_json(r["configuration"])
            out[int(r["id"])] = FieldInfo(
                id=int(r["id"]), form_id=int(r["form_id"] or 0), form_type=r["form_type"], form_title=r["form_title"],
                form_deleted=bool(int(r["form_flags"] or 0) & 0x2), name=r["name"] or "", label=r["label"] or "",
                type=r["type"] or "text", flags=int(r["flags"] if r["flags"] is not None else 1),
                config=cfg if isinstance(cfg, dict) else {})
        return out
    return _cached(ctx, "form_fields", load)


def default_priority_id(ctx: Context) -> Optional[int]:
    raw = ctx.config.get("default_priority_id")
    return int(raw) if raw and raw.isdigit() else None
