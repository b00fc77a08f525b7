"""What an account could write, read from ``SHOW GRANTS`` lines (MariaDB and MySQL formats).

A grant counts when its privileges are not all on the read-only allow-list (anything not known to be read-only
is taken as able to write, including ``WITH GRANT OPTION``) and its scope covers the source database:

* global grants (``ON *.*``);
* database grants whose name, a LIKE pattern (``_`` and ``%`` wildcards, ``\\`` escapes), matches the database
  (``osticket\\_%``, ``%``, ``osticket_prod`` matching ``osticketXprod`` too), case-insensitively;
* table, column and routine grants in the database (``UPDATE (subject) ON db.t``, ``EXECUTE ON PROCEDURE db.p``);
* the same on the ``mysql`` schema, since writing there lets the account grant itself anything.

Roles are expanded by the connection (``ReadOnlyConnection``): the grants of every role granted to the account,
whether enabled or not, and of PUBLIC, are read and judged the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional, Union

# privileges that cannot change data or schema (anything else counts as writing)
READ_ONLY_PRIVILEGES = frozenset({
    "SELECT", "SHOW VIEW", "USAGE", "SHOW DATABASES", "PROCESS", "REPLICATION CLIENT", "BINLOG MONITOR",
    "SLAVE MONITOR", "REPLICA MONITOR", "SHOW CREATE ROUTINE",
})
IGNORED_PRIVILEGES = frozenset({"PROXY"})  # PROXY ON ''@'%': who may log in as whom, not a data privilege
_OBJECT_TYPES = ("TABLE", "PROCEDURE", "FUNCTION", "PACKAGE")

_TOKEN = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|[A-Za-z0-9_$#]+|\S")


@dataclass(frozen=True)
class PrivilegeGrant:
    """``GRANT <privileges> ON [type] <db>.<table> TO <grantee> [WITH GRANT OPTION]``."""

    privileges: tuple[str, ...]  # upper case, column lists dropped, ALL → ALL PRIVILEGES
    object_type: str  # "", TABLE, PROCEDURE, FUNCTION, PACKAGE, PACKAGE BODY
    database: Optional[str]  # None: global (*.*); for a database grant, a LIKE pattern as the server shows it
    table: Optional[str]  # None: the whole database (db.*)
    grant_option: bool
    target: str  # the scope as written, for messages


@dataclass(frozen=True)
class RoleGrant:
    """``GRANT <role>[, <role>] TO <grantee>`` (MySQL roles carry a host: ``role@%``)."""

    roles: tuple[tuple[str, Optional[str]], ...]


Grant = Union[PrivilegeGrant, RoleGrant]


def _tokens(line: str) -> list[str]:
    return _TOKEN.findall(line)


def unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == "`":
        return token[1:-1].replace("``", "`")
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", token[1:-1]).replace(token[0] * 2, token[0])
    return token


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _split_top(tokens: Sequence[str], stop: Iterable[str] = ()) -> tuple[list[list[str]], int]:
    """Comma-separated items at depth 0 up to the first depth-0 word in ``stop``; returns (items, index of stop)."""
    stops = {s.upper() for s in stop}
    items: list[list[str]] = [[]]
    depth = 0
    for i, tok in enumerate(tokens):
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and tok.upper() in stops:
            return items, i
        elif depth == 0 and tok == ",":
            items.append([])
            continue
        if depth == 0 and tok not in ("(", ")"):
            items[-1].append(tok)
    return items, len(tokens)


def parse_grant_line(line: str) -> Optional[Grant]:
    """One ``SHOW GRANTS`` line as a grant, or None (``SET DEFAULT ROLE``, ``REVOKE``, anything else)."""
    tokens = _tokens(line.strip())
    if not tokens or tokens[0].upper() != "GRANT":
        return None
    head, at = _split_top(tokens[1:], stop=("ON", "TO"))
    at += 1
    if at >= len(tokens):
        return None
    if tokens[at].upper() == "TO":
        roles: list[tuple[str, Optional[str]]] = []
        for item in head:
            if not item:
                continue
            host = unquote(item[2]) if len(item) >= 3 and item[1] == "@" else None
            roles.append((unquote(item[0]), host))
        return RoleGrant(tuple(roles))
    privileges: list[str] = []
    for item in head:
        name = " ".join(t.upper() for t in item)
        if name == "ALL":
            name = "ALL PRIVILEGES"
        if name:
            privileges.append(name)
    rest = tokens[at + 1:]
    object_type = ""
    if rest and rest[0].upper() in _OBJECT_TYPES and len(rest) > 1 and rest[1] not in (".", "@"):
        object_type = rest[0].upper()
        rest = rest[1:]
        if object_type == "PACKAGE" and rest and rest[0].upper() == "BODY":
            object_type, rest = "PACKAGE BODY", rest[1:]
    target_items, to_at = _split_top(rest, stop=("TO",))
    target = [t for item in target_items for t in item]
    after = [t.upper() for t in rest[to_at + 1:]]
    grant_option = any(after[i:i + 3] == ["WITH", "GRANT", "OPTION"] for i in range(len(after)))
    if len(target) == 3 and target[1] == ".":
        db, table = target[0], target[2]
        database = None if db == "*" and table == "*" else unquote(db)
        table_name = None if table == "*" else unquote(table)
    elif len(target) == 1:  # "ON *" or "ON t": the current database; SHOW GRANTS does not print these
        database, table_name = ("", None) if target[0] == "*" else ("", unquote(target[0]))
    else:
        return None
    return PrivilegeGrant(tuple(privileges), object_type, database, table_name, grant_option,
                          (object_type + " " if object_type else "") + "".join(target))


def like_matches(pattern: str, name: str) -> bool:
    """SQL LIKE with ``\\`` escapes, case-insensitive (grant tables' database patterns)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), name, re.IGNORECASE | re.DOTALL) is not None


def covers(grant: PrivilegeGrant, database: str) -> bool:
    """The grant's scope includes ``database`` (or the ``mysql`` schema, from which any right can be granted)."""
    if grant.database is None:
        return True
    if grant.database == "":
        return False  # relative to a current database we cannot know; SHOW GRANTS never prints these
    targets = (database, "mysql")
    if grant.table is None and not grant.object_type:
        return any(like_matches(grant.database, t) for t in targets)
    return any(grant.database.casefold() == t.casefold() for t in targets)


def writing_privileges(grant: PrivilegeGrant) -> list[str]:
    found = [p for p in grant.privileges if p not in READ_ONLY_PRIVILEGES and p not in IGNORED_PRIVILEGES]
    if grant.grant_option and "PROXY" not in grant.privileges:
        found.append("GRANT OPTION")
    return found


def writing_grants(lines: Iterable[tuple[str, Optional[str]]], database: str) -> list[str]:
    """Descriptions of what could write to ``database``, from (``SHOW GRANTS`` line, role it came through)."""
    found: list[str] = []
    for line, via in lines:
        grant = parse_grant_line(line)
        if not isinstance(grant, PrivilegeGrant) or not covers(grant, database):
            continue
        privileges = writing_privileges(grant)
        if privileges:
            text = f"{', '.join(privileges)} ON {grant.target}"
            found.append(text + (f" (through {via})" if via else ""))
    return list(dict.fromkeys(found))


def parse_grants(grant_lines: Sequence[str], database: str) -> set[str]:
    """The names of the writing privileges ``SHOW GRANTS`` lines give on ``database``."""
    names: set[str] = set()
    for line in grant_lines:
        grant = parse_grant_line(line)
        if isinstance(grant, PrivilegeGrant) and covers(grant, database):
            names.update(writing_privileges(grant))
    return names


def role_grants(lines: Iterable[str]) -> list[tuple[str, Optional[str]]]:
    """The roles that ``GRANT <role> TO ...`` lines name, in order, once each."""
    roles: dict[tuple[str, Optional[str]], None] = {}
    for line in lines:
        grant = parse_grant_line(line)
        if isinstance(grant, RoleGrant):
            for role in grant.roles:
                roles.setdefault(role, None)
    return list(roles)
