"""A private MariaDB server for tests, benchmarks and the demo.

`MariaDB.start(base_dir)` installs Debian's ``mariadb-server`` if no server binary is found, initialises a data
directory under ``base_dir``, and runs ``mariadbd`` bound to 127.0.0.1 on a free port with its own socket and pid
file. No system service is touched. Connection details (with a generated admin password) are kept in
``base_dir/connection.json`` (mode 0600) so a later process can attach to or stop the same server.

Other local users cannot read the data: ``base_dir`` and the data folder are mode 0700, ``root`` has a random
password (``base_dir/root.password``, mode 0600, set through ``--init-file`` before the server accepts any
connection; root accounts for other hosts and anonymous accounts are removed), and the TCP admin account has
another. TLS is on: a private CA and a server certificate for 127.0.0.1/localhost live in ``base_dir/tls``
(``MariaDB.ca_file``); ``create_user(..., require_tls=True)`` makes an account that may only log in over TLS.

Command line (prints connection info as JSON)::

    python -m hdm_infra.mariadb start  --dir var/mariadb
    python -m hdm_infra.mariadb status --dir var/mariadb
    python -m hdm_infra.mariadb stop   --dir var/mariadb
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

log = logging.getLogger(__name__)

ADMIN_USER = "hdm_admin"
CONNECTION_FILE = "connection.json"
ROOT_PASSWORD_FILE = "root.password"
INIT_FILE = "init-root.sql"
TLS_DIR = "tls"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


class MariaDBError(RuntimeError):
    """The local MariaDB server could not be installed, started, reached or stopped."""


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for folder in _SBIN_DIRS:
            candidate = Path(folder) / name
            if candidate.exists() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def server_binary() -> str | None:
    """Path of the MariaDB server binary, or None when it is not installed."""
    return _which("mariadbd", "mysqld")


def ensure_installed() -> str:
    """Install Debian's mariadb-server (non-interactive) when no server binary exists; return the binary path."""
    binary = server_binary()
    if binary:
        return binary
    if os.geteuid() != 0:
        raise MariaDBError("mariadb-server is not installed; installing it needs root (apt-get install mariadb-server)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log.info("installing mariadb-server with apt-get")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "mariadb-server", "mariadb-client"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise MariaDBError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    binary = server_binary()
    if not binary:
        raise MariaDBError("mariadb-server was installed but no mariadbd/mysqld binary was found")
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); reap it if it is ours
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


@dataclass
class MariaDB:
    """A running private MariaDB server (127.0.0.1 only)."""

    base_dir: Path
    host: str
    port: int
    admin_user: str
    admin_password: str
    socket_path: Path
    pid_file: Path
    pid: int | None = None
    root_password: str = field(default="", repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def tls_dir(self) -> Path:
        return self.base_dir / TLS_DIR

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate (for clients that verify it)."""
        return self.tls_dir / "ca.pem"

    # ----- lifecycle -----------------------------------------------------------------------------------------
    @classmethod
    def start(cls, base_dir: str | os.PathLike[str], port: int | None = None,
              require_secure_transport: bool = False) -> MariaDB:
        """Start (or attach to an already running) private server whose files live under ``base_dir``.

        ``require_secure_transport``: every TCP connection must use TLS (the socket stays allowed).
        """
        base = Path(base_dir).resolve()
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        base.chmod(0o700)
        running = cls.attach(base)
        if running is not None:
            return running
        binary = ensure_installed()
        datadir = base / "data"
        if not (datadir / "mysql").is_dir():
            _install_db(binary, datadir, base)
        datadir.chmod(0o700)
        root_password = _root_password(base)
        init_file = _write_init_file(base, root_password)
        server_cert = _ensure_tls(base / TLS_DIR)
        socket_path = base / "mysqld.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            socket_path = Path(tempfile.mkdtemp(prefix="hdm-mdb-")) / "mysqld.sock"
        pid_file = base / "mysqld.pid"
        chosen_port = port or free_port()
        cmd = [
            binary,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={socket_path}",
            f"--pid-file={pid_file}",
            f"--port={chosen_port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--local-infile=1",
            "--max-allowed-packet=256M",
            "--innodb-buffer-pool-size=512M",
            "--innodb-log-file-size=256M",
            "--innodb-flush-log-at-trx-commit=2",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            f"--log-error={base / 'mysqld.err'}",
            f"--init-file={init_file}",
            f"--ssl-ca={base / TLS_DIR / 'ca.pem'}",
            f"--ssl-cert={server_cert.cert}",
            f"--ssl-key={server_cert.key}",
            "--tls-version=TLSv1.2,TLSv1.3",
            f"--require-secure-transport={'ON' if require_secure_transport else 'OFF'}",
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        log_file = open(base / "mysqld.out", "ab")  # noqa: SIM115 - handed to the child process
        process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log_file.close()
        server = cls(base_dir=base, host="127.0.0.1", port=chosen_port, admin_user="root", admin_password="",
                     socket_path=socket_path, pid_file=pid_file, pid=process.pid, root_password=root_password,
                     _process=process)
        try:
            server._wait_ready()
        finally:
            init_file.unlink(missing_ok=True)  # it holds the root password; the server has read it by now
        server._ensure_admin()
        server._save()
        return server

    @classmethod
    def attach(cls, base_dir: str | os.PathLike[str]) -> MariaDB | None:
        """The server recorded in ``base_dir/connection.json`` if it is running and answers, else None."""
        info_file = Path(base_dir) / CONNECTION_FILE
        if not info_file.exists():
            return None
        info = json.loads(info_file.read_text())
        server = cls(base_dir=Path(base_dir).resolve(), host=info["host"], port=int(info["port"]),
                     admin_user=info["user"], admin_password=info["password"], socket_path=Path(info["socket"]),
                     pid_file=Path(info["pid_file"]), pid=info.get("pid"),
                     root_password=_read_root_password(Path(base_dir)))
        if server.pid and not _pid_alive(int(server.pid)):
            return None
        try:
            server.connect().close()
        except pymysql.MySQLError:
            return None
        return server

    def stop(self) -> None:
        """Stop the server (SIGTERM, bounded wait, then SIGKILL) and forget its connection file."""
        pid = self.pid or self._read_pid()
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while time.monotonic() < deadline and _pid_alive(pid):
                if self._process is not None and self._process.poll() is not None:
                    break
                time.sleep(0.1)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self._process is not None:
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        (self.base_dir / CONNECTION_FILE).unlink(missing_ok=True)
        self.pid = None

    def is_running(self) -> bool:
        pid = self.pid or self._read_pid()
        return bool(pid) and _pid_alive(int(pid))

    def info(self) -> dict[str, Any]:
        """Connection details (includes the admin password: do not log it)."""
        return {"host": self.host, "port": self.port, "user": self.admin_user, "password": self.admin_password,
                "socket": str(self.socket_path), "pid_file": str(self.pid_file), "pid": self.pid,
                "base_dir": str(self.base_dir), "ca": str(self.ca_file)}

    # ----- connections ---------------------------------------------------------------------------------------
    def connect(self, database: str | None = None, user: str | None = None, password: str | None = None,
                **kwargs: Any) -> pymysql.connections.Connection:
        """A pymysql connection over TCP to 127.0.0.1 (admin credentials unless user/password are given)."""
        params: dict[str, Any] = {"host": self.host, "port": self.port, "user": user or self.admin_user,
                                  "password": self.admin_password if password is None else password,
                                  "charset": "utf8mb4", "connect_timeout": 10, "local_infile": True,
                                  "autocommit": True}
        if database:
            params["database"] = database
        params.update(kwargs)
        return pymysql.connect(**params)

    def create_database(self, name: str, charset: str = "utf8") -> None:
        _check_identifier(name)
        collation = "utf8mb4_general_ci" if charset == "utf8mb4" else "utf8_general_ci"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET {charset} COLLATE {collation}")

    def drop_database(self, name: str) -> None:
        _check_identifier(name)
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def create_user(self, name: str, password: str, database: str, read_only: bool = True,
                    require_tls: bool = False) -> None:
        """Create (or replace) a user that may log in from 127.0.0.1 with rights on one database.

        ``require_tls``: the account may only log in over TLS (``REQUIRE SSL``, the per-account form of
        ``require_secure_transport``).
        """
        _check_identifier(name)
        _check_identifier(database)
        rights = "SELECT, SHOW VIEW" if read_only else "ALL PRIVILEGES"
        require = " REQUIRE SSL" if require_tls else ""
        with self.connect() as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"DROP USER IF EXISTS '{name}'@'{host}'")
                cur.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY %s{require}", (password,))
                cur.execute(f"GRANT {rights} ON `{database}`.* TO '{name}'@'{host}'")

    def reissue_server_certificate(self, hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")) -> None:
        """Give the server a new certificate from its CA naming ``hosts`` and load it now (``FLUSH SSL``); tests
        use it to check that a client verifies the name (call again without ``hosts`` to restore)."""
        from hdm_infra.pki import ensure_ca, issue

        issue(ensure_ca(self.tls_dir), self.tls_dir, "server", hosts=hosts, replace=True)
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("FLUSH SSL")

    def issue_client_certificate(self, name: str):
        """A client certificate (``CertFiles``) with common name ``name``, signed by the server's CA."""
        from hdm_infra.pki import ensure_ca, issue

        return issue(ensure_ca(self.tls_dir), self.tls_dir / "clients", name, client=True)

    def create_osticket_database(self, name: str, version: str = "1.18", prefix: str = "ost_", charset: str = "utf8",
                                 timezone: str = "UTC") -> None:
        """Create database ``name`` holding osTicket's real install schema and install-time data.

        version: "1.18", "1.14" (real install SQL) or "legacy-1.9" (1.9.4-1.9.16 layout, DDL written by hdm).
        """
        from hdm_infra.osticket.schema import install_osticket

        self.create_database(name, charset=charset)
        with self.connect(database=name) as conn:
            install_osticket(conn, version=version, prefix=prefix, charset=charset, timezone=timezone)

    # ----- internals -----------------------------------------------------------------------------------------
    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise MariaDBError(f"mariadbd exited with {self._process.returncode}; see {self.base_dir}/mysqld.err")
            try:
                pymysql.connect(unix_socket=str(self.socket_path), user="root", password=self.root_password,
                                connect_timeout=2).close()
                return
            except pymysql.MySQLError as exc:
                last_error = exc
                time.sleep(0.2)
        self.stop()
        raise MariaDBError(f"mariadbd did not answer within {START_TIMEOUT_S:.0f}s: {last_error}")

    def _ensure_admin(self) -> None:
        """Create the TCP admin account (root over the socket is used only here)."""
        password = secrets.token_urlsafe(18)
        conn = pymysql.connect(unix_socket=str(self.socket_path), user="root", password=self.root_password,
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(f"CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'{host}' IDENTIFIED BY %s", (password,))
                    cur.execute(f"ALTER USER '{ADMIN_USER}'@'{host}' IDENTIFIED BY %s", (password,))
                    cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'{host}' WITH GRANT OPTION")
                cur.execute("SET GLOBAL local_infile = 1")
        finally:
            conn.close()
        self.admin_user = ADMIN_USER
        self.admin_password = password

    def _save(self) -> None:
        path = self.base_dir / CONNECTION_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.info(), handle, indent=2)


def _read_root_password(base: Path) -> str:
    try:
        return (base / ROOT_PASSWORD_FILE).read_text().strip()
    except OSError:
        return ""


def _root_password(base: Path) -> str:
    """The server's root password from ``base/root.password`` (mode 0600), generated on first use."""
    path = base / ROOT_PASSWORD_FILE
    password = _read_root_password(base)
    if not password:
        password = secrets.token_urlsafe(24)  # URL-safe alphabet: safe inside a quoted SQL literal
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
    path.chmod(0o600)
    return password


def _write_init_file(base: Path, root_password: str) -> Path:
    """SQL the server runs at start-up, before it accepts connections: root gets its password (also on a data
    folder made by an older version, whose root had none), root accounts for other hosts and anonymous
    accounts are removed."""
    if not all(ch.isalnum() or ch in "-_" for ch in root_password):
        raise MariaDBError(f"{base / ROOT_PASSWORD_FILE} holds characters other than letters, digits, - and _")
    sql = "\n".join([
        "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
        "DELETE FROM mysql.proxies_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
        "FLUSH PRIVILEGES;",
        f"CREATE USER IF NOT EXISTS 'root'@'localhost' IDENTIFIED BY '{root_password}';",
        f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{root_password}';",
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'localhost' WITH GRANT OPTION;",
        "",
    ])
    path = base / INIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(sql)
    return path


def _ensure_tls(folder: Path):
    """The private CA and the server's certificate for 127.0.0.1/localhost (made once, kept with the data)."""
    from hdm_infra.pki import ensure_ca, issue

    ca = ensure_ca(folder, common_name="hdm local MariaDB CA")
    return issue(ca, folder, "server")


def _install_db(binary: str, datadir: Path, base: Path) -> None:
    install = _which("mariadb-install-db", "mysql_install_db")
    if not install:
        raise MariaDBError("mariadb-install-db not found (package mariadb-server)")
    datadir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cmd = [install, "--no-defaults", f"--datadir={datadir}", "--auth-root-authentication-method=normal",
           "--skip-test-db", "--skip-name-resolve"]
    basedir = Path(binary).resolve().parent.parent
    cmd.append(f"--basedir={basedir}")
    if os.geteuid() == 0:
        cmd.append("--user=root")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, cwd=base)
    if done.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        raise MariaDBError(f"mariadb-install-db failed ({done.returncode}): {done.stderr[-2000:]}")


def _check_identifier(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "_$" for ch in name) or len(name) > 64:
        raise ValueError(f"not a safe SQL identifier: {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.mariadb", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", required=True, help="folder holding the server's datadir, socket and pid file")
    parser.add_argument("--port", type=int, default=None, help="TCP port (default: a free one)")
    parser.add_argument("--require-secure-transport", action="store_true",
                        help="refuse TCP connections that do not use TLS (CA: <dir>/tls/ca.pem)")
    args = parser.parse_args(argv)
    base = Path(args.dir)
    if args.action == "start":
        server = MariaDB.start(base, port=args.port, require_secure_transport=args.require_secure_transport)
        print(json.dumps({"status": "running", **server.info()}))
        return 0
    server_or_none = MariaDB.attach(base)
    if args.action == "status":
        if server_or_none is None:
            print(json.dumps({"status": "stopped", "base_dir": str(base.resolve())}))
            return 1
        print(json.dumps({"status": "running", **server_or_none.info()}))
        return 0
    if server_or_none is None:
        print(json.dumps({"status": "stopped", "base_dir": str(base.resolve())}))
        return 0
    server_or_none.stop()
    print(json.dumps({"status": "stopped", "base_dir": str(base.resolve())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
