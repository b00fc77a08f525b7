"""Exit statuses of the ``hdm`` CLI, one per class of failure, so scripts can tell them apart.

0 and 1 and 10 upward belong to the migration's outcome (:mod:`hdm.pipeline.report`); 2 to 9 are errors
that stopped a command before or outside the migration's own work.
"""

from __future__ import annotations

OK = 0  # clean: every record arrived, nothing needs a person
# the migration's outcome (hdm.pipeline.report decides which applies)
FAILED = 1  # records unaccounted for, or a rollback that did not remove everything it created
NEEDS_ATTENTION = 10  # completed, and some records need a person (the report counts them by reason)
REJECT_THRESHOLD = 11  # a load phase's rejected share passed reject_threshold: its dependants did not load
DAILY_LIMIT = 12  # stopped on a spent API allowance (quota): the same command continues later
CONFIG = 2  # the command line or the config: missing or unreadable file, bad YAML, schema error, unknown migration
SOURCE = 3  # the source: unreachable, credentials refused, not the system the config says, writable account refused
DESTINATION = 4  # the destination: unreachable, TLS failure, login refused, the org refused the work
AWS = 5  # AWS: no or bad credentials, an AWS API error, the trigger API unreachable or refusing the request
LOCKED = 6  # another hdm is running, approving or rolling back this migration (one at a time)
TRANSIENT = 7  # a service kept failing temporarily (5xx, 429, dropped connections) after every retry: try later
INTERNAL = 9  # an unexpected error: a bug in hdm (run with -v for the traceback, and report it)

ERROR_STATUSES = {
    CONFIG: "usage or config error (missing file, bad YAML, schema error, unknown migration)",
    SOURCE: "source unreachable, credentials refused, or not the system the config says",
    DESTINATION: "destination unreachable, TLS or login refused, or the org refused the work",
    AWS: "AWS credentials or API error, trigger API unreachable or refusing",
    LOCKED: "the migration is locked by another hdm run (one at a time)",
    TRANSIENT: "a service kept failing temporarily after every retry; try again later (the same command continues)",
    INTERNAL: "unexpected internal error (a bug; -v shows the traceback)",
}


OUTCOME_STATUSES = {
    OK: "done; a migration: clean, every record arrived",
    FAILED: "the migration failed (records unaccounted for), or a rollback left records behind",
    NEEDS_ATTENTION: "the migration completed and some records need attention (see the report)",
    REJECT_THRESHOLD: "a load phase rejected more than reject_threshold; its dependants were not loaded",
    DAILY_LIMIT: "stopped on the destination's daily API limit; run the same command later",
}


def epilog() -> str:
    """The exit statuses, for ``hdm --help``."""
    lines = ["Exit statuses:"]
    lines += [f"  {code:>2}  {text}" for code, text in sorted({**OUTCOME_STATUSES, **ERROR_STATUSES}.items())]
    return "\n".join(lines)
