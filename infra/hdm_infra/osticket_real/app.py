"""Run a real osTicket tree under lighttpd + php-cgi against a private MariaDB, and drive its installer.

Debian packages needed (PHP 8.2 on Debian 12): ``php-cli php-cgi php-mysql php-mbstring php-xml php-gd php-intl
php-imap php-apcu php-curl lighttpd``; the database is :class:`hdm_infra.mariadb.MariaDB` (package ``mariadb-server``).

Why lighttpd + php-cgi and not ``php -S``: osTicket's API decides "CLI or HTTP" by ``php_sapi_name()`` starting with
``cli`` (``osTicket::is_cli``); the built-in server's SAPI is ``cli-server``, so the API reads the request body from
stdin and every API call fails with "malformed JSON". Under FastCGI the SAPI is ``cgi-fcgi`` as in production.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from hdm_infra.mariadb import MariaDB, free_port
from hdm_infra.osticket_real.web import Browser, WebError, page_errors

APT_PACKAGES = ("php-cli", "php-cgi", "lighttpd", "php-mysql", "php-mbstring", "php-xml", "php-gd", "php-intl",
                "php-imap", "php-apcu", "php-curl", "mariadb-server", "mariadb-client")
START_TIMEOUT_S = 30

# Who the installer creates. Passwords are throw-away values of a local, loopback-only recording.
ADMIN = {"fname": "Ada", "lname": "Admin", "admin_email": "ada.admin@example.org", "username": "ada",
         "passwd": "Rec0rd-only-pass!", "passwd2": "Rec0rd-only-pass!"}
HELPDESK = {"name": "Recorded Help Desk", "email": "support@example.org", "lang_id": "en_US"}


LIGHTTPD_CONF = """
server.document-root = "{root}"
server.port = {port}
server.bind = "127.0.0.1"
server.errorlog = "{work}/lighttpd-error.log"
server.pid-file = "{work}/lighttpd.pid"
server.modules += ("mod_fastcgi", "mod_access", "mod_indexfile")
index-file.names = ("index.php", "index.html")
mimetype.assign = (".css" => "text/css", ".js" => "application/javascript", ".png" => "image/png",
                   ".svg" => "image/svg+xml", ".html" => "text/html")
server.max-request-size = 65536
fastcgi.server = (".php" => ((
    "bin-path" => "/usr/bin/php-cgi -c {php_ini}",
    "socket" => "{work}/php.sock",
    "max-procs" => 1,
    "bin-environment" => ("PHP_FCGI_CHILDREN" => "2", "PHP_FCGI_MAX_REQUESTS" => "1000"),
    "broken-scriptfilename" => "enable"
)))
"""


@dataclass
class Osticket:
    """A running osTicket: web root, its URL, the database and the PHP server process."""

    root: Path
    url: str
    db: MariaDB
    database: str
    db_user: str
    db_password: str
    php: subprocess.Popen[bytes]  # the lighttpd process (it spawns php-cgi)
    prefix: str = "ost_"

    def stop(self) -> None:
        if self.php.poll() is None:
            self.php.terminate()
            try:
                self.php.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.php.kill()

    def sql(self, query: str, args: tuple = ()) -> list[tuple]:
        with self.db.connect(database=self.database) as conn, conn.cursor() as cur:
            cur.execute(query, args)
            return list(cur.fetchall())

    def php_version(self) -> str:
        return subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True,
                              check=True).stdout.strip()


def php_available() -> bool:
    return shutil.which("php") is not None


def prepare_tree(source: Path, work: Path) -> Path:
    """Copy the osTicket source tree to ``work/www`` (the source stays untouched) with a writable config file."""
    root = work / "www"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(source, root, symlinks=True)
    sample = root / "include" / "ost-sampleconfig.php"
    config = root / "include" / "ost-config.php"
    shutil.copyfile(sample, config)
    config.chmod(0o666)
    return root


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lighttpd exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"lighttpd did not answer within {START_TIMEOUT_S}s")


def start(source: Path, work: Path, db: MariaDB, database: str = "osticket") -> Osticket:
    """Copy the tree, create an empty database + its owner, and serve the tree with lighttpd + php-cgi."""
    if not php_available():
        raise RuntimeError("php not found: apt-get install " + " ".join(APT_PACKAGES))
    root = prepare_tree(source, work)
    db.drop_database(database)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8 COLLATE utf8_general_ci")
    password = "rec-" + database
    db.create_user("ost_app", password, database, read_only=False)
    port = free_port()
    php_ini = work / "php.ini"
    php_ini.write_text("memory_limit=512M\npost_max_size=64M\nupload_max_filesize=64M\ndisplay_errors=0\n"
                       f"log_errors=1\nerror_log={work / 'php-errors.log'}\ncgi.fix_pathinfo=1\n"
                       "date.timezone=UTC\nerror_reporting=E_ALL & ~E_DEPRECATED & ~E_STRICT\n")
    conf = work / "lighttpd.conf"
    conf.write_text(LIGHTTPD_CONF.format(root=root, port=port, work=work, php_ini=php_ini))
    log = open(work / "lighttpd.log", "ab")  # noqa: SIM115 - handed to the child
    php = subprocess.Popen(["lighttpd", "-D", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, cwd=work, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}/"
    _wait_http(url, php)
    return Osticket(root=root, url=url, db=db, database=database, db_user="ost_app", db_password=password, php=php)


def install(ost: Osticket) -> None:
    """Run the web installer exactly as a browser would (prereq -> config -> install)."""
    web = Browser(ost.url)
    web.get("setup/install.php")
    web.post("setup/install.php", {"s": "prereq"})
    web.post("setup/install.php", {"s": "config"})
    page = web.post("setup/install.php", {
        "s": "install", **HELPDESK, **ADMIN, "prefix": ost.prefix, "dbhost": f"127.0.0.1:{ost.db.port}",
        "dbname": ost.database, "dbuser": ost.db_user, "dbpass": ost.db_password, "timezone": "UTC"}).text
    config = (ost.root / "include" / "ost-config.php").read_text()
    if "define('OSTINSTALLED',TRUE);" not in config:
        raise WebError(f"installer did not finish: {page_errors(page) or page[-1500:]}")
    # a real deployment removes the setup folder after installing (the staff panel nags otherwise)
    shutil.rmtree(ost.root / "setup")
    (ost.root / "include" / "ost-config.php").chmod(0o644)


def secret_salt(ost: Osticket) -> str:
    m = re.search(r"define\('SECRET_SALT','([^']+)'\)", (ost.root / "include" / "ost-config.php").read_text())
    if not m:
        raise RuntimeError("SECRET_SALT not found in ost-config.php")
    return m.group(1)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
