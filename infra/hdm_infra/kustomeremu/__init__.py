"""A local Kustomer REST v1 emulator (the read side an extractor uses) on the emulator kit, with a seeded generator.

`python -m hdm_infra.kustomeremu seed --state-dir DIR --customers N --seed S` then
`python -m hdm_infra.kustomeremu serve --state-dir DIR`; see README.md.
"""
