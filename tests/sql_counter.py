"""Counting what a piece of code sends to the database: statements and transactions, captured
with SQLAlchemy's engine events (what production sends, not a copy of it)."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from nuage.db.driver_sql import RAW_STATEMENTS

# Statements the engine sends for its own bookkeeping, not for the code under test.
_HOUSEKEEPING = ("BEGIN", "PRAGMA", "SELECT pg_catalog.version", "SELECT current_schema", "show ")


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().split()[0].upper() != "SELECT"]


@contextlib.contextmanager
def counting() -> Iterator[Counted]:
    """What every engine of this process sends meanwhile (the API's reads may use a second
    engine: `db.session.make_reader`), and what is sent on its driver's cursor past
    SQLAlchemy's events (`db.driver_sql`, `db.session.first_row_raw`)."""
    counted = Counted()
    sync = Engine

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().startswith(_HOUSEKEEPING):
            counted.statements.append(statement)

    def on_raw(statement: str, _values: Any) -> None:
        on_execute(None, None, statement)

    def on_begin(_conn: Any) -> None:
        counted.transactions += 1

    event.listen(sync, "before_cursor_execute", on_execute)
    event.listen(sync, "begin", on_begin)
    RAW_STATEMENTS.append(on_raw)
    try:
        yield counted
    finally:
        event.remove(sync, "before_cursor_execute", on_execute)
        event.remove(sync, "begin", on_begin)
        RAW_STATEMENTS.remove(on_raw)
