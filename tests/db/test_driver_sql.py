"""The engine's statements sent on the driver (`db.driver_sql`, PostgreSQL) behave as through
SQLAlchemy: the same rows and Python types, the columns' Python-side defaults written, a
refused statement raised as SQLAlchemy raises it, a lost connection an unavailable database
that the pool replaces, and a commit lost after a driver write an unknown outcome."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nuage.db import driver_sql
from nuage.db.models import InstanceTask, TaskEvent
from nuage.db.session import make_sessionmaker, transaction
from nuage.db.types import utcnow
from nuage.domain.errors import DatabaseUnavailable, WriteOutcomeUnknown
from nuage.engine import instance_rows, queries, step_rows
from nuage.engine.claim_statements import claim_candidate
from nuage.engine.worker import Worker
from tests.db.test_idle_ping import backend_pid, close_from_the_server
from tests.support import Stack, TenantFactory, instance_at_rest

pytestmark = pytest.mark.anyio


@pytest.fixture
def postgresql(stack: Stack, worker: Worker) -> Stack:
    """The stack on PostgreSQL, with a worker (stopped once an instance is at rest)."""
    if engine_of(stack).dialect.name != "postgresql":
        pytest.skip("the driver path is PostgreSQL's")
    return stack


def engine_of(stack: Stack) -> AsyncEngine:
    engine: AsyncEngine = stack.runtime.sessions.kw["bind"]
    return engine


async def pending_task(stack: Stack, tenants: TenantFactory) -> tuple[UUID, UUID]:
    """An instance at rest with a pending reboot: (the task's id, the instance's)."""
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)
    task = await tenant.act(instance["id"], "reboot")
    return UUID(task["id"]), UUID(instance["id"])


async def test_a_plan_reads_the_rows_and_types_sqlalchemy_reads(
    postgresql: Stack, tenants: TenantFactory
) -> None:
    task_id, _ = await pending_task(postgresql, tenants)
    statement = claim_candidate(postgresql=True, whole=True)  # constant IN lists, an array
    params: dict[str, Any] = {"now": utcnow(), "limit": 10, "running": []}
    async with transaction(postgresql.runtime.sessions) as session:
        through_sqlalchemy = (await session.execute(statement, params)).all()
        plan = driver_sql.plan_of(statement, session.get_bind().dialect)
        on_the_driver = await driver_sql.rows(session, plan, params)
        mine = await driver_sql.rows(session, plan, {**params, "running": [task_id]})

    assert [row.id for row in on_the_driver] == [task_id]
    assert [tuple(row) for row in on_the_driver] == [tuple(row) for row in through_sqlalchemy]
    expected = [type(value) for value in through_sqlalchemy[0]]
    assert [type(value) for value in on_the_driver[0]] == expected
    assert on_the_driver[0]._asdict() == through_sqlalchemy[0]._asdict()
    assert mine == []  # `running` is the caller's: excluded


async def test_a_write_on_the_driver_sets_the_columns_python_defaults(
    postgresql: Stack, tenants: TenantFactory
) -> None:
    task_id, _ = await pending_task(postgresql, tenants)
    before = utcnow()
    async with transaction(postgresql.runtime.sessions) as session:
        claimed = await queries.claim(session, "w", utcnow(), timedelta(seconds=30), limit=1)
    async with transaction(postgresql.runtime.sessions) as session:
        modified = await session.scalar(
            sa.select(InstanceTask.modified).where(InstanceTask.id == task_id)
        )
    assert claimed == [task_id]
    assert modified is not None and modified >= before  # `onupdate=utcnow`, as the ORM sets it


async def test_a_statement_the_database_refuses_is_raised_as_sqlalchemy_raises_it(
    postgresql: Stack,
) -> None:
    orphan = TaskEvent(task_id=uuid4(), step="started", message="no such task", attempt=1)
    with pytest.raises(sa.exc.IntegrityError) as refused:
        async with transaction(postgresql.runtime.sessions) as session:
            await step_rows.log(session, [orphan])
    assert refused.value.orig is not None
    assert getattr(refused.value.orig, "sqlstate", None) == "23503"  # foreign key


async def test_a_connection_lost_under_a_driver_statement_is_an_outage_the_pool_mends(
    postgresql: Stack, tenants: TenantFactory
) -> None:
    _, instance_id = await pending_task(postgresql, tenants)
    sessions = postgresql.runtime.sessions
    with pytest.raises(DatabaseUnavailable):
        async with transaction(sessions) as session:
            pid = await session.scalar(sa.text("SELECT pg_backend_pid()"))
            await close_from_the_server(pid)
            await instance_rows.forget_snapshots(session, instance_id)
    for _ in range(2 * engine_of(postgresql).pool.size()):  # every pooled connection works
        assert await backend_pid(engine_of(postgresql)) != pid


@contextmanager
def commits_lost_after_they_are_made(stack: Stack) -> Iterator[None]:
    """The next commits reach the database, then lose their connection (as the driver says)."""
    dialect = engine_of(stack).sync_engine.dialect
    lost = dialect.loaded_dbapi.OperationalError
    real_commit = dialect.do_commit

    def commit_then_lose(dbapi_connection: Any) -> None:
        real_commit(dbapi_connection)
        raise lost("connection lost after the commit")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dialect, "do_commit", commit_then_lose)
        yield


async def test_a_commit_lost_after_a_driver_write_may_have_been_made(
    postgresql: Stack, tenants: TenantFactory
) -> None:
    task_id, _ = await pending_task(postgresql, tenants)
    started = TaskEvent(task_id=task_id, step="note", message="written on the driver", attempt=1)
    with commits_lost_after_they_are_made(postgresql), pytest.raises(WriteOutcomeUnknown):
        async with transaction(postgresql.runtime.sessions) as session:
            await step_rows.log(session, [started])  # the transaction's only write
    async with transaction(postgresql.runtime.sessions) as session:
        made = await session.scalar(
            sa.select(sa.func.count()).where(TaskEvent.task_id == task_id, TaskEvent.step == "note")
        )
    assert made == 1  # it was


_PROBE = sa.table("driver_probe", sa.column("id", sa.Integer), sa.column("v", sa.Integer))
_READ_V = sa.select(_PROBE.c.v)  # statements of a plan are built once
_SLEEP = sa.select(sa.func.pg_sleep(30))


@dataclass(frozen=True)
class Probe:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_v: driver_sql.Plan  # of a table `driver_probe` holding one row, v = 1


@pytest.fixture
async def probe(pg_engine: AsyncEngine) -> Probe:
    async with pg_engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE driver_probe (id integer PRIMARY KEY, v integer)"))
        await conn.execute(sa.text("INSERT INTO driver_probe VALUES (1, 1)"))
    plan = driver_sql.plan_of(_READ_V, pg_engine.dialect)
    return Probe(pg_engine, make_sessionmaker(pg_engine), plan)


async def test_a_cancel_during_a_driver_statement_stays_a_cancel(pg_engine: AsyncEngine) -> None:
    engine, sessions = pg_engine, make_sessionmaker(pg_engine)

    async def sleep() -> None:
        async with transaction(sessions) as session:
            await driver_sql.rows(session, driver_sql.plan_of(_SLEEP, engine.dialect), {})

    sleeping = asyncio.create_task(sleep())
    await asyncio.sleep(0.5)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    async with transaction(sessions) as session:  # the pool's one connection works again
        assert await session.scalar(sa.text("SELECT 1")) == 1


async def test_a_statement_prepared_before_a_schema_change_is_prepared_again(
    probe: Probe,
) -> None:
    async def read() -> list[Any]:
        async with transaction(probe.sessions) as session:
            return [row.v for row in await driver_sql.rows(session, probe.read_v, {})]

    assert await read() == [1]  # prepared, and kept by the connection
    async with probe.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE driver_probe ALTER COLUMN v TYPE bigint"))
    with pytest.raises(sa.exc.DBAPIError):  # as through SQLAlchemy: the first read fails
        await read()
    assert await read() == [1]  # and the next prepares it again


async def test_a_driver_statement_after_a_failed_flush_is_refused_as_the_session_refuses(
    probe: Probe,
) -> None:
    plan = probe.read_v
    async with probe.sessions() as session:
        await session.begin()
        assert len(await driver_sql.rows(session, plan, {})) == 1
        session.add(TaskEvent(task_id=uuid4(), step="x", message="no such task", attempt=1))
        with pytest.raises(sa.exc.IntegrityError):
            await session.flush()
        with pytest.raises(sa.exc.PendingRollbackError):
            await driver_sql.rows(session, plan, {})
        await session.rollback()


def test_a_plan_refuses_a_python_side_default_sqlalchemy_would_leave_unset() -> None:
    """An UPDATE that leaves `modified` to its Python-side default, with other writes in the
    same statement (a finish's steps and snapshots): SQLAlchemy's compiler then loses that
    default, and the plan would have written `modified` as a constant None. It is refused
    when it is built, not sent."""
    from sqlalchemy.dialects.postgresql import asyncpg

    from nuage.db.models import Snapshot

    done = (
        sa.update(InstanceTask)
        .where(InstanceTask.id == sa.bindparam("task"))
        .values(progress=1)
        .returning(InstanceTask.id)
        .cte("done")
    )
    logging = sa.select(done.c.id, step_rows.ids_logged_after(done))
    forget = sa.delete(Snapshot).where(
        Snapshot.instance_id == sa.bindparam("instance"),
        sa.exists(sa.select(sa.literal_column("1")).select_from(done)),
    )
    with pytest.raises(ValueError, match="Python-side default"):
        driver_sql.plan_of(logging.add_cte(forget.cte("gone")), asyncpg.dialect())
    seen = driver_sql.plan_of(logging, asyncpg.dialect())  # computed where it is seen
    assert seen.defaults.keys() == {"modified"}
