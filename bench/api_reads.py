"""Read path: `GET …/tasks/{id}` and `GET …/tasks?status=…` with 10k and with 1M tasks in the
table, on PostgreSQL.

Method: a fresh database; one project holds 200 instances and the tasks (95 % completed, 5 %
failed), inserted with plain SQL and ANALYZEd. One `nuage serve --no-worker` process (a pool of
16 connections, no rate limit); a client in this process keeps 16 requests in flight for 10 s per
endpoint (random task ids from the table; the list asks `status=failed&page_size=20`). Client and
server share the machine's 2 cores, so req/s moves with whatever else runs: the CPU columns (the
API process's, and its PostgreSQL backends', per request) are the steadier measure.

`--src` serves each given checkout's `src` in turn on the same seeded database: before/after side
by side; the `version` column names each by its checkout's directory.

    .venv/bin/python bench/api_reads.py [--sizes 10000 1000000] [--src ../old/src src]
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seed
from bench.common import (
    PG_ADMIN,
    database_name,
    drop_postgres,
    free_port,
    fresh_postgres,
    nuage_env,
    percentile,
    spawn,
    table,
    wait_healthy,
)
from nuage.db.models import InstanceTask
from nuage.db.session import make_engine, make_sessionmaker
from nuage.services import api_keys

IN_FLIGHT = 16
SECONDS = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU time of each process still alive (fields 14 and 15 of /proc/pid/stat)."""
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return times


async def backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving `database`'s connections."""
    admin = make_engine(PG_ADMIN)
    async with admin.connect() as conn:
        query = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name")
        pids = (await conn.execute(query, {"name": database})).scalars().all()
    await admin.dispose()
    return list(pids)


async def load(http: httpx.AsyncClient, urls: list[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    stop = time.monotonic() + SECONDS

    async def client() -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            response = await http.get(random.choice(urls))
            assert response.status_code == 200, response.text
            latencies.append((time.perf_counter() - start) * 1000)

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
    return len(latencies) / (time.monotonic() - began), latencies


async def measured_load(
    http: httpx.AsyncClient, urls: list[str], api_pid: int, database: str
) -> tuple[object, ...]:
    """req/s, p50, p99, and CPU ms per request of the API process and of its backends."""
    await load(http, urls[:50])  # warm up (and fill the pool)
    before = cpu_seconds([api_pid, *await backends(database)])
    rate, latencies = await load(http, urls)
    after = cpu_seconds([api_pid, *await backends(database)])
    spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    api = spent.pop(api_pid) * 1000 / len(latencies)
    db = sum(spent.values()) * 1000 / len(latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return f"{rate:.0f}", f"{p50:.1f}", f"{p99:.1f}", f"{api:.2f}", f"{db:.2f}"


async def serve(
    url: str, src: Path, base: str, key: str, cases: dict[str, list[str]]
) -> list[tuple[object, ...]]:
    port = free_port()
    prefix = base.format(port=port)
    with tempfile.TemporaryDirectory() as tmp:
        # one key at hundreds of requests a second: no rate limit; a connection per request
        env = nuage_env(url, Path(tmp), NUAGE_RATE_LIMIT_PER_MINUTE="0",
                        NUAGE_DB_POOL_SIZE=str(IN_FLIGHT), PYTHONPATH=str(src))  # fmt: skip
        proc = spawn(["serve", "--no-worker", "--port", str(port)], env, Path(tmp) / "api.log")
        try:
            limits = httpx.Limits(max_connections=IN_FLIGHT)
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:
                await wait_healthy(http, port)
                database = database_name(url)
                return [
                    (
                        name,
                        *await measured_load(http, [prefix + u for u in urls], proc.pid, database),
                    )
                    for name, urls in cases.items()
                ]
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def measure(size: int, sources: list[Path]) -> list[tuple[object, ...]]:
    url = await fresh_postgres("nuage_bench")
    try:
        engine = make_engine(url)
        user, org, project, ids = await seed.tenant(engine, instances=200)
        common = dict(user=user, org=org, project=project, instance_ids=ids)
        await seed.tasks(engine, count=size * 95 // 100, status="completed", **common)
        await seed.tasks(engine, count=size - size * 95 // 100, status="failed", **common)
        async with make_sessionmaker(engine)() as session, session.begin():
            key, _ = await api_keys.create(session, user.id, name="bench", scopes=["compute:read"])
        async with engine.begin() as conn:  # committed: ANALYZE in a rolled-back txn is lost
            await conn.execute(sa.text("ANALYZE"))
            random_ids = sa.select(InstanceTask.id).order_by(sa.func.random()).limit(2000)
            sample = (await conn.execute(random_ids)).scalars().all()
        await engine.dispose()
        base = f"http://127.0.0.1:{{port}}/v1/organizations/{org.id}/projects/{project.id}/compute"
        cases = {
            "GET task": [f"/tasks/{i}" for i in sample],
            "GET tasks?status=failed": ["/tasks?status=failed&page_size=20"],
        }
        rows = []
        for src in sources:
            served = await serve(url, src, base, key, cases)
            rows += [(f"{size:,}", src.resolve().parent.name, *row) for row in served]
        return rows
    finally:
        await drop_postgres(url)


async def main(sizes: list[int], sources: list[Path]) -> None:
    rows = []
    for size in sizes:
        rows += await measure(size, sources)
    table(
        f"API reads on PostgreSQL, 1 API process, {IN_FLIGHT} in flight, {SECONDS:.0f} s each",
        ("tasks in table", "version", "request", "req/s", "p50 ms", "p99 ms", "API CPU ms/req",
         "DB CPU ms/req"),
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--src", type=Path, nargs="+", default=[ROOT / "src"])
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.src))
