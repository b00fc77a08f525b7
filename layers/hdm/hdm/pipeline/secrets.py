"""Resolving secret references at the edge, where a connection is opened. Values are never logged."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Optional

_RESOLVED: set[str] = set()  # values handed out in this process, so error texts can be scrubbed of them
_RESOLVED_LOCK = threading.Lock()
_MIN_REDACT = 4  # shorter values would turn ordinary words into ***


class SecretError(RuntimeError):
    pass


def redact(text: str) -> str:
    """``text`` with every secret value this process resolved replaced by ``***`` (longest first)."""
    with _RESOLVED_LOCK:
        values = sorted(_RESOLVED, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    return text


def _remember(value: object) -> None:
    if isinstance(value, str) and len(value) >= _MIN_REDACT:
        with _RESOLVED_LOCK:
            _RESOLVED.add(value)


def resolve_secret(ref: Optional[str], field: Optional[str] = None) -> Optional[str]:
    """The value behind ``env:NAME``, ``file:/path`` or a Secrets Manager ARN.

    For JSON secrets (Secrets Manager's usual shape), ``field`` picks one key.
    """
    if ref is None:
        return None
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in os.environ:
            raise SecretError(f"environment variable {name} is not set")
        value = os.environ[name]
    elif ref.startswith("file:"):
        path = Path(ref[5:])
        if not path.is_file():
            raise SecretError(f"secret file {path} does not exist")
        value = path.read_text().strip()
    elif ref.startswith("arn:"):
        from aws_lambda_powertools.utilities.parameters import get_secret

        value = get_secret(ref, max_age=300)
    else:
        raise SecretError("not a secret reference")
    _remember(value)
    if field:
        try:
            value = json.loads(value)[field]
        except (ValueError, KeyError, TypeError):
            raise SecretError(f"secret has no field {field!r}") from None
        _remember(value)
    return value
