"""Accepted actions per second (`POST …/instances/{id}/reboot`, 202) of one nuage process beside
the bare ASGI insert of the same rows (`bench/write_limit.py`), on PostgreSQL and SQLite, in one
run: one table with the ratios.

For each database and server, a fresh database is migrated and seeded alike (one tenant,
`--instances` running instances, an API key with compute:write); the server is started alone
(`nuage serve --no-worker`, or uvicorn with uvloop and httptools), checked (a 202 with the task's
fields), warmed for 2 s, then loaded with wrk (`--repeat` x `--duration` s, `--conns`
connections, each request a reboot of the next instance in turn). Besides req/s it reports the
server process's CPU time per accepted action (from /proc), the number that holds on a loaded
machine. No worker runs: the tasks stay pending, so each instance's queue grows alike for both.

    .venv/bin/python bench/write_path.py
    .venv/bin/python bench/write_path.py --versions before=../old/src after=src --dbs sqlite
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seed
from bench.common import (
    NUAGE,
    drop_postgres,
    free_port,
    fresh_postgres,
    fresh_sqlite,
    nuage_env,
    table,
)
from nuage.db.models import Host, Instance
from nuage.db.session import make_engine, make_sessionmaker
from nuage.domain.enums import Scope
from nuage.services import api_keys

LUA = Path(__file__).with_name("post_load.lua")
TICK = os.sysconf("SC_CLK_TCK")


async def _seed(url: str, instances: int) -> tuple[str, list[str]]:
    """The tenant's reboot paths and its API key."""
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=instances)
    async with engine.begin() as conn:  # placed, as a running instance is (its host's driver)
        host = sa.select(Host.id).where(Host.location_id == Instance.location_id).limit(1)
        await conn.execute(sa.update(Instance).values(host_id=host.scalar_subquery()))
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await api_keys.create(
            session, user.id, name="bench", scopes=[Scope.COMPUTE_READ, Scope.COMPUTE_WRITE]
        )
    await engine.dispose()
    base = f"/v1/organizations/{org.id}/projects/{project.id}/compute/instances/"
    return key, [f"{base}{i}/reboot" for i in ids]


def _start(impl: str, url: str, src: Path, port: int, work: Path) -> subprocess.Popen[bytes]:
    log = (work / f"{impl}-{port}.log").open("wb")
    if impl == "limit":
        dsn = url.replace("postgresql+asyncpg", "postgresql").replace("sqlite+aiosqlite:///", "")
        env = dict(os.environ, BENCH_DB="sqlite" if url.startswith("sqlite") else "pg",
                   BENCH_DSN=dsn, PYTHONPATH=str(ROOT))  # fmt: skip
        args = [sys.executable, "-m", "uvicorn", "bench.write_limit:app", "--loop", "uvloop",
                "--http", "httptools", "--port", str(port), "--no-access-log"]  # fmt: skip
    else:
        # One key at thousands of requests a second: no rate limit, as in bench/read_path.py.
        env = nuage_env(url, work / "data", PYTHONPATH=str(src), NUAGE_RATE_LIMIT_PER_MINUTE="0")
        args = [NUAGE, "serve", "--no-worker", "--port", str(port)]
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{impl} did not start; see {log.name}")


def _check(port: int, key: str, path: str) -> list[str]:
    response = httpx.post(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"}
    )
    if response.status_code != 202 or "location" not in response.headers:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    fields: list[str] = list(response.json())
    return fields


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _wrk(port: int, key: str, paths: Path, seconds: int, conns: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", str(LUA),
         f"http://127.0.0.1:{port}", "--", str(paths), f"Bearer {key}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def measure(
    impl: str, db: str, args: argparse.Namespace, src: Path, work: Path
) -> dict[str, float]:
    url = (
        asyncio.run(fresh_postgres("nuage_write"))
        if db == "pg"
        else asyncio.run(fresh_sqlite(Path(tempfile.mkdtemp(dir=work))))
    )
    proc = None
    try:
        key, paths = asyncio.run(_seed(url, args.instances))
        path_file = work / f"paths-{impl}-{db}.txt"
        path_file.write_text("\n".join(paths[1:]) + "\n")
        port = free_port()
        proc = _start(impl, url, src, port, work)
        fields = _check(port, key, paths[0])
        _wrk(port, key, path_file, 2, args.conns)  # warm up
        runs = []
        for _ in range(args.repeat):
            cpu = _cpu_seconds(proc.pid)
            run = _wrk(port, key, path_file, args.duration, args.conns)
            run["cpu_s"] = _cpu_seconds(proc.pid) - cpu
            runs.append(run)
        accepted = [r["requests"] - r["non2xx"] for r in runs]
        return {
            "rps": statistics.median(
                a / (r["duration_us"] / 1e6) for a, r in zip(accepted, runs, strict=True)
            ),
            "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
            "cpu_ms": 1000 * sum(r["cpu_s"] for r in runs) / max(1, sum(accepted)),
            "refused": sum(r["non2xx"] + r["errors"] for r in runs),
            "fields": len(fields),
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if db == "pg":
            asyncio.run(drop_postgres(url))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dbs", nargs="+", default=["pg", "sqlite"], choices=["pg", "sqlite"])
    ap.add_argument("--instances", type=int, default=2000)
    ap.add_argument(
        "--versions",
        nargs="+",
        default=[f"nuage={ROOT / 'src'}"],
        help="LABEL=SRC: the nuage sources to serve, each measured in the same run",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=16)
    args = ap.parse_args()
    versions = [(v.split("=", 1)[0], Path(v.split("=", 1)[1]).resolve()) for v in args.versions]
    began = time.monotonic()
    print(f"load before: {os.getloadavg()}", flush=True)
    lines = []
    with tempfile.TemporaryDirectory(prefix="nuage-writes-") as tmp:
        work = Path(tmp)
        for db in args.dbs:
            limit = measure("limit", db, args, ROOT / "src", work)
            lines.append((db, "limit (bare ASGI)", round(limit["rps"]), f"{limit['p50_ms']:.1f}",
                          f"{limit['p99_ms']:.1f}", f"{limit['cpu_ms']:.2f}", "1.00", "1.00",
                          int(limit["refused"])))  # fmt: skip
            print(lines[-1], flush=True)
            for label, src in versions:
                ours = measure(label, db, args, src, work)
                lines.append((db, label, round(ours["rps"]), f"{ours['p50_ms']:.1f}",
                              f"{ours['p99_ms']:.1f}", f"{ours['cpu_ms']:.2f}",
                              f"{ours['rps'] / limit['rps']:.2f}",
                              f"{limit['cpu_ms'] / ours['cpu_ms']:.2f}",
                              int(ours["refused"])))  # fmt: skip
                print(lines[-1], flush=True)
    table(
        f"POST …/instances/{{id}}/reboot (202), one process each ({args.repeat} x "
        f"{args.duration} s, {args.conns} connections, medians; load after: "
        f"{os.getloadavg()[0]:.1f}; {time.monotonic() - began:.0f} s in all)",
        ["db", "server", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "x limit (req/s)",
         "x limit (CPU)", "non-202"],
        lines,
    )  # fmt: skip


if __name__ == "__main__":
    main()
