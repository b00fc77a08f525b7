"""A local Kayako API v1 emulator (and a seeded help-desk generator) on the emulator kit; see README.md."""
