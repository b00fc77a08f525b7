"""`python -m hdm_infra.kustomeremu serve|seed --state-dir DIR ...`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from hdm_infra.emulators.kit import serve_foreground

from .app import KustomerEmulator
from .generator import SeedSpec
from .server import RunningKustomer, build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Kustomer REST v1 emulator (read side) for hdm."""


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=0, show_default=True, help="0 picks a free port")
@click.option("--background", is_flag=True, help="start a detached server process, print its banner, return")
def serve(state_dir: Path, port: int, background: bool) -> None:
    """Serve over TLS on 127.0.0.1; prints one JSON line (url, api_base, cert, api_keys_file, admin token file)."""
    if background:
        running = start_subprocess(state_dir, port)
        click.echo(json.dumps({**running.describe(), "note": "stop it with kill <pid>; log in <state_dir>/server.log"}))
        return
    server, emulator, cert = build_server(state_dir, port)
    banner = RunningKustomer(url=emulator.base_url, cert_path=cert, state_dir=Path(state_dir), pid=os.getpid())
    serve_foreground(server, emulator, banner.describe())


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--customers", default=50, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", "seed_", default=1, show_default=True, type=int)
@click.option("--burst", default=None, type=click.IntRange(min=0),
              help="customers and conversations sharing one updatedAt (default: customers // 2)")
@click.option("--orphans", default=None, type=click.IntRange(min=0),
              help="KObjects whose lookup parent is missing (default: max(1, customers // 50))")
def seed(state_dir: Path, customers: int, seed_: int, burst: int | None, orphans: int | None) -> None:
    """Replace the org in DIR with a generated one (deterministic for the same options); prints the counts.

    Run it while no server uses DIR, or use the admin API's POST /__admin/seed on a running one.
    """
    emulator = KustomerEmulator(state_dir)
    try:
        result = emulator.seed(SeedSpec(customers=customers, seed=seed_, burst=burst, orphans=orphans))
    finally:
        emulator.store.close()
    click.echo(json.dumps(result, indent=1))


if __name__ == "__main__":
    cli()
