"""CPU time of one accepted action (`POST …/instances/{id}/reboot`, 202) inside the API process,
without HTTP or load: the measure that holds on a busy machine, where req/s moves with everything
else that runs (the write twin of `bench/read_cpu.py`).

A fresh database is seeded as `bench/write_path.py` seeds it; the app is called as an ASGI
callable, one request after the other (`--count` after 200 of warm-up), each a reboot of the next
instance in turn; the process's CPU time (`time.process_time`) over the requests is divided by
their number. The database server's own CPU is not in it. `--profile FILE` writes a cProfile of
the measured requests. Run it against another checkout's `src` to compare versions:

    .venv/bin/python bench/write_cpu.py --db sqlite
    PYTHONPATH=../old/src .venv/bin/python bench/write_cpu.py --db pg
"""

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nuage  # the version under test: from PYTHONPATH when given
from bench.common import AsgiCalls, drop_postgres, fresh_postgres, fresh_sqlite
from bench.write_path import _seed
from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier
from nuage.db.session import make_engine, make_sessionmaker, reader_for


async def measure(url: str, count: int, data: Path, profile: Path | None) -> tuple[float, int]:
    key, paths = await _seed(url, 500)
    engine = make_engine(url)
    settings = Settings(
        data_dir=data, database_url=url, secret_key="x" * 48, rate_limit_per_minute=0
    )
    notifier = LocalNotifier()
    reader = reader_for(settings, engine)
    app = create_app(
        Runtime(settings, make_sessionmaker(engine, notifier), notifier, reader=reader)
    )
    auth = f"Bearer {key}".encode()
    calls = AsgiCalls(app, auth)

    async def post(path: str) -> None:
        await calls("POST", path)

    for n in range(200):
        await post(paths[n % len(paths)])
    profiler = cProfile.Profile() if profile else None
    began = time.process_time()
    if profiler:
        profiler.enable()
    for n in range(count):
        await post(paths[n % len(paths)])
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    spent = time.process_time() - began
    await reader.dispose()
    await engine.dispose()
    ok = sum(1 for s in calls.statuses[200:] if s == 202)
    return spent / count * 1000, ok


async def run(db: str, count: int, profile: Path | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="nuage-write-cpu-") as tmp:
        url = await fresh_postgres("nuage_wcpu") if db == "pg" else await fresh_sqlite(Path(tmp))
        try:
            return await measure(url, count, Path(tmp), profile)
        finally:
            if db == "pg":
                await drop_postgres(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", default="pg", choices=["pg", "sqlite"])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--profile", type=Path)
    args = ap.parse_args()
    ms, ok = asyncio.run(run(args.db, args.count, args.profile))
    where = Path(nuage.__file__).resolve().parents[1]
    print(f"{where}: {args.db}: {ms:.3f} ms CPU per POST action ({ok}/{args.count} x 202)")
    sys.exit(0 if ok == args.count else 1)


if __name__ == "__main__":
    main()
