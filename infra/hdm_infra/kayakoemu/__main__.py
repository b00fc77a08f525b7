"""`python -m hdm_infra.kayakoemu serve|seed --state-dir DIR ...`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hdm_infra.emulators.kit.cli import serve_command

from .generator import generate
from .server import RunningKayako, build_server, start_subprocess
from .store import Store


@click.group()
def cli() -> None:
    """Local Kayako API v1 emulator for hdm (HTTPS on 127.0.0.1, state in a folder)."""


cli.add_command(serve_command(build_server, start_subprocess, RunningKayako,
                              "Serve over TLS on 127.0.0.1; prints one JSON line (url, api_url, "
                              "cert, credentials_file, admin_url, pid)."))


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--cases", default=50, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=0, show_default=True)
@click.option("--huge-post-bytes", default=200_000, show_default=True, type=click.IntRange(min=0))
@click.option("--huge-attachment-bytes", default=0, show_default=True, type=click.IntRange(min=0),
              help="0: none; else one attachment of this size on the huge-post case")
def seed(state_dir: Path, cases: int, seed: int, huge_post_bytes: int, huge_attachment_bytes: int) -> None:
    """Fill the state folder with a generated help desk (replaces what is there); prints the plan and counts.

    Safe while no server runs on the folder; with a server running use the admin API's POST /__admin/seed.
    """
    from hdm_infra.emulators.kit.state import private_state_dir

    from .app import CREDENTIALS_FILE

    state_dir = private_state_dir(state_dir)
    creds_path = state_dir / CREDENTIALS_FILE
    admin_email = json.loads(creds_path.read_text())["email"] if creds_path.exists() else "admin@acme.example"
    store = Store(state_dir)
    try:
        plan = generate(store, cases, seed, huge_post_bytes, admin_email=admin_email,
                        huge_attachment_bytes=huge_attachment_bytes)
        click.echo(json.dumps({"plan": plan, "counts": store.counts()}, ensure_ascii=False))
    finally:
        store.close()


if __name__ == "__main__":
    cli()
