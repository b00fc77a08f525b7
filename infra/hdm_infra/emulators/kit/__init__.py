"""The emulator kit: what every local API emulator shares (see ../README.md).

- `state`: the private state folder (0700, files 0600) and the admin token kept in it;
- `tls`: the loopback certificate the server presents and clients trust (made by `hdm_infra.pki`);
- `knobs`: fault injection (429/503/reset/slow/lock) by route family, and partial-document knob merging;
- `counters`: per-family call counters with a usage total, persisted by the emulator;
- `app`: `EmulatorApp`, the WSGI base with the token-protected admin API (werkzeug routing);
- `server`: a threaded TLS werkzeug server on 127.0.0.1, in a thread or as a subprocess with a ready check;
- `http11`: its persistent HTTP/1.1 connections, capped in number and idle time;
- `client`: `trusted_session` and the `AdminClient` base.
"""

from .app import AdminApi, ConnectionReset, EmulatorApp, json_response
from .client import AdminClient, trusted_session
from .counters import CallCounters
from .knobs import FaultDice, Faults, merge_knobs
from .server import HOST, RunningServer, build_server, serve_foreground, serve_in_thread, start_subprocess
from .state import ADMIN_TOKEN_FILE, load_admin_token, private_state_dir, write_private
from .tls import ensure_certificate

__all__ = [
    "ADMIN_TOKEN_FILE", "HOST", "AdminApi", "AdminClient", "CallCounters", "ConnectionReset", "EmulatorApp",
    "FaultDice", "Faults", "RunningServer", "build_server", "ensure_certificate", "json_response",
    "load_admin_token", "merge_knobs", "private_state_dir", "serve_foreground", "serve_in_thread",
    "start_subprocess", "trusted_session", "write_private",
]
