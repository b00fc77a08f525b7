"""The certificate an emulator presents: self-signed for 127.0.0.1/localhost, made by `hdm_infra.pki`.

Clients trust ``<state_dir>/tls/cert.pem`` itself (requests ``verify=``), so the file stays valid across restarts.
"""

from __future__ import annotations

from pathlib import Path

from hdm_infra.pki import ensure_self_signed

EMULATOR_HOSTS = ("localhost", "127.0.0.1")


def ensure_certificate(directory: Path, common_name: str = "hdm sfemu 127.0.0.1") -> tuple[Path, Path]:
    """Return (cert.pem, key.pem) in ``directory`` (mode 0700, key 0600), creating them on first use."""
    files = ensure_self_signed(Path(directory) / "cert.pem", Path(directory) / "key.pem", EMULATOR_HOSTS,
                               common_name)
    return files.cert, files.key
