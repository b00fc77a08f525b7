"""The Kustomer emulator's fixtures, for the Kustomer source's tests."""

from hdm_infra.testing.kustomeremu import kustomeremu, kustomeremu_seeded, kustomeremu_server  # noqa: F401
