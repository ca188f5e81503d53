"""Secret references: where a host's secret is, never the secret itself.

A host that needs a secret (a Proxmox API token) stores a reference that the worker resolves
when it builds the host's driver (`nuage.drivers.secrets`):

    env:NAME        the worker's environment variable NAME
    file:/a/path    the contents of a file on the worker's machine (trailing newline dropped)

So the database, the API and the logs only ever hold the reference.
"""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FORMAT = "env:NAME or file:/absolute/path"


@dataclass(frozen=True, slots=True)
class SecretRef:
    scheme: Literal["env", "file"]
    target: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def parse_secret_ref(value: str) -> SecretRef:
    """ValueError, saying the format, unless `value` is `env:NAME` or `file:/absolute/path`."""
    scheme, _, target = value.partition(":")
    if scheme == "env" and _ENV_NAME.fullmatch(target):
        return SecretRef("env", target)
    if scheme == "file" and PurePosixPath(target).is_absolute() and "\0" not in target:
        return SecretRef("file", target)
    raise ValueError(f"Name where the secret is, as {FORMAT}; never the secret itself.")
