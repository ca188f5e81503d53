"""`GET …/compute/tasks/{id}` beside the two baselines of `../shared/baselines` (the Django REST
Framework reference and the bare-ASGI limit), in one run: one table with the ratios.

For each database and row count, nuage's own tables are seeded as `seed.py` seeds the
baselines' (ROWS completed tasks in the tenant's project, 0.5 x ROWS in 7 other tenants, a
read-only API key) and kept in a cache, so a second run (or the 1M rows) does not seed again.
Then for each process count, `nuage serve --no-worker --workers W` is started and `run.sh` runs
drf, limit and nuage (its extra target) with WORKERS=W, 3 x 10 s of wrk, 32 connections.

    .venv/bin/python bench/read_path.py                     # pg and sqlite, 10k and 1M, 1 and 2
    .venv/bin/python bench/read_path.py --dbs pg --rows 10000 --workers 1 --src ../old/src

`--src` serves another checkout's `src` (before/after); `--label` names it in the table.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seed
from bench.common import NUAGE, PG_ADMIN, database_name, free_port, migrate, postgres_named, table
from nuage.db.models import InstanceTask
from nuage.db.session import make_engine, make_sessionmaker
from nuage.services import api_keys

BASELINES = (ROOT / ".." / "shared" / "baselines").resolve()
CACHE = Path(os.environ.get("NUAGE_BENCH_CACHE", ROOT / "var" / "bench-cache")).resolve()


def database_url(db: str, rows: int) -> str:
    if db == "pg":
        return postgres_named(f"nuage_read_{rows}")
    return f"sqlite+aiosqlite:///{CACHE / f'nuage-{rows}.sqlite3'}"


async def _create_pg(url: str) -> None:
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = database_name(url)
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


async def _seed(db: str, rows: int) -> dict[str, object]:
    """Seed the database like the baselines' seed.py; returns the target (without base_url)."""
    url = database_url(db, rows)
    if db == "pg":
        await _create_pg(url)
    else:
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
    await migrate(url)
    engine = make_engine(url)
    user, org, project, ids = await seed.tenant(engine, instances=200)
    common = dict(user=user, org=org, project=project, instance_ids=ids)
    await seed.tasks(engine, count=rows, status="completed", **common)
    foreign: list[str] = []
    for n in range(7):
        u2, o2, p2, ids2 = await seed.tenant(engine, instances=20, legacy_id=2 + n)
        await seed.tasks(engine, user=u2, org=o2, project=p2, instance_ids=ids2,
                         count=rows // 14, status="completed")  # fmt: skip
        async with engine.connect() as conn:
            first = sa.select(InstanceTask.id).where(InstanceTask.project_id == p2.id).limit(1)
            foreign.append(str((await conn.execute(first)).scalar_one()))
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await api_keys.create(session, user.id, name="bench", scopes=["compute:read"])
    async with engine.begin() as conn:  # committed: ANALYZE in a rolled-back txn is lost
        await conn.execute(sa.text("ANALYZE"))
        mine = select_ids(project.id, 10_000)
        task_ids = (await conn.execute(mine)).scalars().all()
    await engine.dispose()
    base = f"/v1/organizations/{org.id}/projects/{project.id}/compute/tasks/"
    paths = [base + str(t) for t in task_ids]
    random.Random(1).shuffle(paths)
    return {"auth_header": f"Bearer {key}", "task_paths": paths,
            "foreign_task_paths": [base + f for f in foreign], "db": db, "rows": rows,
            "database_url": url}  # fmt: skip


def select_ids(project_id: object, limit: int) -> sa.Select[tuple[object]]:
    return sa.select(InstanceTask.id).where(InstanceTask.project_id == project_id).limit(limit)


def target_for(db: str, rows: int) -> dict[str, object]:
    """The cached target of (db, rows), seeded first if it is missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"target-{db}-{rows}.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    began = time.monotonic()
    target = asyncio.run(_seed(db, rows))
    print(f"seeded {db} with {rows} tasks in {time.monotonic() - began:.0f} s", flush=True)
    path.write_text(json.dumps(target))
    return target


def start_nuage(url: str, workers: int, src: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    # One key at thousands of requests a second: no rate limit (where the version has one).
    env.update(NUAGE_DATABASE_URL=url, NUAGE_DATA_DIR=str(CACHE / "data"), PYTHONPATH=str(src),
               NUAGE_RATE_LIMIT_PER_MINUTE="0")  # fmt: skip
    args = [NUAGE, "serve", "--no-worker", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    log = (CACHE / f"nuage-{port}.log").open("wb")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                time.sleep(2 * workers)  # the other processes finish starting too
                return proc
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"nuage did not start; see {log.name}")


def run_baselines(
    target: Path, *, db: str, rows: int, workers: int, args: argparse.Namespace
) -> Path:
    """run.sh with drf, limit and nuage; returns its results file."""
    env = dict(os.environ, WORKDIR=str(CACHE / "baselines"), WORKERS=str(workers), ROWS=str(rows),
               DBS=db, MODES="shared", EXTRA_LABEL=args.label, REPEAT=str(args.repeat),
               DURATION=str(args.duration))  # fmt: skip
    out = subprocess.run(["bash", str(BASELINES / "run.sh"), str(target)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    (CACHE / f"run-{db}-{rows}-{workers}.log").write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"run.sh failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("== results ("))
    return Path(line.split("(", 1)[1].rstrip(")"))


def medians(results: Path) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict[str, float]]] = {}
    for line in results.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            runs.setdefault(row["impl"], []).append(row)
    return {
        impl: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms")}
        | {"non2xx": sum(r["non2xx"] for r in rs)}
        for impl, rs in runs.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dbs", nargs="+", default=["pg", "sqlite"], choices=["pg", "sqlite"])
    ap.add_argument("--rows", nargs="+", type=int, default=[10_000, 1_000_000])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the nuage source to serve")
    ap.add_argument("--label", default="nuage")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    began = time.monotonic()
    print(f"load before: {os.getloadavg()}", flush=True)
    lines = []
    for db in args.dbs:
        for rows in args.rows:
            target = target_for(db, rows)
            for workers in args.workers:
                port = free_port()
                proc = start_nuage(str(target["database_url"]), workers, args.src.resolve(), port)
                path = CACHE / f"target-{db}-{rows}-{workers}.json"
                path.write_text(json.dumps({**target, "base_url": f"http://127.0.0.1:{port}"}))
                try:
                    found = medians(
                        run_baselines(path, db=db, rows=rows, workers=workers, args=args)
                    )
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                drf, limit, ours = found["drf"], found["limit"], found[args.label]
                served = 1 if db == "sqlite" else workers  # SQLite keeps one nuage process
                rps, p50, p99 = ours["rps"], ours["p50_ms"], ours["p99_ms"]
                lines.append((db, rows, f"{workers} (nuage {served})", round(drf["rps"]),
                              round(limit["rps"]), round(rps), f"{p50:.1f}", f"{p99:.1f}",
                              f"{p99 / p50:.1f}", f"{rps / drf['rps']:.2f}",
                              f"{rps / limit['rps']:.2f}", int(ours["non2xx"])))  # fmt: skip
                print(lines[-1], flush=True)
    table(
        f"GET task, {args.label} beside the baselines ({args.repeat} x {args.duration} s, 32 "
        f"connections, medians; load after: {os.getloadavg()[0]:.1f}; "
        f"{time.monotonic() - began:.0f} s in all)",
        ["db", "rows", "WORKERS", "drf req/s", "limit req/s", "nuage req/s", "p50 ms", "p99 ms",
         "p99/p50", "x drf", "x limit", "non-2xx"],
        lines,
    )  # fmt: skip


if __name__ == "__main__":
    main()
