"""The Kayako emulator's fixtures (hdm_infra.testing.kayakoemu), for the Kayako source's tests."""

from hdm_infra.testing.kayakoemu import kayakoemu, kayakoemu_seeded, kayakoemu_server  # noqa: F401
