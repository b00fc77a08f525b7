"""Destination plug-ins: each declares its dependency order and schemas and loads chunks."""
