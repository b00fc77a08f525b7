"""What the export source raises: one clear sentence, naming the bundle file and line when there is one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from hdm import connector_errors


class ExportBundleError(connector_errors.SourceFailure):
    """A bundle that cannot be read as it is (manifest, checksum, truncated file, a line that is not a record);
    a generic source failure (the CLI's exit status 3)."""

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None):
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")
        self.file = file
        self.line = line


class BundleInvalid(ExportBundleError):
    """Validation found problems; ``problems`` lists each one (``file:line: what``), the message the first few."""

    SHOWN = 10

    def __init__(self, problems: Sequence[str], more: int = 0):
        self.problems = list(problems)
        total = len(self.problems) + more
        shown = "; ".join(self.problems[: self.SHOWN])
        rest = total - min(total, self.SHOWN)
        super().__init__(f"the bundle is not valid ({total} problem(s)): {shown}"
                         + (f"; and {rest} more" if rest else ""))
