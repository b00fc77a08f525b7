"""`python -m hdm_infra.sfemu serve --state-dir DIR [--port N] [--background]`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from hdm_infra.emulators.kit import serve_foreground

from .server import RunningEmulator, build_server, start_subprocess


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
    banner = RunningEmulator(url=emulator.base_url, cert_path=cert, state_dir=Path(state_dir), pid=os.getpid())
    serve_foreground(server, emulator, banner.describe())


if __name__ == "__main__":
    cli()
