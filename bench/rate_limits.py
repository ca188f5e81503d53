"""What the rate limiter costs, and how close to the limit it holds, with several processes.

Four `SharedLimiter`s (one per simulated API process, each with its own local batches) share
the buckets of one fresh PostgreSQL database; requests go to them in turn. For each scenario
the table shows the requests, those admitted against what the buckets allow, the database
writes per request, and the time one `acquire` takes. The in-process limiter (the embedded
mode) is measured alone.

    .venv/bin/python bench/rate_limits.py
"""

import argparse
import asyncio
import itertools
import time

from bench.common import drop_postgres, fresh_postgres, migrate, percentile, table
from nuage.db import rate_limits as store
from nuage.db.session import make_engine, make_sessionmaker
from nuage.domain.rate_limits import Band, Policy
from nuage.services.rate_limits import LocalLimiter, SharedLimiter

SEED = Policy.of(Band(1000, 60.0), Band(100, 1.0))
writes = 0
_take = store.take


async def _counting_take(*args: object, **kwargs: object) -> store.Taken:
    global writes
    writes += 1
    return await _take(*args, **kwargs)  # type: ignore[arg-type]


async def scenario(
    limiters: list[SharedLimiter], *, credentials: int, rate: float, seconds: float
) -> list[object]:
    """Each credential sends `rate` requests a second for `seconds`, round-robin over the
    limiters; returns a table row."""
    global writes
    writes = 0
    turn = itertools.cycle(limiters)
    admitted, timings = 0, []
    start = time.monotonic()

    async def client(key: str) -> None:
        nonlocal admitted
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            began = time.perf_counter()
            verdict = await next(turn).acquire(key, SEED)
            timings.append(time.perf_counter() - began)
            admitted += verdict.admitted

    await asyncio.gather(*(client(f"bench:{rate}:{c}") for c in range(credentials)))
    sent = len(timings)
    allowed = credentials * min(rate * seconds, 1000 + 1000 / 60 * seconds)
    return [
        f"{credentials} x {rate:g}/s",
        sent,
        admitted,
        round(allowed),
        f"{writes / sent:.3f}",
        f"{percentile(timings, 50) * 1e6:.0f}",
        f"{percentile(timings, 99) * 1e3:.2f}",
    ]


async def local_cost(calls: int) -> float:
    limiter, began = LocalLimiter(), time.perf_counter()
    for n in range(calls):
        await limiter.acquire(f"k{n % 100}", SEED)
    return (time.perf_counter() - began) / calls * 1e6


async def main(seconds: float) -> None:
    store.take = _counting_take  # type: ignore[assignment]
    url = await fresh_postgres("bench_rate_limits")
    try:
        await migrate(url)
        engine = make_engine(url)
        limiters = [SharedLimiter(make_sessionmaker(engine)) for _ in range(4)]
        rows = [
            await scenario(limiters, credentials=1, rate=rate, seconds=seconds)
            for rate in (2, 15, 200)
        ]
        rows.append(await scenario(limiters, credentials=20, rate=10, seconds=seconds))
        await engine.dispose()
    finally:
        await drop_postgres(url)
    table(
        f"Shared limiter, 4 processes, 1000/min + 100/s, {seconds:g} s",
        ["credentials x rate", "sent", "admitted", "allowed", "writes/req", "p50 µs", "p99 ms"],
        rows,
    )
    print(f"\nIn-process limiter: {await local_cost(200_000):.1f} µs per request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(main(parser.parse_args().seconds))
