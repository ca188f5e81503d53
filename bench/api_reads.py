"""Read path: `GET …/tasks/{id}` and `GET …/tasks?status=…` with 10k and with 1M tasks in the
table, on PostgreSQL.

Method: a fresh database; one project holds 200 instances and the tasks (95 % completed, 5 %
failed), inserted with plain SQL and ANALYZEd. One `nuage serve --no-worker` process; a client in
this process keeps 16 requests in flight for 10 s per endpoint (random task ids from the table;
the list asks `status=failed&page_size=20`). Client and server share the machine's 2 cores.

    .venv/bin/python bench/api_reads.py [--sizes 10000 1000000]
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.common import (
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


async def measure(size: int) -> list[tuple[object, ...]]:
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
            sample = (
                (
                    await conn.execute(
                        sa.select(InstanceTask.id).order_by(sa.func.random()).limit(2000)
                    )
                )
                .scalars()
                .all()
            )
        await engine.dispose()
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            # one key at hundreds of requests a second: no rate limit
            env = nuage_env(url, Path(tmp), NUAGE_RATE_LIMIT_PER_MINUTE="0")
            proc = spawn(["serve", "--no-worker", "--port", str(port)], env, Path(tmp) / "api.log")
            base = (
                f"http://127.0.0.1:{port}/v1/organizations/{org.id}/projects/{project.id}/compute"
            )
            try:
                limits = httpx.Limits(max_connections=IN_FLIGHT)
                async with httpx.AsyncClient(
                    headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=30
                ) as http:
                    await wait_healthy(http, port)
                    rows = []
                    cases = {
                        "GET task": [f"{base}/tasks/{i}" for i in sample],
                        "GET tasks?status=failed": [f"{base}/tasks?status=failed&page_size=20"],
                    }
                    for name, urls in cases.items():
                        await load(http, urls[:50])  # warm up
                        rate, lat = await load(http, urls)
                        rows.append(
                            (f"{size:,}", name, f"{rate:.0f}", f"{percentile(lat, 50):.1f}",
                             f"{percentile(lat, 99):.1f}")
                        )  # fmt: skip
                    return rows
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        await drop_postgres(url)


async def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        rows += await measure(size)
    table(
        f"API reads on PostgreSQL, 1 API process, {IN_FLIGHT} in flight, {SECONDS:.0f} s each",
        ("tasks in table", "request", "req/s", "p50 ms", "p99 ms"),
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    asyncio.run(main(parser.parse_args().sizes))
