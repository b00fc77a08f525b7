"""Resolving secret references at the edge, where a connection is opened. Values are never logged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional


class SecretError(RuntimeError):
    pass


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
    if field:
        try:
            value = json.loads(value)[field]
        except (ValueError, KeyError, TypeError) as exc:
            raise SecretError(f"secret has no field {field!r}") from exc
    return value
