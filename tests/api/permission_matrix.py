"""docs/permissions.md as data: the access class of every route, and what each kind of caller
gets in each class. The auth battery (test_auth_tenancy.py) walks it, so the page cannot drift."""

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from tests.api.endpoints import P

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
NOT_WALKED = frozenset({"public", "console-token"})  # tested by the login and console tests


def _table(text: str, marker: str) -> list[list[str]]:
    """The rows (cells stripped of backticks) of the table after `<!-- marker`, header first."""
    lines = text.split(f"<!-- {marker}", 1)[1].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if not all(re.fullmatch(r"-+", c) for c in cells):
            rows.append(cells)
    return rows


@cache
def matrix() -> Mapping[str, Mapping[str, str]]:
    """access class → caller → "2xx", "403" or "404"."""
    header, *rows = _table(DOC.read_text(), "matrix")
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


@cache
def route_access() -> Mapping[tuple[str, str], str]:
    """(method, route template as the app declares it) → access class."""
    _header, *rows = _table(DOC.read_text(), "routes")
    return {(method, path.replace("P/", P + "/", 1)): access for method, path, access in rows}


def callers() -> list[str]:
    return list(next(iter(matrix().values())))
