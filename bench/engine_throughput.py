"""Engine throughput: tasks/s for 1, 2 and 4 worker processes on PostgreSQL and for the embedded
SQLite default, beside a bare SQL loop that claims and completes the same rows the same way.

Method: a fresh database with 200 running instances and N pending `sync_vps_state` tasks spread
over them (so at most 200 can run at once); the simulated driver at zero latency. Workers are real
`nuage worker` processes (concurrency 4 each). Throughput = N / (last completed_at - first
started_at), read from the tasks themselves. The bare loop runs the engine's own claim statement
(`engine.queries.claim_next`) and one UPDATE to `completed` per task — no handler, no step log, no
instance update, no lease renewal — with the same number of processes and connections.

    .venv/bin/python bench/engine_throughput.py [--tasks 4000] [--dbs postgresql] [--processes 1 2]
        [--rounds 3]

With `--rounds N`, each configuration runs N times, nuage and the bare loop alternated, and the
table shows the medians and each round's ratio: on a machine whose speed drifts (seen here: the
same run 15 % apart from one minute to the next), one run of each is not a ratio.

Also the CPU time of the claiming processes per task (user + system, from the first claim to the
last completion): the measure a loaded machine moves little, unlike the rates; and the whole
machine's over the same span (PostgreSQL's backends in it), from /proc/stat.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.common import (
    drop_postgres,
    fresh_postgres,
    fresh_sqlite,
    machine_cpu_seconds,
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
    if url.startswith("postgresql"):
        # The statistics of a database that has held a queue for a while (autovacuum's): with
        # those of the tables before the seed, the planner expects a handful of pending tasks,
        # and the claim reads and sorts every due one instead of walking them in `seq` order.
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()


@dataclass(frozen=True)
class Run:
    rate: float  # tasks/s, from the first start to the last completion
    cpu_ms: float  # CPU time of the claiming processes per task, while tasks ran
    machine_cpu_ms: float  # CPU time of the whole machine per task (PostgreSQL's too), meanwhile


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (Linux: /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def _wait_done(url: str, count: int, pids: list[int], timeout: float = 900) -> Run:
    """The run's rate, and the processes' CPU per task from the first claim to the last
    completion (their start-up and idle polling before it excluded)."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    cpu_at_start = None
    machine_at_start = 0.0
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                pending = (
                    await conn.execute(sa.select(sa.func.count()).where(T.c.status == "pending"))
                ).scalar_one()
                if cpu_at_start is None and pending < count:
                    cpu_at_start = cpu_seconds(pids)
                    machine_at_start = machine_cpu_seconds()
                done = (
                    await conn.execute(sa.select(sa.func.count()).where(T.c.status == "completed"))
                ).scalar_one()
                if done >= count:
                    cpu = cpu_seconds(pids) - (cpu_at_start or 0.0)
                    machine = machine_cpu_seconds() - machine_at_start
                    first, last = (
                        await conn.execute(
                            sa.select(sa.func.min(T.c.started_at), sa.func.max(T.c.completed_at))
                        )
                    ).one()
                    rate = count / max(1e-9, (last - first).total_seconds())
                    return Run(rate, 1000 * cpu / count, 1000 * machine / count)
            await asyncio.sleep(0.05)
        raise RuntimeError("tasks did not complete in time")
    finally:
        await engine.dispose()


async def engine_run(url: str, workers: int, count: int) -> Run:
    await _seed(url, count)
    return await workers_run(url, workers, count)


async def workers_run(url: str, workers: int, count: int) -> Run:
    """`workers` nuage worker processes through the `count` tasks seeded in `url`."""
    with tempfile.TemporaryDirectory() as tmp:
        env = nuage_env(url, Path(tmp), NUAGE_SIM_LATENCY_MS="0", NUAGE_WORKER_CONCURRENCY="4")
        procs = [spawn(["worker"], env, Path(tmp) / f"w{i}.log") for i in range(workers)]
        try:
            return await _wait_done(url, count, [p.pid for p in procs])
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


async def bare_run(url: str, processes: int, count: int) -> Run:
    await _seed(url, count)
    return await bare_processes_run(url, processes, count)


async def bare_processes_run(url: str, processes: int, count: int) -> Run:
    """`processes` bare loops through the `count` tasks seeded in `url`."""
    procs = [
        subprocess.Popen([sys.executable, __file__, "--bare-worker", url]) for _ in range(processes)
    ]
    try:
        return await _wait_done(url, count, [p.pid for p in procs])
    finally:
        for proc in procs:
            proc.wait(timeout=60)


async def main(count: int, backends: list[str], processes: list[int], rounds: int) -> None:
    rows = []
    for backend, worker_counts in (("sqlite", (1,)), ("postgresql", tuple(processes))):
        if backend not in backends:
            continue
        for workers in worker_counts:
            runs: dict[str, list[Run]] = {"nuage": [], "bare": []}
            for _ in range(rounds):  # alternated: a drift of the machine's speed hits both
                for name, runner in (("nuage", engine_run), ("bare", bare_run)):
                    runs[name].append(await _fresh_run(backend, runner, workers, count))
            nuage, bare = _median(runs["nuage"]), _median(runs["bare"])
            paired = zip(runs["nuage"], runs["bare"], strict=True)
            ratios = sorted(n.rate / b.rate for n, b in paired)
            rows.append(
                (backend, workers, f"{nuage.rate:.0f}", f"{bare.rate:.0f}",
                 f"{nuage.rate / bare.rate:.2f}", " ".join(f"{r:.2f}" for r in ratios),
                 f"{nuage.cpu_ms:.1f}", f"{bare.cpu_ms:.1f}", f"{bare.cpu_ms / nuage.cpu_ms:.2f}",
                 f"{nuage.machine_cpu_ms:.1f}", f"{bare.machine_cpu_ms:.1f}")
            )  # fmt: skip
    table(
        f"Engine throughput, {count} tasks over {INSTANCES} instances, sim driver at 0 ms"
        f" (medians of {rounds} alternated rounds)",
        ("database", "worker processes", "nuage tasks/s", "bare SQL loop tasks/s", "ratio",
         "ratio of each round", "nuage CPU ms/task", "bare CPU ms/task", "CPU ratio",
         "nuage machine CPU ms/task", "bare machine CPU ms/task"),
        rows,
    )  # fmt: skip


async def _fresh_run(
    backend: str, runner: Callable[[str, int, int], Awaitable[Run]], workers: int, count: int
) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url = await fresh_sqlite(Path(tmp))
        else:
            url = await fresh_postgres("nuage_bench")
        try:
            return await runner(url, workers, count)
        finally:
            if backend == "postgresql":
                await drop_postgres(url)


def _median(runs: list[Run]) -> Run:
    """Each measure's median over the rounds."""
    return Run(
        statistics.median(r.rate for r in runs),
        statistics.median(r.cpu_ms for r in runs),
        statistics.median(r.machine_cpu_ms for r in runs),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--dbs", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=1, help="alternated rounds (medians)")
    parser.add_argument("--bare-worker", metavar="URL")
    args = parser.parse_args()
    if args.bare_worker:
        asyncio.run(bare_loop(args.bare_worker, 4))
    else:
        asyncio.run(main(args.tasks, args.dbs, args.processes, args.rounds))
