"""Load osTicket's real install schema (with a chosen table prefix) and its install-time data into a database."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from hdm_infra.osticket import install_data as data
from hdm_infra.osticket.legacy import LEGACY_DDL, MODERN_ONLY_TABLES

PLACEHOLDER = "%TABLE_PREFIX%"
CHARSETS = ("utf8", "utf8mb4")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{0,32}$")


def install_sql(version: str) -> str:
    """The unmodified install SQL text shipped in hdm_infra/osticket/sql (1.14 for the legacy build)."""
    name = {"1.18": "install-mysql-1.18.sql", "1.14": "install-mysql-1.14.sql",
            "legacy-1.9": "install-mysql-1.14.sql"}.get(version)
    if name is None:
        raise ValueError(f"unknown osTicket version {version!r}; choose one of {data.VERSIONS}")
    return resources.files("hdm_infra.osticket").joinpath("sql", name).read_text(encoding="utf-8")


def split_statements(sql: str) -> list[str]:
    """Split an install SQL script into statements (drops `--` comment lines; statements end with `;` at EOL)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


def render(sql: str, prefix: str, charset: str) -> list[str]:
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"table prefix must be letters, digits or '_' (got {prefix!r})")
    if charset not in CHARSETS:
        raise ValueError(f"charset must be one of {CHARSETS} (got {charset!r})")
    text = sql.replace(PLACEHOLDER, prefix)
    if charset == "utf8mb4":
        text = text.replace("CHARSET=utf8 COLLATE=utf8_unicode_ci", "CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        text = re.sub(r"CHARSET=utf8\b(?!mb4)", "CHARSET=utf8mb4", text)
    return split_statements(text)


def install_osticket(conn: Any, version: str = "1.18", prefix: str = "ost_", charset: str = "utf8",
                     timezone: str = "UTC") -> None:
    """Create every osTicket table in the connection's current database and write install-time rows."""
    statements = render(install_sql(version), prefix, charset)
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        for statement in statements:
            cur.execute(statement)
        if version == "legacy-1.9":
            for table in MODERN_ONLY_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS `{prefix}{table}`")
            for statement in render(LEGACY_DDL, prefix, charset):
                cur.execute(statement)
        _write_install_rows(cur, version, prefix, timezone)
    conn.commit()


def _write_install_rows(cur: Any, version: str, p: str, timezone: str) -> None:
    t = data.INSTALL_TIME
    cur.executemany(
        f"INSERT INTO `{p}config` (`namespace`, `key`, `value`) VALUES (%s, %s, %s) "
        "ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)",
        data.config_rows(version, timezone))
    cur.executemany(
        f"INSERT INTO `{p}ticket_status` (id, name, state, mode, flags, sort, properties, created, updated) "
        "VALUES (%s, %s, %s, %s, 0, %s, %s, %s, %s)",
        [(i, name, state, mode, sort, json.dumps(props), t, t)
         for i, name, state, mode, sort, props in data.TICKET_STATUSES])
    cur.executemany(
        f"INSERT INTO `{p}ticket_priority` (priority_id, priority, priority_desc, priority_color, priority_urgency, "
        "ispublic) VALUES (%s, %s, %s, %s, %s, %s)", data.TICKET_PRIORITIES)
    if version != "legacy-1.9":
        cur.executemany(f"INSERT INTO `{p}event` (id, name, description) VALUES (%s, %s, NULL)",
                        [(i + 1, name) for i, name in enumerate(data.EVENT_NAMES)])
    cur.executemany(
        f"INSERT INTO `{p}form` (id, type, flags, title, name, created, updated) VALUES (%s, %s, 0, %s, '', %s, %s)",
        [(form_id, kind, title, t, t) for form_id, kind, title in data.CORE_FORMS])
    if version == "legacy-1.9":
        cur.executemany(
            f"INSERT INTO `{p}form_field` (form_id, type, label, required, private, edit_mask, name, configuration, "
            "sort, created, updated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(form_id, kind, label, int(bool(flags & data.FLAG_CLIENT_REQUIRED)),
              int(not flags & data.FLAG_CLIENT_VIEW), 15 if flags & data.MASKS else 0, name, config, sort, t, t)
             for form_id, kind, label, name, flags, config, sort in data.CORE_FIELDS])
    else:
        cur.executemany(
            f"INSERT INTO `{p}form_field` (form_id, flags, type, label, name, configuration, sort, created, updated) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(form_id, flags, kind, label, name, config, sort, t, t)
             for form_id, kind, label, name, flags, config, sort in data.CORE_FIELDS])


def core_field_ids(conn: Any, prefix: str) -> dict[tuple[int, str], int]:
    """(form_id, field name) -> form_field.id of the core fields just installed."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT form_id, name, id FROM `{prefix}form_field`")
        return {(int(form_id), name): int(field_id) for form_id, name, field_id in cur.fetchall()}
