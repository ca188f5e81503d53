"""CPU time of one `GET …/tasks/{id}` inside the API process, without HTTP or load: the measure
that holds on a busy machine, where req/s moves with everything else that runs.

The app is called as an ASGI callable, one request after the other (2,000 by default, after 200
of warm-up), on a database seeded by `bench/read_path.py`; the process's CPU time
(`time.process_time`) over the requests is divided by their number. The database server's own CPU
is not in it. Run it against another checkout's `src` to compare versions:

    .venv/bin/python bench/read_cpu.py                          # pg, 10k
    PYTHONPATH=../old/src .venv/bin/python bench/read_cpu.py --db sqlite
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("NUAGE_BENCH_CACHE", ROOT / "var" / "bench-cache")).resolve()
sys.path.insert(0, str(ROOT))

import nuage  # the version under test: from PYTHONPATH when given
from bench.common import AsgiCalls
from nuage import logs
from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db import session as db_session
from nuage.db.notify import LocalNotifier
from nuage.db.session import make_engine, make_sessionmaker


def _reader(settings: Settings, engine: Any) -> Any:
    """The version's fast-read engine as its server makes it; None before the fast read."""
    if hasattr(db_session, "reader_for"):
        return db_session.reader_for(settings, engine)
    if hasattr(db_session, "make_reader"):  # versions whose pool size had a default
        return db_session.make_reader(engine)
    return None


async def measure(target: dict[str, Any], count: int) -> tuple[float, int]:
    engine = make_engine(str(target["database_url"]))
    # As `bench/read_path.py` serves it: one key at thousands of requests a second, no rate limit
    # (with one, nearly every request here would be a 429).
    settings = Settings(
        data_dir=CACHE / "data",
        database_url=str(target["database_url"]),
        secret_key="x" * 48,
        rate_limit_per_minute=0,
    )
    notifier = LocalNotifier()
    reader = _reader(settings, engine)
    extra = {"reader": reader} if reader is not None else {}  # a version without a fast read
    app = create_app(Runtime(settings, make_sessionmaker(engine, notifier), notifier, **extra))
    auth = str(target["auth_header"]).encode()
    paths = list(target["task_paths"])
    calls = AsgiCalls(app, auth)

    async def get(path: str) -> None:
        await calls("GET", path)

    for n in range(200):
        await get(paths[n % len(paths)])
    began = time.process_time()
    for n in range(count):
        await get(paths[n % len(paths)])
    spent = time.process_time() - began
    if reader is not None:
        await reader.dispose()
    await engine.dispose()
    ok = sum(1 for s in calls.statuses[200:] if s == 200)
    return spent / count * 1000, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", default="pg", choices=["pg", "sqlite"])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    target = json.loads((CACHE / f"target-{args.db}-{args.rows}.json").read_text())
    # As a served process logs (one JSON line per request on stderr), to /dev/null.
    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115
    try:
        logs.configure()
        ms, ok = asyncio.run(measure(target, args.count))
    finally:
        sys.stderr = stderr
    where = Path(nuage.__file__).resolve().parents[1]
    print(f"{where}: {args.db} {args.rows}: {ms:.3f} ms CPU per GET task ({ok}/{args.count} x 200)")
    sys.exit(0 if ok == args.count else 1)


if __name__ == "__main__":
    main()
