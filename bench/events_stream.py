"""The event stream: latency from a task's completion (its commit) to its event at a client, and
the events per second one stream delivers, on PostgreSQL and on the embedded SQLite default.

Method: on PostgreSQL one API process serving the stream, another taking the POSTs, and two
worker processes; on SQLite one `nuage serve` process (API + worker) for everything; the simulated
hypervisor without latency. A client follows `GET P/events?types=task.completed` while 300 `sync`
actions are POSTed one by one, 20 ms apart, each to its own instance. Latency = the moment the
client read the frame minus the event's `created`, which the worker takes just before its COMMIT
(so the commit itself counts).
Then a second stream resumes from `Last-Event-ID: 0` and reads every event of the run (all
types): events/s = their count / the time to read them all.

    .venv/bin/python bench/events_stream.py
"""

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
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
    nuage_env,
    percentile,
    spawn,
    table,
    wait_healthy,
)
from nuage.db.session import make_engine, make_sessionmaker
from nuage.services import api_keys

TASKS = 300


Event = dict[str, Any]


async def follow(
    http: httpx.AsyncClient, url: str, done: Callable[[list[Event]], bool], **kw: Any
) -> list[tuple[float, Event]]:
    """(arrival time, event) of the stream at `url`'s events, until `done(events so far)`."""
    got: list[tuple[float, Event]] = []
    async with http.stream("GET", url, timeout=60, **kw) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                got.append((time.time(), json.loads(line[6:])))
                if done([event for _, event in got]):
                    return got
    raise RuntimeError("the stream ended early")


async def measure(url: str, *, embedded: bool) -> tuple[list[float], int, float]:
    """Latencies (ms) of the `task.completed` events; events read by a resumed stream and the
    seconds it took."""
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=TASKS)
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await api_keys.create(
            session, user.id, name="bench", scopes=["compute:write", "compute:read"]
        )
    await engine.dispose()
    ports = [free_port()] if embedded else [free_port(), free_port()]
    with tempfile.TemporaryDirectory() as tmp:
        env = nuage_env(url, Path(tmp), NUAGE_SIM_LATENCY_MS="0")
        args = ["serve"] + ([] if embedded else ["--no-worker"])
        procs = [spawn([*args, "--port", str(p)], env, Path(tmp) / f"api{p}.log") for p in ports]
        if not embedded:
            procs += [spawn(["worker"], env, Path(tmp) / f"w{i}.log") for i in range(2)]
        where = f"/v1/organizations/{org.id}/projects/{project.id}/compute"
        base, writes = (f"http://127.0.0.1:{p}{where}" for p in (ports[0], ports[-1]))
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(headers=headers, timeout=30) as http:
                for port in ports:
                    await wait_healthy(http, port)
                await asyncio.sleep(2)  # workers up and listening
                completed = f"{base}/events?types=task.completed"
                listener = asyncio.create_task(
                    follow(http, completed, lambda seen: len(seen) == TASKS)
                )
                await asyncio.sleep(0.5)  # the stream is open
                for instance_id in ids:
                    await http.post(f"{writes}/instances/{instance_id}/sync")
                    await asyncio.sleep(0.02)
                frames = await listener
                latencies = [(at - _ts(event["created"])) * 1000 for at, event in frames]
                last = max(event["id"] for _, event in frames)
                began = time.monotonic()
                everything = await follow(
                    http,
                    f"{base}/events",
                    lambda seen: seen[-1]["id"] >= last,
                    headers={"Last-Event-ID": "0"},
                )
                return latencies, len(everything), time.monotonic() - began
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def main() -> None:
    rows = []
    pg = await fresh_postgres("nuage_bench")
    try:
        rows.append(
            ("postgresql, 2 API + 2 worker processes", *_row(await measure(pg, embedded=False)))
        )
    finally:
        await drop_postgres(pg)
    with tempfile.TemporaryDirectory() as tmp:
        result = await measure(await fresh_sqlite(Path(tmp)), embedded=True)
        rows.append(("sqlite, embedded (API + worker in one process)", *_row(result)))
    table(
        f"Event stream: commit → client latency of task.completed ({TASKS} tasks), "
        "and one resumed stream's rate",
        ("setup", "p50 ms", "p99 ms", "max ms", "events read", "events/s"),
        rows,
    )


def _row(result: tuple[list[float], int, float]) -> tuple[str, ...]:
    latencies, count, seconds = result
    return (
        f"{percentile(latencies, 50):.1f}",
        f"{percentile(latencies, 99):.1f}",
        f"{max(latencies):.1f}",
        str(count),
        f"{count / seconds:.0f}",
    )


if __name__ == "__main__":
    asyncio.run(main())
