"""Reading SHOW GRANTS lines (MariaDB and MySQL 8 formats): what could write to the source database."""

from __future__ import annotations

import pytest
from hdm.sources.osticket.grants import (
    PrivilegeGrant,
    RoleGrant,
    like_matches,
    parse_grant_line,
    parse_grants,
    role_grants,
    writing_grants,
)


@pytest.mark.parametrize("pattern,name,expected", [
    ("osticket\\_%", "osticket_prod", True),
    ("osticket\\_%", "osticketXprod", False),
    ("osticket_prod", "osticketXprod", True),  # a bare _ is a wildcard in a database grant
    ("%", "anything", True),
    ("OSTICKET", "osticket", True),  # matched without case: over-refusing beats missing a grant
    ("ost\\%x", "ost%x", True),
    ("ost\\%x", "ostabcx", False),
    ("other", "osticket", False),
])
def test_database_patterns_are_like_patterns(pattern, name, expected):
    assert like_matches(pattern, name) is expected


@pytest.mark.parametrize("line,expected", [
    ("GRANT ALL PRIVILEGES ON `osticket\\_%`.* TO `u`@`%`", {"ALL PRIVILEGES"}),
    ("GRANT INSERT ON `%`.* TO `u`@`%`", {"INSERT"}),
    ("GRANT ALL ON `osticket_prod`.* TO 'u'@'%'", {"ALL PRIVILEGES"}),
    ("GRANT EXECUTE ON PROCEDURE `osticket_prod`.`purge` TO `u`@`%`", {"EXECUTE"}),
    ("GRANT EXECUTE ON FUNCTION `osticket_prod`.`f` TO `u`@`%`", {"EXECUTE"}),
    ("GRANT UPDATE (`subject`, `a)b`) ON `osticket_prod`.`ost_ticket__cdata` TO `u`@`%`", {"UPDATE"}),
    ("GRANT INSERT, UPDATE ON `mysql`.* TO `u`@`%`", {"INSERT", "UPDATE"}),
    ("GRANT FILE, RELOAD ON *.* TO `u`@`%`", {"FILE", "RELOAD"}),
    ("GRANT BINLOG_ADMIN,XA_RECOVER_ADMIN ON *.* TO `u`@`%`", {"BINLOG_ADMIN", "XA_RECOVER_ADMIN"}),  # MySQL 8
    ("GRANT SELECT ON `osticket_prod`.* TO `u`@`%` WITH GRANT OPTION", {"GRANT OPTION"}),
    ("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*ABC' WITH GRANT OPTION", {"GRANT OPTION"}),
    ("GRANT DELETE ON `osticket_prod`.* TO PUBLIC", {"DELETE"}),
    # read-only, elsewhere, or not a privilege grant
    ("GRANT SELECT, SHOW VIEW ON `osticket_prod`.* TO `u`@`%`", set()),
    ("GRANT USAGE, PROCESS, REPLICATION CLIENT ON *.* TO `u`@`%`", set()),
    ("GRANT ALL PRIVILEGES ON `scratch`.* TO `u`@`%`", set()),
    ("GRANT ALL PRIVILEGES ON `osticket\\_backup`.* TO `u`@`%`", set()),
    ("GRANT UPDATE ON `osticket_other`.`t` TO `u`@`%`", set()),
    ("GRANT PROXY ON ''@'%' TO 'u'@'%' WITH GRANT OPTION", set()),
    ("SET DEFAULT ROLE `r` FOR `u`@`%`", set()),
    ("REVOKE INSERT ON `osticket_prod`.* FROM `u`@`%`", set()),
])
def test_what_a_grant_line_allows(line, expected):
    assert parse_grants([line], "osticket_prod") == expected


def test_table_grants_name_the_database_literally():
    # a table grant's database is not a pattern: osticket_prod.t does not cover osticketXprod
    assert parse_grants(["GRANT UPDATE ON `osticket_prod`.`t` TO `u`@`%`"], "osticketXprod") == set()
    assert parse_grants(["GRANT UPDATE ON `osticket_prod`.`t` TO `u`@`%`"], "osticket_prod") == {"UPDATE"}


def test_role_grant_lines_mariadb_and_mysql():
    assert parse_grant_line("GRANT `writer` TO `u`@`%`") == RoleGrant((("writer", None),))
    assert parse_grant_line("GRANT `r1`@`%`,`r2`@`localhost` TO `u`@`%` WITH ADMIN OPTION") == RoleGrant(
        (("r1", "%"), ("r2", "localhost")))
    lines = ["GRANT USAGE ON *.* TO `u`@`%`", "GRANT `a` TO `u`@`%`", "GRANT `b`, `a` TO `u`@`%`"]
    assert role_grants(lines) == [("a", None), ("b", None)]


def test_identifiers_with_odd_characters():
    grant = parse_grant_line("GRANT INSERT ON `os``t ON x`.`t TO y` TO `u`@`%`")
    assert isinstance(grant, PrivilegeGrant)
    assert (grant.database, grant.table, grant.privileges) == ("os`t ON x", "t TO y", ("INSERT",))


def test_descriptions_name_the_scope_and_the_role():
    lines = [("GRANT ALL PRIVILEGES ON `osticket\\_%`.* TO `u`@`%`", None),
             ("GRANT INSERT ON `osticket_prod`.* TO `w`", "role w"),
             ("GRANT SELECT ON `osticket_prod`.* TO `u`@`%`", None)]
    assert writing_grants(lines, "osticket_prod") == ["ALL PRIVILEGES ON `osticket\\_%`.*",
                                                 "INSERT ON `osticket_prod`.* (through role w)"]


class _FakeServer:
    """Answers the grant statements as a MySQL 8 server would (formats from MySQL's SHOW GRANTS reference)."""

    def __init__(self, answers: dict[str, list]):
        self.answers = answers
        self.asked: list[str] = []

    def get_server_info(self) -> str:
        return "8.0.36"

    def cursor(self):
        server = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql):
                import pymysql

                server.asked.append(sql)
                if sql not in server.answers:
                    raise pymysql.err.OperationalError(1064, "syntax")
                self.rows = [(line,) for line in server.answers[sql]]

            def fetchall(self):
                return self.rows

        return Cursor()


def _mysql_connection(answers):
    from hdm.sources.osticket.connection import ConnParams, ReadOnlyConnection

    conn = object.__new__(ReadOnlyConnection)  # no network: only the grant reading runs
    conn.params = ConnParams(database="osticket")
    conn._conn = _FakeServer(answers)
    return conn


def test_mysql_roles_and_mandatory_roles_are_expanded_with_using():
    own = ["GRANT USAGE ON *.* TO `u`@`%`", "GRANT SELECT ON `osticket`.* TO `u`@`%`", "GRANT `rw`@`%` TO `u`@`%`"]
    conn = _mysql_connection({
        "SHOW GRANTS FOR CURRENT_USER()": own,
        "SHOW GRANTS": own,
        "SELECT @@GLOBAL.mandatory_roles": ["`audit`@`%`"],
        "SHOW GRANTS FOR CURRENT_USER() USING `rw`@`%`, `audit`@`%`": [
            *own, "GRANT INSERT ON `osticket`.* TO `u`@`%`"],
    })
    assert conn._writable_privileges() == {"INSERT ON `osticket`.* (through roles rw, audit)"}


def test_a_role_whose_grants_cannot_be_read_counts_as_writing():
    own = ["GRANT SELECT ON `osticket`.* TO `u`@`%`", "GRANT `mystery`@`%` TO `u`@`%`"]
    conn = _mysql_connection({"SHOW GRANTS FOR CURRENT_USER()": own, "SHOW GRANTS": own,
                              "SELECT @@GLOBAL.mandatory_roles": [""]})
    assert conn._writable_privileges() == {"role mystery (its grants could not be read)"}
