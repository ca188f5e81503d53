"""Engine CPU per task: the worker's claim and run of one task, beside the bare SQL loop's claim
and completion, in one process, one task at a time (the measure a loaded machine moves little).

Method: a fresh PostgreSQL database with 200 running instances and 2N pending
`sync_vps_state` tasks; the simulated driver at zero latency. First N tasks go through
`Worker.claim` and `Worker.execute` (the code a `nuage worker` runs for each task, without the
webhook sender's loop), then N through the bare loop of `bench/engine_throughput.py` (the
engine's claim statement, one UPDATE to `completed`). CPU is the process's user + system time
(`time.process_time`); statements and transactions are counted with SQLAlchemy's events and,
for the statements sent past them, `db.driver_sql`'s listeners.
Compare versions with PYTHONPATH (`PYTHONPATH=../other/src .venv/bin/python bench/...`).

    .venv/bin/python bench/engine_cpu.py [--tasks 300]
"""

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import drop_postgres, fresh_postgres, table
from bench.engine_throughput import T, _seed
from nuage.cli.runtime import Process, make_drivers, make_worker, open_process
from nuage.config import Settings
from nuage.db.driver_sql import RAW_STATEMENTS
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine import queries
from nuage.engine.worker import Worker


@dataclass
class Phase:
    cpu: float = 0.0
    statements: int = 0
    transactions: int = 0


class Counter:
    """Statements and transactions every engine of the process sends meanwhile."""

    def __init__(self) -> None:
        self.statements = 0
        self.transactions = 0
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "begin", self._begin)
        RAW_STATEMENTS.append(self._statement)  # sent past SQLAlchemy's events

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _begin(self, *_args: Any) -> None:
        self.transactions += 1


async def timed(phase: Phase, counter: Counter, step: Callable[[], Awaitable[Any]]) -> Any:
    statements, transactions = counter.statements, counter.transactions
    start = time.process_time()
    result = await step()
    phase.cpu += time.process_time() - start
    phase.statements += counter.statements - statements
    phase.transactions += counter.transactions - transactions
    return result


@asynccontextmanager
async def worker_on(url: str) -> AsyncIterator[tuple[Process, Worker]]:
    """A process of nuage on `url` and its worker, the simulated driver at zero latency."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=url, secret_key="x" * 40, sim_latency_ms=0
        )
        async with open_process(settings) as process:
            drivers = make_drivers(settings)
            try:
                yield process, make_worker(process, drivers)
            finally:
                await drivers.close()


async def measure(url: str, count: int) -> dict[str, Phase]:
    phases = {name: Phase() for name in ("claim", "run and finish", "bare claim", "bare complete")}
    counter = Counter()
    async with worker_on(url) as (process, worker):
        for _ in range(count):
            record = await timed(phases["claim"], counter, worker.claim)
            assert record is not None
            await timed(phases["run and finish"], counter, partial(worker.execute, record))
        sessions = process.runtime.sessions

        async def bare_claim() -> Any:
            async with transaction(sessions) as session:
                lease = timedelta(seconds=30)
                return await queries.claim_next(session, "bare", utcnow(), lease)

        async def complete(task_id: Any) -> None:
            done = {"status": "completed", "completed_at": utcnow(), "lease_owner": None}
            async with transaction(sessions) as session:
                await session.execute(sa.update(T).where(T.c.id == task_id).values(done))

        for _ in range(count):
            task_id = await timed(phases["bare claim"], counter, bare_claim)
            await timed(phases["bare complete"], counter, partial(complete, task_id))
    return phases


async def main(count: int) -> None:
    url = await fresh_postgres("nuage_bench")
    try:
        await _seed(url, 2 * count)
        phases = await measure(url, count)
    finally:
        await drop_postgres(url)

    def row(name: str) -> tuple[str, str, str, str]:
        p = phases[name]
        return (name, f"{1000 * p.cpu / count:.2f}", f"{p.statements / count:.1f}",
                f"{p.transactions / count:.1f}")  # fmt: skip

    nuage = phases["claim"].cpu + phases["run and finish"].cpu
    bare = phases["bare claim"].cpu + phases["bare complete"].cpu
    rows = [row(name) for name in phases]
    rows.append(("nuage total", f"{1000 * nuage / count:.2f}", "", ""))
    rows.append(("bare total", f"{1000 * bare / count:.2f}", "", ""))
    rows.append(("bare / nuage CPU", f"{bare / nuage:.2f}", "", ""))
    table(
        f"Engine CPU per task, PostgreSQL, {count} sync_vps_state tasks one at a time",
        ("phase", "CPU ms/task", "statements/task", "transactions/task"),
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    asyncio.run(main(parser.parse_args().tasks))
