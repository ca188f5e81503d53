"""Where the engine's CPU per task goes: nuage's own code, against the same statements replayed
through SQLAlchemy and through asyncpg alone.

Method: a fresh PostgreSQL database with 200 running instances and pending `sync_vps_state`
tasks (`bench/engine_throughput.py`'s seed), copied twice before anything runs (`CREATE DATABASE
… TEMPLATE`). The worker's claim and run (`Worker.claim`, `Worker.execute`, the simulated driver
at zero latency) work through the tasks one at a time on the first database, and every
statement they send is recorded with its parameters, transaction by transaction. Then the
recording is replayed, in the same order, on the two copies, which start from the same rows:
- through SQLAlchemy: each transaction in `db.session.transaction`, each statement by
  `exec_driver_sql` on its connection, rows fetched;
- on asyncpg alone: the same pool's connection (its codecs), `Connection.transaction`, `fetch`.

CPU is the process's user + system time (`time.process_time`) over the measured tasks, after a
warm-up the replays repeat unmeasured. The replays do no more than send the statements, so the
first difference is the Python nuage runs around them (the ORM, building statements, records,
step logs, events, the handler) and the second SQLAlchemy's execution of a statement and a
transaction beyond the driver's: what a path on the driver alone could save at most.

    .venv/bin/python bench/engine_replay.py [--tasks 400]
"""

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PG_ADMIN,
    database_name,
    drop_postgres,
    fresh_postgres,
    postgres_named,
    table,
)
from bench.engine_cpu import worker_on
from bench.engine_throughput import _seed
from nuage.db.driver_sql import RAW_STATEMENTS
from nuage.db.session import make_engine, make_sessionmaker, transaction

WARM_UP = 20
Recording = list[list[tuple[str, Any]]]  # transactions, each its statements and parameters


class Recorder:
    """Every statement any engine of the process sends while on, by transaction."""

    def __init__(self) -> None:
        self.transactions: Recording = []
        self.on = False
        event.listen(Engine, "begin", self._begin)
        event.listen(Engine, "before_cursor_execute", self._statement)
        RAW_STATEMENTS.append(self._raw)  # sent past SQLAlchemy's events (`db.driver_sql`)

    def _begin(self, *_: Any) -> None:
        if self.on:
            self.transactions.append([])

    def _statement(self, _c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on and self.transactions:
            self.transactions[-1].append((statement, parameters))

    def _raw(self, statement: str, values: Any) -> None:
        self._statement(None, None, statement, tuple(values))


async def copy_of(url: str, suffix: str) -> str:
    name = f"{database_name(url)}_{suffix}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(url)}"'))
    await admin.dispose()
    return postgres_named(name)


async def cpu_of(step: Callable[[], Awaitable[None]]) -> float:
    start = time.process_time()
    await step()
    return time.process_time() - start


async def run_nuage(url: str, count: int, recorder: Recorder) -> tuple[float, int]:
    """The worker's CPU over `count` tasks after the warm-up; the recording's index there."""
    async with worker_on(url) as (_, worker):

        async def tasks(n: int) -> None:
            for _ in range(n):
                record = await worker.claim()
                assert record is not None
                await worker.execute(record)

        recorder.on = True
        await tasks(WARM_UP)
        measured_from = len(recorder.transactions)
        cpu = await cpu_of(lambda: tasks(count))
        recorder.on = False
    return cpu, measured_from


async def replay_sqlalchemy(url: str, recording: Recording, measured_from: int) -> float:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    async def replay(part: Recording) -> None:
        for statements in part:
            async with transaction(sessions) as session:
                conn = await session.connection()
                for statement, parameters in statements:
                    result = await conn.exec_driver_sql(statement, parameters)
                    if result.returns_rows:
                        result.all()

    try:
        await replay(recording[:measured_from])
        return await cpu_of(lambda: replay(recording[measured_from:]))
    finally:
        await engine.dispose()


async def replay_asyncpg(url: str, recording: Recording, measured_from: int) -> float:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None

            async def replay(part: Recording) -> None:
                for statements in part:
                    async with driver.transaction():
                        for statement, parameters in statements:
                            await driver.fetch(statement, *parameters)

            await replay(recording[:measured_from])
            return await cpu_of(lambda: replay(recording[measured_from:]))
    finally:
        await engine.dispose()


async def main(count: int) -> None:
    url = await fresh_postgres("nuage_bench")
    copies: list[str] = []
    try:
        await _seed(url, WARM_UP + count + 10)
        copies = [await copy_of(url, "sa"), await copy_of(url, "driver")]
        recorder = Recorder()
        nuage, measured_from = await run_nuage(url, count, recorder)
        recording = recorder.transactions
        through_sqlalchemy = await replay_sqlalchemy(copies[0], recording, measured_from)
        on_asyncpg = await replay_asyncpg(copies[1], recording, measured_from)
    finally:
        for each in (url, *copies):
            await drop_postgres(each)
    measured = recording[measured_from:]
    statements = sum(len(t) for t in measured) / count
    rows = [
        ("nuage's worker (claim, run, finish)", nuage),
        ("its statements through SQLAlchemy", through_sqlalchemy),
        ("its statements on asyncpg alone", on_asyncpg),
    ]
    table(
        f"Engine CPU per task, PostgreSQL, {count} sync_vps_state tasks one at a time "
        f"({statements:.1f} statements, {len(measured) / count:.1f} transactions a task)",
        ("what runs", "CPU ms/task", "share of nuage's"),
        [(name, f"{1000 * cpu / count:.2f}", f"{cpu / nuage:.2f}") for name, cpu in rows],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=400)
    asyncio.run(main(parser.parse_args().tasks))
