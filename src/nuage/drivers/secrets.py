"""Resolving a host's secret reference (`domain.secrets`) on the worker that builds its driver."""

import os
from pathlib import Path

from nuage.domain.errors import PermanentError
from nuage.domain.secrets import SecretRef


def read_secret(ref: SecretRef) -> str:
    """The secret `ref` names; PermanentError `secret_unavailable` (naming the reference, never a
    value) when the variable is unset or the file unreadable."""
    if ref.scheme == "env":
        value = os.environ.get(ref.target)
        if value:
            return value
        raise PermanentError(f"The environment variable of {ref} is unset or empty.", code=_CODE)
    try:
        value = Path(ref.target).read_text(encoding="utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        message = f"Cannot read the secret file of {ref}: {type(exc).__name__}."
        raise PermanentError(message, code=_CODE) from exc
    if not value:
        raise PermanentError(f"The secret file of {ref} is empty.", code=_CODE)
    return value


_CODE = "secret_unavailable"
