"""`python -m hdm_infra.intercomemu serve --state-dir DIR [--port N] [--background]`."""

from __future__ import annotations

import click

from hdm_infra.emulators.kit.cli import serve_command

from .server import RunningIntercom, build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Intercom REST API (2.16) emulator for hdm, validated against the official OpenAPI description."""


cli.add_command(serve_command(build_server, start_subprocess, RunningIntercom,
                              "Serve over TLS on 127.0.0.1; prints one JSON line (url, cert, "
                              "state_dir, credentials_file, admin token file).",
                              log_to_stderr=True))


if __name__ == "__main__":
    cli()
