"""The demo: a real local migration, no AWS account.

    python -m hdm_infra.demo [--tickets 300] [--dir var/demo] [--seed 7] [--keep-running]
                             [--destination salesforce|intercom]

1. starts the project's private MariaDB on 127.0.0.1 and loads a fresh osTicket 1.18 database
   (the real install schema) with generated data;
2. starts the Salesforce API emulator (HTTPS on 127.0.0.1) and resets its org to a customer's starting
   point: the agents that exist there as Users, nothing else;
3. writes a migration config whose secrets are file references;
4. runs the migration on the local engine (approval given up front with --yes semantics), then builds
   the thread-splitting review page for a sample;
5. prints the reconciliation summary and where the reports are.

Re-running it starts again from a fresh database and org.

``--destination intercom`` (``scripts/demo.sh --destination intercom``) migrates into the Intercom API emulator
instead (hdm_infra.demo_intercom): its workspace starts with the agents that match as admins and a team per
department but one.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import time
from pathlib import Path

import yaml
from hdm.cli import summary_table
from hdm.engines.local import LocalEngine
from hdm.localfiles import private_dir, private_umask, write_private
from hdm.pipeline.report import headline

from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.generator import GeneratorOptions, generate
from hdm_infra.rehearsal import SourceDb, agent_emails, destination_users, migration_config, prepare_org
from hdm_infra.sfemu.client import AdminClient
from hdm_infra.sfemu.server import start_subprocess

MIGRATION_ID = "demo"
DATABASE = "osticket_demo"


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", default="var/demo")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave MariaDB and the emulator running afterwards (to inspect them)")
    parser.add_argument("--destination", choices=("salesforce", "intercom"), default="salesforce",
                        help="the destination emulator to migrate into (default: salesforce)")
    args = parser.parse_args(argv)
    if args.destination == "intercom":
        from hdm_infra.demo_intercom import main as intercom_main

        return intercom_main(args)
    base = Path(args.dir).resolve()
    started = time.monotonic()
    private_umask()  # the demo's outputs (tickets, stage, org, review page) are its user's only
    private_dir(base)

    _step(f"osTicket: private MariaDB under {base / 'mariadb'}, {args.tickets} generated tickets")
    server = MariaDB.start(base / "mariadb")
    server.drop_database(DATABASE)
    server.create_osticket_database(DATABASE, version="1.18", prefix="ost_")
    files_dir = base / "osticket-files"
    shutil.rmtree(files_dir, ignore_errors=True)
    with server.connect(database=DATABASE) as conn:
        manifest = generate(conn, GeneratorOptions(tickets=args.tickets, seed=args.seed, files_dir=files_dir))
        emails = agent_emails(conn, "ost_")
    password = secrets.token_urlsafe(16)  # a fresh throwaway password; it goes only to a mode-600 file
    server.create_user("hdm_reader", password, DATABASE, read_only=True, require_tls=True)
    print(f"   MariaDB on 127.0.0.1:{server.port}, database {DATABASE}, read-only user hdm_reader (TLS only, "
          f"CA {server.ca_file})")
    print("   generated: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.objects.items())))

    _step("Salesforce: the local API emulator (HTTPS on 127.0.0.1)")
    emulator = start_subprocess(base / "sfemu")
    try:
        users = destination_users(emails)
        prepare_org(emulator, users)
        print(f"   {emulator.url}; org reset with {len(users)} existing Users (agents that will match by email)")

        _step("migration on the local engine")
        folder = base / "migrations"
        shutil.rmtree(folder / MIGRATION_ID, ignore_errors=True)
        db = SourceDb("127.0.0.1", server.port, "hdm_reader", password, DATABASE, "ost_", files_dir,
                      tls_ca=server.ca_file)  # TLS with the server verified, as against a customer's database
        config = migration_config(MIGRATION_ID, db, emulator, base / "secrets")
        config_path = base / "migration.yaml"
        write_private(config_path, yaml.safe_dump(config.to_json(), sort_keys=False))  # secrets: file: references
        engine = LocalEngine(config, workdir=folder, progress=True)
        outcome = engine.run(approve=True)
        print(f"\nmigration {outcome.migration_id}: {outcome.status} {outcome.message}")
        if outcome.status != "succeeded":
            print(f"folder: {outcome.folder}")
            return 2
        review = _review_page(engine, base)

        _step("reconciliation")
        print(summary_table(outcome.report))
        counts = AdminClient(emulator).counts()
        print("\nSalesforce org now holds: " + ", ".join(
            f"{k} {v}" for k, v in sorted(counts.items()) if k in
            ("Account", "Contact", "Case", "CaseComment", "ContentVersion", "Group", "CaseContactRole",
             "hdm_Case_Event__c")))
        print(f"\nreport (HTML): {outcome.report['report_html']}")
        print(f"report (JSON): {outcome.report['report_json']}")
        if review:
            print(f"thread review page: {review}")
        print(f"stage and crosswalk: {outcome.folder}")
        print(f"config (secrets as file references): {config_path}")
        print(f"  try: .venv/bin/hdm discover --config {config_path}")
        print(f"       .venv/bin/hdm status {MIGRATION_ID} --workdir {folder}")
        print(f"done in {time.monotonic() - started:.0f} s; every source record is "
              + ("accounted for." if outcome.report["ok"] else "NOT accounted for: see the report."))
        # the generated database holds problems on purpose (unmatched agents, missing files, odd values):
        # the outcome names what needs a person, as `hdm run` would (its exit status says the same)
        print(f"outcome: {headline(outcome.report)}")
        return 0 if outcome.report["ok"] else 2
    finally:
        if args.keep_running:
            print(f"\nstill running: MariaDB 127.0.0.1:{server.port}, emulator {emulator.url}")
        else:
            emulator.stop()
            server.stop()
            print(f"\n(stopped MariaDB and the emulator; their state stays under {base})")


def _review_page(engine: LocalEngine, base: Path) -> str | None:
    """The thread-splitting sign-off page for a sample of the migrated tickets."""
    from hdm.threads.review import build_review_page, load_staged_threads, select_sample

    threads = load_staged_threads(engine.stage.root)
    page = build_review_page(select_sample(threads, n=20, seed=1), threshold=engine.config.thread_confidence_threshold,
                             approvals=set())
    out = base / "thread-review.html"
    write_private(out, page)
    return str(out)


if __name__ == "__main__":
    sys.exit(main())
