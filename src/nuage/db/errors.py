"""Translate the database driver's failures at the boundary: a lost database is a 503, never a 404
or a 500, and the transaction that met it was rolled back whole.

Only the database's own errors count. A bare `OSError` says nothing about where it came from (a
driver's file, a socket to a hypervisor): the engine in `db.session` turns the bare `OSError`s
that asyncpg raises while connecting or talking to the server into `DatabaseUnavailable` where
they arise, so nothing here needs to guess."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from nuage.domain.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# SQLSTATE classes that mean "the database is not there right now": connection exceptions (08),
# operator intervention such as shutdown or start-up (57P), too many connections (53300).
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")
_UNAVAILABLE_TYPES = (
    DatabaseUnavailable,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error`, or anything it wraps, says the database cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _UNAVAILABLE_TYPES):
            return True
        sqlstate = str(getattr(current, "sqlstate", "") or "")
        if sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(current).__module__.startswith("asyncpg") and "Interface" in type(current).__name__:
            return True
        wrapped = getattr(current, "orig", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


def refused_by_server(error: BaseException) -> bool:
    """Whether PostgreSQL answered the statement with an error of its own (a deadlock, a
    constraint, a cancel): the server rolled the statement back, so nothing of it was made.
    A lost connection, or an error without the server's SQLSTATE, is not such an answer."""
    if not isinstance(error, sa_exc.DBAPIError) or is_unavailable(error):
        return False
    return bool(getattr(error.orig, "sqlstate", None))


def as_unavailable(error: BaseException) -> DatabaseUnavailable | None:
    """The `DatabaseUnavailable` to raise in place of `error` (logged here), if it says the
    database cannot be reached; None if it does not, or is that error already."""
    if isinstance(error, DatabaseUnavailable) or not isinstance(error, Exception):
        return None
    if not is_unavailable(error):
        return None
    # The driver's own message, never SQLAlchemy's (it quotes the statement's parameters).
    cause = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    log.warning("database unavailable: %s: %s", type(cause).__name__, cause)
    return DatabaseUnavailable()


@asynccontextmanager
async def translate_db_errors() -> AsyncIterator[None]:
    try:
        yield
    except Exception as error:
        unavailable = as_unavailable(error)
        if unavailable is None:
            raise
        raise unavailable from error
