"""Translate the database driver's failures at the boundary: a lost database is a 503, never a 404
or a 500, and the transaction that met it was rolled back whole."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from nuage.domain.errors import DatabaseUnavailable


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError | OSError
    )


@asynccontextmanager
async def translate_db_errors() -> AsyncIterator[None]:
    try:
        yield
    except (sa_exc.SQLAlchemyError, OSError) as error:
        if is_unavailable(error):
            raise DatabaseUnavailable() from error
        raise
