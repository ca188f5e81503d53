"""Engine throughput: tasks/s for 1, 2 and 4 worker processes on PostgreSQL and for the embedded
SQLite default, beside a bare SQL loop that claims and completes the same rows the same way.

Method: a fresh database with 200 running instances and N pending `sync_vps_state` tasks spread
over them (so at most 200 can run at once); the simulated driver at zero latency. Workers are real
`nuage worker` processes (concurrency 4 each). Throughput = N / (last completed_at - first
started_at), read from the tasks themselves. The bare loop runs the engine's own claim statement
(`engine.queries.claim_next`) and one UPDATE to `completed` per task — no handler, no step log, no
instance update, no lease renewal — with the same number of processes and connections.

    .venv/bin/python bench/engine_throughput.py [--tasks 4000]
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.common import (
    drop_postgres,
    fresh_postgres,
    fresh_sqlite,
    nuage_env,
    spawn,
    table,
)
from nuage.api.event_views import ApiViews
from nuage.db.models import InstanceTask
from nuage.db.outbox import install_views
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.db.types import utcnow
from nuage.engine import queries

INSTANCES = 200
T = InstanceTask.__table__


async def _seed(url: str, count: int) -> None:
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=INSTANCES)
    await seed.tasks(engine, user=user, org=org, project=project, instance_ids=ids, count=count)
    await engine.dispose()


async def _wait_done(url: str, count: int, timeout: float = 900) -> float:
    """Tasks per second, from the first start to the last completion."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                done = (
                    await conn.execute(sa.select(sa.func.count()).where(T.c.status == "completed"))
                ).scalar_one()
                if done >= count:
                    first, last = (
                        await conn.execute(
                            sa.select(sa.func.min(T.c.started_at), sa.func.max(T.c.completed_at))
                        )
                    ).one()
                    return count / max(1e-9, (last - first).total_seconds())
            await asyncio.sleep(0.2)
        raise RuntimeError("tasks did not complete in time")
    finally:
        await engine.dispose()


async def engine_run(url: str, workers: int, count: int) -> float:
    await _seed(url, count)
    with tempfile.TemporaryDirectory() as tmp:
        env = nuage_env(url, Path(tmp), NUAGE_SIM_LATENCY_MS="0", NUAGE_WORKER_CONCURRENCY="4")
        procs = [spawn(["worker"], env, Path(tmp) / f"w{i}.log") for i in range(workers)]
        try:
            return await _wait_done(url, count)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


async def bare_loop(url: str, connections: int) -> None:
    """Claim and complete with plain statements until nothing is left (one process)."""
    engine = (
        make_engine(url, pool_size=connections)
        if url.startswith("postgresql")
        else make_engine(url)
    )
    sessions = make_sessionmaker(engine)
    install_views(sessions, ApiViews())  # a claim writes its `task.started` event
    me = f"bare-{id(engine)}"

    async def one() -> None:
        while True:
            async with transaction(sessions) as session:
                task_id = await queries.claim_next(session, me, utcnow(), timedelta(seconds=30))
                if task_id is None:
                    left = await session.scalar(
                        sa.select(sa.func.count()).where(T.c.status.in_(["pending", "running"]))
                    )
                    if not left:
                        return
                    continue
            async with transaction(sessions) as session:
                await session.execute(
                    sa.update(T)
                    .where(T.c.id == task_id)
                    .values(status="completed", completed_at=utcnow(), lease_owner=None)
                )

    await asyncio.gather(*(one() for _ in range(connections)))
    await engine.dispose()


async def bare_run(url: str, processes: int, count: int) -> float:
    await _seed(url, count)
    procs = [
        subprocess.Popen([sys.executable, __file__, "--bare-worker", url]) for _ in range(processes)
    ]
    try:
        return await _wait_done(url, count)
    finally:
        for proc in procs:
            proc.wait(timeout=60)


async def main(count: int) -> None:
    rows = []
    for backend, worker_counts in (("sqlite", (1,)), ("postgresql", (1, 2, 4))):
        for workers in worker_counts:
            results = []
            for runner in (engine_run, bare_run):
                with tempfile.TemporaryDirectory() as tmp:
                    if backend == "sqlite":
                        url = await fresh_sqlite(Path(tmp))
                    else:
                        url = await fresh_postgres("nuage_bench")
                    try:
                        results.append(await runner(url, workers, count))
                    finally:
                        if backend == "postgresql":
                            await drop_postgres(url)
            nuage_rate, bare_rate = results
            rows.append(
                (backend, workers, f"{nuage_rate:.0f}", f"{bare_rate:.0f}",
                 f"{nuage_rate / bare_rate:.2f}")
            )  # fmt: skip
    table(
        f"Engine throughput, {count} tasks over {INSTANCES} instances, sim driver at 0 ms",
        ("database", "worker processes", "nuage tasks/s", "bare SQL loop tasks/s", "ratio"),
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--bare-worker", metavar="URL")
    args = parser.parse_args()
    if args.bare_worker:
        asyncio.run(bare_loop(args.bare_worker, 4))
    else:
        asyncio.run(main(args.tasks))
