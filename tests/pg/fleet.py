"""Many nuage processes on one database: API servers and workers started as real subprocesses."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

from nuage.db.pg_notify import LISTENER_NAME
from nuage.db.session import make_engine
from tests.databases import add_sim_hosts
from tests.support import free_port

NUAGE = str(Path(sys.executable).with_name("nuage"))


def fleet_client(*, timeout: float, max_connections: int = 100) -> httpx.AsyncClient:
    """A client of the fleet's servers. It keeps an idle connection 1 s, below uvicorn's 5 s
    keep-alive: with both at 5 s, a request sent on a connection the server was closing at that
    moment failed with ReadError (seen under load with dozens of long polls). A GET whose
    connection is dropped is sent again (`_GetsSentAgain`)."""
    limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=1.0)
    transport = _GetsSentAgain(httpx.AsyncHTTPTransport(limits=limits))
    return httpx.AsyncClient(timeout=timeout, transport=transport)


class _GetsSentAgain(httpx.AsyncBaseTransport):
    """A GET sent again (up to three times) when its connection is dropped before the answer,
    as nuage's own client does (`client/aio.py`); any other method never is: its answer is what
    the tests count. Loaded CI runs lost one connection now and then (a long poll of the IPAM
    test, a health check of the rate-limit test) with nothing in any server's log; the cause was
    not found."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(1, 4):
            try:
                return await self.transport.handle_async_request(request)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if request.method != "GET" or attempt == 3:
                    raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.transport.aclose()


class Fleet:
    def __init__(self, database_url: str, data_dir: Path, **env: str) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
        self.env = {
            **base,
            "NUAGE_DATABASE_URL": database_url,
            "NUAGE_DATA_DIR": str(data_dir),
            "NUAGE_SECRET_KEY": "fleet-secret-key-long-enough-for-hs256-signing",
            "NUAGE_RATE_LIMIT_PER_MINUTE": "0",  # the fleet's load is not a client's
            **env,
        }
        self.data_dir = data_dir
        self.database_url = database_url
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.apis: list[tuple[subprocess.Popen[bytes], int]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str) -> str:
        done = subprocess.run([NUAGE, *args], env=self.env, check=True, capture_output=True)
        return done.stdout.decode()

    def bootstrap(self) -> dict[str, str]:
        self.run("db", "upgrade")
        with ThreadPoolExecutor(1) as thread:  # callers may be inside an event loop
            thread.submit(asyncio.run, self._add_sim_hosts()).result()
        out = self.run(
            "bootstrap",
            "--email",
            "fleet@example.com",
            "--password",
            "fleet-pass",
            "--instance-quota",
            "100000",
        )
        data: dict[str, str] = json.loads(out)
        return data

    async def _add_sim_hosts(self) -> None:
        engine = make_engine(self.database_url)
        try:
            await add_sim_hosts(engine)
        finally:
            await engine.dispose()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen([NUAGE, *args], env=self.env, stdout=log, stderr=log)

    def start_api(self, *, worker: bool = False) -> str:
        """An API process (with a worker of its own if asked); its URL once it answers."""
        return self.start_apis(1, worker=worker)[0]

    def start_apis(self, count: int, *, worker: bool = False) -> list[str]:
        """Start `count` API processes side by side; their URLs once each answers."""
        ports = [free_port() for _ in range(count)]
        flag = "--worker" if worker else "--no-worker"
        for port in ports:
            proc = self._spawn(f"api-{port}", "serve", flag, "--port", str(port))
            self.apis.append((proc, port))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 90  # imports alone took 15 s on a loaded machine
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API at {url} did not come up; see {self.logs}")
        return urls

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = self._spawn(f"worker-{len(self.workers)}", "worker")
        self.workers.append(proc)
        return proc

    def wait_for_listeners(self, count: int, timeout: float = 60.0) -> None:
        """Wait until `count` processes hold their LISTEN connection: a process that is still
        importing or connecting cannot hear a notification yet (a fixed sleep was not enough on a
        loaded machine)."""

        async def listening() -> int:
            engine = make_engine(self.database_url)
            try:
                async with engine.connect() as conn:
                    found = await conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND application_name = :name"
                        ),
                        {"name": LISTENER_NAME},
                    )
                    return int(found or 0)
            finally:
                await engine.dispose()

        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(1) as thread:  # callers may be inside an event loop
            while thread.submit(asyncio.run, listening()).result() < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fewer than {count} processes listen; see {self.logs}")
                time.sleep(0.2)

    def kill_worker(self, index: int) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(timeout=10)

    def stop(self) -> None:
        for proc in [*(p for p, _ in self.apis), *self.workers]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*(p for p, _ in self.apis), *self.workers]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def sim_operations(self, machine_id: str) -> list[str]:
        path = self.data_dir / "sim" / "ops" / f"{machine_id}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["operation"] for line in path.read_text().splitlines() if line]
