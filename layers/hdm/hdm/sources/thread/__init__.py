"""The Thread source: hdm's own Thread bundle format (docs/thread-bundle.md; not a format Thread publishes), a folder
or .zip of JSONL files of Thread-shaped records plus a manifest, read on the export source's machinery."""
