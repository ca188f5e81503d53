"""Dispatch latency: enqueue → running, p50/p99, on PostgreSQL (LISTEN/NOTIFY wake-ups, many
processes) and on the embedded SQLite default (in-process wake-ups).

Method: one API process and idle worker processes (poll interval 5 s, so a result well under it
can only come from a wake-up); 20 `sync` actions of warm-up, then 300 measured, POSTed over HTTP
one by one, 20 ms apart, each to a different instance. Latency = task.started_at - task.created,
both written by nuage. The warm-up's worst latency is printed apart ("cold"): the first requests
of each process build its routes and compile its statements, and with 300 samples the p99 is
the third worst, which those first few would otherwise be.

    .venv/bin/python bench/dispatch_latency.py
"""

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.common import (
    drop_postgres,
    free_port,
    fresh_postgres,
    fresh_sqlite,
    mean,
    nuage_env,
    percentile,
    spawn,
    table,
    wait_healthy,
)
from nuage.db.session import make_engine, make_sessionmaker
from nuage.services import api_keys

REQUESTS = 300
WARMUP = 20  # actions first sent and waited for, not measured: each process's first requests
# build its routes and compile its statements (their latencies are printed apart, as "cold")


async def measure(url: str, *, embedded: bool) -> tuple[list[float], list[float]]:
    """The latencies of the warm-up actions, then of the measured ones."""
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=WARMUP + REQUESTS)
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await api_keys.create(
            session, user.id, name="bench", scopes=["compute:write", "compute:read"]
        )
    await engine.dispose()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        # One key sends 600 requests in about 10 s: a rate limit would answer most with 429.
        env = nuage_env(url, Path(tmp), NUAGE_SIM_LATENCY_MS="0", NUAGE_POLL_SECONDS="5",
                        NUAGE_RATE_LIMIT_PER_MINUTE="0")  # fmt: skip
        args = ["serve", "--port", str(port)] + ([] if embedded else ["--no-worker"])
        procs = [spawn(args, env, Path(tmp) / "api.log")]
        if not embedded:
            procs += [spawn(["worker"], env, Path(tmp) / f"w{i}.log") for i in range(2)]
        base = f"http://127.0.0.1:{port}/v1/organizations/{org.id}/projects/{project.id}/compute"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(headers=headers, timeout=30) as http:
                await wait_healthy(http, port)
                await asyncio.sleep(2)  # workers up and listening
                cold = await _dispatch(http, base, ids[:WARMUP])
                return cold, await _dispatch(http, base, ids[WARMUP:])
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


async def _dispatch(http: httpx.AsyncClient, base: str, instance_ids: list[Any]) -> list[float]:
    """One `sync` action per instance, 20 ms apart; then each task's enqueue → running, in ms."""
    task_ids = []
    for instance_id in instance_ids:
        response = await http.post(f"{base}/instances/{instance_id}/sync")
        task_ids.append(response.json()["id"])
        await asyncio.sleep(0.02)
    latencies = []
    for task_id in task_ids:
        got = await http.get(f"{base}/tasks/{task_id}", params={"wait": 10})
        assert got.status_code == 200, (got.status_code, got.text)
        task = got.json()
        started = _ts(task["started_at"])
        latencies.append((started - _ts(task["created"])) * 1000)
    return latencies


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def main() -> None:
    rows = []
    pg = await fresh_postgres("nuage_bench")
    try:
        cold, lat = await measure(pg, embedded=False)
        rows.append(("postgresql, 1 API + 2 worker processes", *_summary(lat), _cold(cold)))
    finally:
        await drop_postgres(pg)
    with tempfile.TemporaryDirectory() as tmp:
        cold, lat = await measure(await fresh_sqlite(Path(tmp)), embedded=True)
        rows.append(("sqlite, embedded (API + worker in one process)", *_summary(lat), _cold(cold)))
    table(
        f"Dispatch latency (enqueue → running), {REQUESTS} tasks after {WARMUP} of warm-up, "
        "worker poll interval 5 s",
        ("setup", "p50 ms", "p99 ms", "mean ms", "max ms", f"cold: first {WARMUP}, max ms"),
        rows,
    )


def _cold(values: list[float]) -> str:
    return f"{max(values):.1f}"


def _summary(values: list[float]) -> tuple[str, str, str, str]:
    return (
        f"{percentile(values, 50):.1f}",
        f"{percentile(values, 99):.1f}",
        f"{mean(values):.1f}",
        f"{max(values):.1f}",
    )


if __name__ == "__main__":
    time.sleep(0)
    asyncio.run(main())
