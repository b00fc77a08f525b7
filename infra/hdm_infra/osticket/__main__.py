"""Build a generated osTicket database on the private MariaDB server (the demo uses this).

    python -m hdm_infra.osticket --dir var/mariadb --database osticket --tickets 1000 \
        [--version 1.18|1.14|legacy-1.9] [--prefix ost_] [--charset utf8|utf8mb4] [--seed 7] \
        [--files-dir var/osticket-files] [--manifest var/osticket-manifest.json] [--cdata stale|fresh|missing]

Prints one JSON object: connection details of a read-only user (its password as a file: reference),
the database, prefix, version and the manifest path.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.generator import GeneratorOptions, generate
from hdm_infra.rehearsal import write_secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.osticket")
    parser.add_argument("--dir", required=True, help="MariaDB base folder (started if not running)")
    parser.add_argument("--database", default="osticket")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--version", default="1.18", choices=["1.18", "1.14", "legacy-1.9"])
    parser.add_argument("--prefix", default="ost_")
    parser.add_argument("--charset", default="utf8", choices=["utf8", "utf8mb4"])
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--cdata", default="stale", choices=["stale", "fresh", "missing"])
    parser.add_argument("--files-dir", default=None, help="root for filesystem-backend attachments")
    parser.add_argument("--manifest", default=None, help="write the truth manifest (JSON) here")
    parser.add_argument("--reader", default="hdm_reader", help="name of the read-only user to create")
    args = parser.parse_args(argv)

    server = MariaDB.start(args.dir)
    server.create_osticket_database(args.database, version=args.version, prefix=args.prefix, charset=args.charset,
                                    timezone=args.timezone)
    options = GeneratorOptions(tickets=args.tickets, seed=args.seed, version=args.version, prefix=args.prefix,
                               files_dir=Path(args.files_dir) if args.files_dir else None, cdata=args.cdata)
    with server.connect(database=args.database) as conn:
        manifest = generate(conn, options)
    if args.manifest:
        Path(args.manifest).parent.mkdir(parents=True, exist_ok=True)
        Path(args.manifest).write_text(manifest.to_json())
    password = secrets.token_urlsafe(12)
    server.create_user(args.reader, password, args.database, read_only=True)
    # the password goes to a mode-600 file, never to the terminal or a log
    password_ref = write_secret(Path(args.dir) / "secrets", f"{args.reader}-password", password)
    print(json.dumps({"host": server.host, "port": server.port, "user": args.reader, "password": password_ref,
                      "database": args.database, "prefix": args.prefix, "version": args.version,
                      "files_dir": args.files_dir, "manifest": args.manifest, "objects": dict(manifest.objects)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
