"""A local Intercom REST API (2.16) emulator on the emulator kit, validated against Intercom's official OpenAPI
description (see README.md). `python -m hdm_infra.intercomemu serve --state-dir DIR [--port N]`."""
