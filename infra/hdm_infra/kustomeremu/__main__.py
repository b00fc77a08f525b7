"""`python -m hdm_infra.kustomeremu serve|seed --state-dir DIR ...`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hdm_infra.emulators.kit.cli import serve_command

from .app import KustomerEmulator
from .generator import SeedSpec
from .server import RunningKustomer, build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Kustomer REST v1 emulator (read side) for hdm."""


cli.add_command(serve_command(build_server, start_subprocess, RunningKustomer,
                              "Serve over TLS on 127.0.0.1; prints one JSON line (url, api_base, "
                              "cert, api_keys_file, admin token file)."))


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
