"""`python -m hdm_infra.sfemu serve --state-dir DIR [--port N] [--background]`."""

from __future__ import annotations

import click

from hdm_infra.emulators.kit.cli import serve_command

from .server import RunningEmulator, build_server, start_subprocess


@click.group()
def cli() -> None:
    """Local Salesforce API emulator (REST, Bulk API 2.0, Tooling subset) for hdm."""


cli.add_command(serve_command(build_server, start_subprocess, RunningEmulator,
                              "Serve the emulator over TLS on 127.0.0.1; prints one JSON line with "
                              "the URL and credentials file."))


if __name__ == "__main__":
    cli()
