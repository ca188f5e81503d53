"""Shared set-up for the benchmarks: fresh databases, seeded rows, processes, a printed table."""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nuage.db.migrate import upgrade
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.services.hosts import ensure_demo_sim_hosts

NUAGE = str(Path(sys.executable).with_name("nuage"))
PG_ADMIN = os.environ.get("NUAGE_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def machine_cpu_seconds() -> float:
    """The CPU time the whole machine has spent so far, every process's (Linux: /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user, nice, system, irq, softirq: not idle, iowait, steal (another machine's), guest (in user)
    busy = sum(int(f) for i, f in enumerate(fields) if i not in (3, 4, 7, 8, 9))
    return busy / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def postgres_named(name: str) -> str:
    """The URL of the database `name` on `PG_ADMIN`'s server, with `PG_ADMIN`'s options."""
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name, url
    return name


async def fresh_postgres(prefix: str) -> str:
    """A new, migrated database on the machine's PostgreSQL; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = postgres_named(name)
    await migrate(url)
    return url


async def drop_postgres(url: str) -> None:
    name = database_name(url)
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def fresh_sqlite(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await migrate(url)
    return url


async def migrate(url: str) -> None:
    """Migrate, and add the embedded demo's simulated hosts the benchmarks place on."""
    engine = make_engine(url)
    await upgrade(engine)
    async with transaction(make_sessionmaker(engine)) as session:
        await ensure_demo_sim_hosts(session)
    await engine.dispose()


def nuage_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    return {
        **base,
        "NUAGE_DATABASE_URL": database_url,
        "NUAGE_DATA_DIR": str(data_dir),
        "NUAGE_SECRET_KEY": "bench-secret-key-long-enough-for-hs256-signing",
        **extra,
    }


def spawn(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([NUAGE, *args], env=env, stdout=handle, stderr=handle)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(http: httpx.AsyncClient, port: int, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        try:
            await http.get(f"http://127.0.0.1:{port}/healthz")
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


class AsgiCalls:
    """Requests made by calling an ASGI app directly (no server, no client), with one bearer
    token; `statuses` holds each answer's status, in order."""

    def __init__(
        self, app: Callable[[dict[str, Any], Any, Any], Awaitable[None]], authorization: bytes
    ) -> None:
        self.app = app
        self.authorization = authorization
        self.statuses: list[int] = []

    async def _receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(message["status"])

    async def __call__(self, method: str, path: str) -> None:
        headers = [(b"host", b"bench"), (b"authorization", self.authorization)]
        if method == "POST":
            headers.append((b"content-length", b"0"))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 1), "headers": headers}  # fmt: skip
        await self.app(scope, self._receive, self._send)
