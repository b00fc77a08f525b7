"""The Kustomer emulator's fixtures (hdm_infra.testing.kustomeremu)."""

from hdm_infra.testing.kustomeremu import kustomeremu, kustomeremu_seeded, kustomeremu_server  # noqa: F401
