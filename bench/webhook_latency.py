"""Webhook latency: a task's completion → its `task.completed` delivery at a receiver on
127.0.0.1, p50/p99, on PostgreSQL (API and worker in separate processes) and on the embedded
SQLite default; and a ping's latency (the delivery's `created`, as POST …/ping queued it → it
arrives).

Method: one API process and one worker process (PostgreSQL) or one process (SQLite), the worker's
poll interval 5 s (so a result well under it comes from a wake-up), NUAGE_WEBHOOKS_ALLOW_PRIVATE
set; a webhook for `task.completed` to a receiver in this process; 200 `sync` actions POSTed one
by one, 20 ms apart, each to a different instance. Latency = the moment the signed POST reached
the receiver (wall clock) - the task's `completed_at` in the delivered body (written by the
worker on the same machine). Every delivery's signature is checked.

    .venv/bin/python bench/webhook_latency.py [spacing ms, default 20]
"""

import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

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
from nuage.domain.webhook_signatures import verify
from nuage.services import api_keys

REQUESTS = 200
PINGS = 50
SPACING_SECONDS = 0.02


class Receiver:
    """Records (arrival time, body) of each POST; answers 204."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.arrivals: list[tuple[float, dict[str, object]]] = []
        self.arrived = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: the sender reuses its connection
            line = await reader.readline()
            if not line:
                break
            headers = {}
            while (header := (await reader.readline()).decode().strip()) != "":
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            now = time.time()
            verify(self.secret, body, headers["nuage-signature"])
            self.arrivals.append((now, json.loads(body)))
            self.arrived.set()
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    async def wait_for(self, count: int, within: float = 60) -> None:
        async with asyncio.timeout(within):
            while len(self.arrivals) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def measure(url: str, *, embedded: bool) -> tuple[list[float], list[float], list[float]]:
    """Task completed → arrival, the event's `created` → arrival, and ping → arrival (ms)."""
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=REQUESTS)
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await api_keys.create(
            session, user.id, name="bench", scopes=["compute:write", "compute:read"]
        )
    await engine.dispose()
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    hook_port = server.sockets[0].getsockname()[1]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = nuage_env(
            url,
            Path(tmp),
            NUAGE_SIM_LATENCY_MS="0",
            NUAGE_POLL_SECONDS="5",
            NUAGE_WEBHOOKS_ALLOW_PRIVATE="true",
        )
        args = ["serve", "--port", str(port)] + ([] if embedded else ["--no-worker"])
        procs = [spawn(args, env, Path(tmp) / "api.log")]
        if not embedded:
            procs.append(spawn(["worker"], env, Path(tmp) / "worker.log"))
        base = f"http://127.0.0.1:{port}/v1/organizations/{org.id}/projects/{project.id}/compute"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(headers=headers, timeout=30) as http:
                await wait_healthy(http, port)
                await asyncio.sleep(2)  # the worker is up and listening
                hook = await http.post(
                    f"{base}/webhooks",
                    json={
                        "url": f"http://127.0.0.1:{hook_port}/hook",
                        "event_types": ["task.completed"],
                    },
                )
                webhook = hook.json()
                receiver.secret = webhook["secret"]
                pings = []
                for _ in range(PINGS):
                    queued = await http.post(f"{base}/webhooks/{webhook['id']}/ping")
                    await receiver.wait_for(len(pings) + 1)
                    created = _ts(queued.json()["created"])  # the commit's clock, to the ms
                    pings.append((receiver.arrivals[-1][0] - created) * 1000)
                receiver.arrivals.clear()
                for instance_id in ids:
                    await http.post(f"{base}/instances/{instance_id}/sync")
                    await asyncio.sleep(SPACING_SECONDS)
                await receiver.wait_for(REQUESTS)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
            server.close()
    tasks = [
        (arrival - _ts(str(body["data"]["completed_at"]))) * 1000  # type: ignore[index]
        for arrival, body in receiver.arrivals
    ]
    from_event = [
        (arrival - _ts(str(body["created"]))) * 1000 for arrival, body in receiver.arrivals
    ]
    return tasks, from_event, pings


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _summary(values: list[float]) -> tuple[str, str, str, str]:
    return (
        f"{percentile(values, 50):.1f}",
        f"{percentile(values, 99):.1f}",
        f"{mean(values):.1f}",
        f"{max(values):.1f}",
    )


def _rows(
    setup: str, tasks: list[float], from_event: list[float], pings: list[float]
) -> list[tuple[str, ...]]:
    return [
        (f"{setup}: task completed → delivered", *_summary(tasks)),
        (f"{setup}: its event written → delivered", *_summary(from_event)),
        (f"{setup}: ping queued → delivered", *_summary(pings)),
    ]


async def main() -> None:
    rows = []
    pg = await fresh_postgres("nuage_bench")
    try:
        rows += _rows("postgresql, 1 API + 1 worker process", *await measure(pg, embedded=False))
    finally:
        await drop_postgres(pg)
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_sqlite(Path(tmp))
        rows += _rows("sqlite, embedded", *await measure(url, embedded=True))
    table(
        f"Webhook latency to a receiver on 127.0.0.1 ({REQUESTS} tasks "
        f"{SPACING_SECONDS * 1000:g} ms apart, {PINGS} pings, worker poll interval 5 s)",
        ("setup: measured", "p50 ms", "p99 ms", "mean ms", "max ms"),
        rows,
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:  # the tasks' spacing in ms
        SPACING_SECONDS = float(sys.argv[1]) / 1000
    asyncio.run(main())
