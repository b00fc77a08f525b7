"""The demo into Intercom: ``scripts/demo.sh --destination intercom`` (``python -m hdm_infra.demo --destination
intercom``). Same steps as the Salesforce demo: a generated osTicket database on the private MariaDB, the Intercom
API emulator (HTTPS on 127.0.0.1, every request and answer checked against Intercom's OpenAPI 2.16), a migration
on the local engine, the reconciliation summary and where the reports are."""

from __future__ import annotations

import argparse
import secrets
import shutil
import time
from pathlib import Path

import yaml
from hdm.cli import summary_table
from hdm.engines.local import LocalEngine
from hdm.localfiles import private_dir, private_umask, write_private
from hdm.pipeline.report import headline

from hdm_infra.intercom_rehearsal import intercom_config, workspace_for
from hdm_infra.intercomemu.client import AdminClient
from hdm_infra.intercomemu.server import start_subprocess
from hdm_infra.mariadb import MariaDB
from hdm_infra.osticket.generator import GeneratorOptions, generate
from hdm_infra.rehearsal import SourceDb

MIGRATION_ID = "demo-intercom"
DATABASE = "osticket_demo_intercom"


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    started = time.monotonic()
    private_umask()
    private_dir(base)

    _step(f"osTicket: private MariaDB under {base / 'mariadb'}, {args.tickets} generated tickets")
    server = MariaDB.start(base / "mariadb")
    server.drop_database(DATABASE)
    server.create_osticket_database(DATABASE, version="1.18", prefix="ost_")
    files_dir = base / "osticket-files-intercom"
    shutil.rmtree(files_dir, ignore_errors=True)
    with server.connect(database=DATABASE) as conn:
        manifest = generate(conn, GeneratorOptions(tickets=args.tickets, seed=args.seed, files_dir=files_dir))
        admins, teams = workspace_for(conn, "ost_")
    password = secrets.token_urlsafe(16)
    server.create_user("hdm_reader_ic", password, DATABASE, read_only=True, require_tls=True)
    print("   generated: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.objects.items())))

    _step("Intercom: the local API emulator (HTTPS on 127.0.0.1, OpenAPI 2.16 enforced)")
    emulator = start_subprocess(base / "intercomemu")
    try:
        admin = AdminClient(emulator)
        admin.reset(admins=admins, teams=teams)
        print(f"   {emulator.url}; workspace reset with {len(admins)} admins (agents that will match by email) and "
              f"{len(teams)} teams")

        _step("migration on the local engine")
        folder = base / "migrations"
        shutil.rmtree(folder / MIGRATION_ID, ignore_errors=True)
        db = SourceDb("127.0.0.1", server.port, "hdm_reader_ic", password, DATABASE, "ost_", files_dir,
                      tls_ca=server.ca_file)
        config = intercom_config(MIGRATION_ID, db, emulator, base / "secrets")
        config_path = base / "migration-intercom.yaml"
        write_private(config_path, yaml.safe_dump(config.to_json(), sort_keys=False))
        outcome = LocalEngine(config, workdir=folder, progress=True).run(approve=True)
        print(f"\nmigration {outcome.migration_id}: {outcome.status} {outcome.message}")
        if outcome.status != "succeeded":
            print(f"folder: {outcome.folder}")
            return 2

        _step("reconciliation")
        print(summary_table(outcome.report))
        counts = admin.counts()
        print("\nIntercom workspace now holds: " + ", ".join(
            f"{k} {v}" for k, v in sorted(counts.items()) if k in ("company", "contact", "ticket", "tag",
                                                                    "data_attribute", "ticket_type")))
        failures = admin.validation_failures()
        print(f"requests or answers invalid against the OpenAPI 2.16 document: {len(failures)}")
        print(f"\nreport (HTML): {outcome.report['report_html']}")
        print(f"report (JSON): {outcome.report['report_json']}")
        print(f"stage and crosswalk: {outcome.folder}")
        print(f"config (secrets as file references): {config_path}")
        print(f"done in {time.monotonic() - started:.0f} s; every source record is "
              + ("accounted for." if outcome.report["ok"] else "NOT accounted for: see the report."))
        print(f"outcome: {headline(outcome.report)}")
        return 0 if outcome.report["ok"] else 2
    finally:
        if args.keep_running:
            print(f"\nstill running: MariaDB 127.0.0.1:{server.port}, emulator {emulator.url}")
        else:
            emulator.stop()
            server.stop()
            print(f"\n(stopped MariaDB and the emulator; their state stays under {base})")
