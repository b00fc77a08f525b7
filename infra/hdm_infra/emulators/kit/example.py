"""The smallest emulator on the kit: a notes API, the template a new emulator starts from. Also the kit tests' subject.

`python -m hdm_infra.emulators.kit.example serve --state-dir DIR [--port N]`

- ``GET /api/notes`` (family ``notes_list``), ``POST /api/notes`` (``notes_create``; 409 ``row_locked`` when the
  ``rate_lock_row`` fault hits the note), ``GET /api/ping`` (``ping``, not charged to the usage total);
- notes persist in ``<state_dir>/notes.json`` (0600); knobs ``{"page_size": n, "faults": {...}}``;
- admin: the kit's ``health``, ``knobs``, ``counters`` plus ``POST reset`` and ``GET count``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .app import EmulatorApp, json_response, read_json
from .knobs import FaultDice, Faults, merge_knobs
from .server import RunningServer, build_server, serve_foreground
from .state import write_private


@dataclass
class NotesKnobs:
    page_size: int = 50
    faults: Faults = field(default_factory=Faults)


class NotesEmulator(EmulatorApp):
    admin_token_header = "X-Notes-Admin-Token"
    uncounted_families = frozenset({"ping"})

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.lock = threading.Lock()
        self.path = self.state_dir / "notes.json"
        self.notes: list[dict[str, Any]] = json.loads(self.path.read_text()) if self.path.exists() else []
        self.knobs = NotesKnobs()
        self._dice = FaultDice(self.knobs.faults)
        self.routes = Map([Rule("/api/notes", methods=["GET"], endpoint="notes_list"),
                           Rule("/api/notes", methods=["POST"], endpoint="notes_create"),
                           Rule("/api/ping", endpoint="ping")])
        self.admin.route("reset", ["POST"])(self.admin_reset)
        self.admin.route("count", ["GET"])(lambda request: json_response({"notes": len(self.notes)}))

    # the API: route, then count and maybe fault through the kit, then answer
    def handle(self, request: Request) -> Response:
        try:
            family, args = self.routes.bind("127.0.0.1").match(request.path, method=request.method)
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code or 404)
        return self.call(family, lambda: getattr(self, family)(request, **args))

    def notes_list(self, request: Request) -> Response:
        return json_response({"notes": self.notes[: self.knobs.page_size], "total": len(self.notes)})

    def notes_create(self, request: Request) -> Response:
        body = read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return json_response({"error": "a note is {\"text\": \"...\"}"}, 400)
        if self.fault_dice().lock_row("notes_create"):
            return json_response({"error": "row_locked"}, 409)
        with self.lock:
            note = {"id": len(self.notes) + 1, "text": body["text"]}
            self.notes.append(note)
            write_private(self.path, json.dumps(self.notes))
        return json_response(note, 201)

    def ping(self, request: Request) -> Response:
        return json_response({"pong": True})

    def error_response(self, exc: Exception) -> Response | None:
        return json_response({"error": "body is not JSON"}, 400) if isinstance(exc, ValueError) else None

    def finish(self, request: Request, response: Response) -> None:
        response.headers["X-Usage"] = str(self.calls.api_used)

    # knobs: the kit merges partial documents; the emulator keeps them and re-seeds its dice
    def knobs_json(self) -> dict[str, Any]:
        return asdict(self.knobs)

    def set_knobs_json(self, data: dict[str, Any], replace: bool) -> None:
        self.knobs = merge_knobs(NotesKnobs, data, None if replace else self.knobs)
        self._dice = FaultDice(self.knobs.faults)

    def admin_reset(self, request: Request) -> Response:
        with self.lock:
            self.notes = []
            write_private(self.path, "[]")
        self.calls.clear(usage=True)
        return json_response({"reset": True})


@click.group()
def cli() -> None:
    """The kit's example emulator."""


@cli.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=0, show_default=True)
def serve(state_dir: Path, port: int) -> None:
    """Serve over TLS on 127.0.0.1; prints one JSON line (url, cert, state_dir, admin_url, admin_token_file, pid)."""
    server, app, cert = build_server(NotesEmulator, state_dir, port)
    running = RunningServer(url=app.base_url, cert_path=cert, state_dir=Path(state_dir), pid=os.getpid())
    serve_foreground(server, app, running.describe())


if __name__ == "__main__":
    cli()
