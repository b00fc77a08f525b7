"""`python -m hdm_infra.sfemu serve --state-dir DIR [--port N] [--background]`."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from .app import ADMIN_TOKEN_FILE
from .server import build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Salesforce API emulator (REST, Bulk API 2.0, Tooling subset) for hdm."""


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=0, show_default=True, help="0 picks a free port")
@click.option("--background", is_flag=True, help="start a detached server process, print its banner, return")
def serve(state_dir: Path, port: int, background: bool) -> None:
    """Serve the emulator over TLS on 127.0.0.1; prints one JSON line with the URL and credentials file."""
    if background:
        running = start_subprocess(state_dir, port)
        click.echo(json.dumps({**running.describe(), "note": "stop it with kill <pid>; log in <state_dir>/server.log"}))
        return
    server, emulator, cert = build_server(state_dir, port)
    banner = {"url": emulator.base_url, "instance_url": emulator.base_url, "cert": str(cert),
              "credentials_file": str(Path(state_dir) / "credentials.json"), "state_dir": str(state_dir),
              "admin_url": f"{emulator.base_url}/__admin",
              "admin_token_file": str(Path(state_dir) / ADMIN_TOKEN_FILE), "pid": __import__("os").getpid()}
    click.echo(json.dumps(banner))
    sys.stdout.flush()

    def stop(*_: object) -> None:
        emulator.flush()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        emulator.flush()


if __name__ == "__main__":
    cli()
