"""The ``serve`` command every emulator's ``python -m hdm_infra.<name>emu`` offers, written once.

    cli.add_command(serve_command(build_server, start_subprocess, RunningKayako,
                                  "Serve over TLS on 127.0.0.1; prints one JSON line (...)."))

``--background`` starts a detached server process (``start_subprocess(state_dir, port)``) and prints its banner;
otherwise the server runs in the foreground (``build_server(state_dir, port)``) and prints the banner of
``banner_cls(url=..., cert_path=..., state_dir=..., pid=...)`` as its ready line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .server import serve_foreground

BACKGROUND_NOTE = "stop it with kill <pid>; log in <state_dir>/server.log"


def serve_command(build_server: Callable[[Path, int], tuple[Any, Any, Path]],
                  start_subprocess: Callable[[Path, int], Any], banner_cls: Callable[..., Any], help_text: str,
                  log_to_stderr: bool = False) -> click.Command:
    """A click ``serve`` command (``--state-dir``, ``--port``, ``--background``) for one emulator."""

    @click.command("serve", help=help_text)
    @click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
    @click.option("--port", default=0, show_default=True, help="0 picks a free port")
    @click.option("--background", is_flag=True, help="start a detached server process, print its banner, return")
    def serve(state_dir: Path, port: int, background: bool) -> None:
        if background:
            running = start_subprocess(state_dir, port)
            click.echo(json.dumps({**running.describe(), "note": BACKGROUND_NOTE}))
            return
        if log_to_stderr:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        server, emulator, cert = build_server(state_dir, port)
        banner = banner_cls(url=emulator.base_url, cert_path=cert, state_dir=Path(state_dir), pid=os.getpid())
        serve_foreground(server, emulator, banner.describe())

    return serve
