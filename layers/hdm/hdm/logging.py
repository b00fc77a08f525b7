"""Logging with PII masked: e-mail addresses and message bodies never reach a log line.

The core logs through the standard library; Lambda handlers attach Powertools' JSON formatter to the
same loggers. The filter here runs on every record either way.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
MAX_FIELD = 200  # longer strings are cut: a body pasted into a message must not land in a log


def mask_pii(text: str) -> str:
    """Mask e-mail addresses (keep the first character and the domain's last label) and cut long text."""

    def _mask(m: re.Match[str]) -> str:
        local, _, domain = m.group(0).partition("@")
        return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1]}"

    text = EMAIL.sub(_mask, text)
    if len(text) > MAX_FIELD * 4:
        text = text[: MAX_FIELD * 4] + f"… [{len(text) - MAX_FIELD * 4} chars cut]"
    return text


class PiiMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = mask_pii(str(record.msg))
        return True


_FILTER = PiiMaskingFilter()


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
