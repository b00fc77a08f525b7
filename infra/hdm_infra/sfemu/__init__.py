"""hdm_infra.sfemu: a local Salesforce API emulator that unmodified simple-salesforce talks to.

Start it with `python -m hdm_infra.sfemu serve --state-dir DIR` or `serve_in_thread(DIR)`; connect with
`hdm_infra.testing.sfemu.connect(running)`.
"""

from .server import RunningEmulator, serve_in_thread, start_subprocess

__all__ = ["RunningEmulator", "serve_in_thread", "start_subprocess"]
