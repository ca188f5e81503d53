"""The engine's ceiling on this machine: how fast any worker that sends nuage's statements could
go, beside nuage's worker and the bare loop, with 1, 2 and 4 processes (PostgreSQL).

Method: one database seeded as `bench/engine_throughput.py` seeds it (200 running instances, N
pending `sync_vps_state` tasks, analyzed), copied three times before anything runs (`CREATE
DATABASE … TEMPLATE`); then, for each number of processes:
- **record**: nuage's worker (`Worker.claim`, `Worker.execute`, the simulated driver at zero
  latency) works through every task one at a time on the seeded database, and every statement it
  sends is recorded with its parameters, task by task and transaction by transaction (once, for
  every row of the table);
- **nuage**: that many `nuage worker` processes (concurrency 4 each) on the first copy, as
  `engine_throughput.py` runs them;
- **nuage's statements on asyncpg**: that many processes on the second copy, four connections
  each, replay the recorded tasks (process k takes tasks k, k+P, …) in their transactions on
  asyncpg alone: no ORM, no SQLAlchemy, no handler, no record, nothing but the statements. The
  claim's statement is sent without its row locks (`FOR NO KEY UPDATE … SKIP LOCKED`): replayed,
  it would lock whichever task is next rather than the one the statements after it update, and
  the connections would deadlock. No worker that sends these statements, however it is written,
  goes faster;
- **bare loop** on the third copy, as `engine_throughput.py` runs it.

A rate is tasks / (first start → last completion), read from the tasks for nuage and the bare
loop, and for the replay from the moment every process is connected and told to go to the moment
the last one has ended. The machine's CPU per task comes from /proc/stat over the same span:
PostgreSQL's backends are in it. Each copy is used once and dropped: the database is seeded again
for each number of processes.

The replay leaves out what a worker process does beside its tasks: the webhook sender's
transactions (about 0.4 a task with four processes, none with one) and the wake-ups of LISTEN.
Before each run the database server is told to CHECKPOINT, and each copy is dropped once used, so
that one run's writes are not flushed in the next.

    .venv/bin/python bench/engine_ceiling.py [--tasks 4000] [--processes 1 2 4]
"""

import argparse
import asyncio
import pickle
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PG_ADMIN, drop_postgres, fresh_postgres, machine_cpu_seconds, table
from bench.engine_cpu import worker_on
from bench.engine_replay import Recorder, Recording, copy_of
from bench.engine_throughput import Run, _seed, bare_processes_run, workers_run
from nuage.db.session import make_engine

CONNECTIONS = 4  # per replaying process, as a worker's concurrency in the other runs
# The claim's row locks: replayed, a claim would lock whichever task is next, not the one the
# statements after it update, and the replaying connections deadlock on each other's.
ROW_LOCKS = re.compile(r"\s+FOR (NO KEY )?UPDATE( OF [\w, ]+)?( SKIP LOCKED)?\s*$")


async def record(url: str, count: int) -> list[Recording]:
    """nuage's statements for each of the `count` tasks, in the order the worker sent them."""
    recorder = Recorder()
    tasks: list[Recording] = []
    async with worker_on(url) as (_, worker):
        recorder.on = True
        for _ in range(count):
            began = len(recorder.transactions)
            claimed = await worker.claim()
            assert claimed is not None
            await worker.execute(claimed)
            tasks.append(recorder.transactions[began:])
        recorder.on = False
    return tasks


def without_row_locks(tasks: list[Recording]) -> list[Recording]:
    unlocked = [
        [[(ROW_LOCKS.sub("", sql), values) for sql, values in statements] for statements in task]
        for task in tasks
    ]
    assert unlocked != tasks, "no claim's row locks found: ROW_LOCKS no longer matches the claim"
    return unlocked


async def replay_part(url: str, tasks: list[Recording]) -> None:
    """Replay `tasks` over `CONNECTIONS` asyncpg connections, once told to go on stdin."""
    engine = make_engine(url, pool_size=CONNECTIONS)
    connections = [await engine.connect() for _ in range(CONNECTIONS)]
    drivers = [(await c.get_raw_connection()).driver_connection for c in connections]
    waiting = iter(tasks)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def one(driver: object) -> None:
        for task in waiting:
            for statements in task:
                async with driver.transaction():  # type: ignore[attr-defined]
                    for statement, parameters in statements:
                        await driver.fetch(statement, *parameters)  # type: ignore[attr-defined]

    await asyncio.gather(*(one(d) for d in drivers))
    for c in connections:
        await c.close()
    await engine.dispose()


async def replay_run(url: str, processes: int, tasks: list[Recording]) -> Run:
    tasks = without_row_locks(tasks)
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for k in range(processes):
            path = Path(tmp) / f"part{k}.pickle"
            path.write_bytes(pickle.dumps(tasks[k::processes]))
            parts.append(path)
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--replay", url, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for path in parts
        ]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        machine, start = machine_cpu_seconds(), time.monotonic()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            if proc.wait(timeout=600) != 0:
                raise RuntimeError("a replaying process failed")
        elapsed, machine = time.monotonic() - start, machine_cpu_seconds() - machine
    count = len(tasks)
    await every_task_completed(url, count)
    return Run(count / elapsed, float("nan"), 1000 * machine / count)


async def every_task_completed(url: str, count: int) -> None:
    """The replay did each task's work: a guard that matched no row (a claim or a finish whose
    condition failed) would have left its task as it was, and the rate too high."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            done = await conn.scalar(
                sa.text("SELECT count(*) FROM instance_tasks WHERE status = 'completed'")
            )
    finally:
        await engine.dispose()
    assert done == count, f"the replay completed {done} of {count} tasks"


async def checkpoint() -> None:
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text("CHECKPOINT"))
    finally:
        await admin.dispose()


async def one_row(count: int, processes: int) -> tuple[Run, Run, Run]:
    seeded = await fresh_postgres("nuage_ceiling")
    copies: list[str] = []
    try:
        await _seed(seeded, count)
        copies = [await copy_of(seeded, name) for name in ("nuage", "replay", "bare")]
        tasks = await record(seeded, count)
        await drop_postgres(seeded)
        await checkpoint()
        nuage = await workers_run(copies[0], processes, count)
        await drop_postgres(copies[0])
        await checkpoint()
        replayed = await replay_run(copies[1], processes, tasks)
        await drop_postgres(copies[1])
        await checkpoint()
        bare = await bare_processes_run(copies[2], processes, count)
        return nuage, replayed, bare
    finally:
        for each in (seeded, *copies):
            await drop_postgres(each)


async def main(count: int, processes: list[int]) -> None:
    rows = []
    for p in processes:
        nuage, replayed, bare = await one_row(count, p)
        rows.append(
            (p, f"{nuage.rate:.0f}", f"{replayed.rate:.0f}", f"{bare.rate:.0f}",
             f"{nuage.rate / bare.rate:.2f}", f"{replayed.rate / bare.rate:.2f}",
             f"{nuage.machine_cpu_ms:.1f}", f"{replayed.machine_cpu_ms:.1f}",
             f"{bare.machine_cpu_ms:.1f}")
        )  # fmt: skip
    table(
        f"Engine ceiling, PostgreSQL, {count} sync_vps_state tasks, sim driver at 0 ms",
        ("processes", "nuage tasks/s", "its statements on asyncpg tasks/s", "bare loop tasks/s",
         "nuage / bare", "statements on asyncpg / bare", "nuage machine CPU ms/task",
         "asyncpg machine CPU ms/task", "bare machine CPU ms/task"),
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--replay", nargs=2, metavar=("URL", "PART"))
    args = parser.parse_args()
    if args.replay:
        url, part = args.replay
        asyncio.run(replay_part(url, pickle.loads(Path(part).read_bytes())))
    else:
        asyncio.run(main(args.tasks, args.processes))
