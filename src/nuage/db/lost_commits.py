"""A commit whose answer was lost: `WriteOutcomeUnknown`, never `DatabaseUnavailable`."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from nuage.db.errors import is_unavailable
from nuage.domain.errors import WriteOutcomeUnknown

_WRITES = "nuage.writes"  # in a connection's `info`: "wrote", then "committing" once COMMIT is sent


def statement_sent(conn: Connection, statement: str) -> None:
    """`statement` was sent on `conn` (by SQLAlchemy, or past its events: `db.driver_sql`).
    Anything but a SELECT may write. (SQLite's BEGIN IMMEDIATE is sent inside the "begin"
    event, before `_clean`, which is registered after it.)"""
    if not statement.startswith(("SELECT", "select")):
        conn.info[_WRITES] = "wrote"


def tell_lost_commits(engine: Engine) -> None:
    """A connection lost once a transaction that wrote has sent its COMMIT may have lost it after
    the database made the change: that failure is `WriteOutcomeUnknown` ("it may have been
    made"), never the `DatabaseUnavailable` that promises nothing was changed. Here, for every
    transaction of every caller. A transaction that only read has nothing to be unsure of, and a
    failure that says the transaction was refused (a constraint, a conflict) is left as it is.
    Registered after the engine's other error handlers, so it has the last word."""

    @event.listens_for(engine, "begin")
    @event.listens_for(engine, "rollback")
    def _clean(conn: Connection) -> None:
        # An invalidated connection (lost mid-transaction) has no `info` to read until it is
        # rolled back, which is this event: reading it would hide the loss behind an error of
        # SQLAlchemy's. Its pooled connection is gone, and its `info` with it.
        if not conn.invalidated:
            conn.info.pop(_WRITES, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        statement_sent(conn, statement)

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        if conn.info.get(_WRITES) == "wrote":
            conn.info[_WRITES] = "committing"

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        if not isinstance(context.original_exception, Exception):
            # A cancel (or an interrupt) stays one. Made a failure, it was answered as one: a
            # worker's heartbeat cancelled in its BEGIN, whose connection's last transaction had
            # committed a write, tried again and renewed a dead task's lease for good.
            return None
        conn = context.connection
        if conn is None or conn.info.get(_WRITES) != "committing":
            return None
        # What an earlier handler made of it (set only once one has), and SQLAlchemy's wrapper.
        raised = (getattr(context, "chained_exception", None), context.sqlalchemy_exception)
        if context.is_disconnect or any(e is not None and is_unavailable(e) for e in raised):
            context.is_disconnect = True  # the pool drops the connection
            return WriteOutcomeUnknown()
        return None
