"""pytest fixtures for the local infrastructure (registered in tests/conftest.py)."""
