"""The export source: reads hdm's own export bundle (docs/export-bundle.md), a folder or a .zip of JSONL files of
canonical records with a manifest of counts and checksums, staged first and then read from the stage."""
