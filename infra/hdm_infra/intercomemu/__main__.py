"""`python -m hdm_infra.intercomemu serve --state-dir DIR [--port N] [--background]`."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import click

from hdm_infra.emulators.kit import serve_foreground

from .server import RunningIntercom, build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Intercom REST API (2.16) emulator for hdm, validated against the official OpenAPI description."""


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=0, show_default=True, help="0 picks a free port")
@click.option("--background", is_flag=True, help="start a detached server process, print its banner, return")
def serve(state_dir: Path, port: int, background: bool) -> None:
    """Serve over TLS on 127.0.0.1; prints one JSON line (url, cert, state_dir, credentials_file, admin token file)."""
    if background:
        running = start_subprocess(state_dir, port)
        click.echo(json.dumps({**running.describe(), "note": "stop it with kill <pid>; log in <state_dir>/server.log"}))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server, emulator, cert = build_server(state_dir, port)
    banner = RunningIntercom(url=emulator.base_url, cert_path=cert, state_dir=Path(state_dir), pid=os.getpid())
    serve_foreground(server, emulator, banner.describe())


if __name__ == "__main__":
    cli()
