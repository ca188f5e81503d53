"""Only the database's own errors mean "the database is gone": a refused connection to the
server is an outage, an OSError raised by other code inside a transaction is not."""

import pytest
import sqlalchemy as sa

from nuage.db.errors import is_unavailable, translate_db_errors
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.domain.errors import DatabaseUnavailable
from tests.support import free_port

pytestmark = pytest.mark.anyio


async def test_a_refused_postgresql_connection_is_the_database_unavailable() -> None:
    engine = make_engine(f"postgresql+asyncpg://nuage:x@127.0.0.1:{free_port()}/nuage")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with transaction(make_sessionmaker(engine)) as session:
                await session.execute(sa.text("SELECT 1"))
    finally:
        await engine.dispose()
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


@pytest.mark.parametrize("error", [PermissionError(13, "denied"), TimeoutError(), OSError()])
async def test_other_os_errors_are_not_an_outage(error: OSError) -> None:
    assert not is_unavailable(error)
    with pytest.raises(type(error)):
        async with translate_db_errors():
            raise error
