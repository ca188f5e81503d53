"""One credential's rate limit holds across four API processes on PostgreSQL: a client that
hammers all four at once is admitted at the limit's rate (within 10%), and every refusal says
when to come back."""

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.pg.fleet import Fleet, fleet_client

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PER_MINUTE = 240  # the bucket holds 240 and refills 4 a second
RATE = PER_MINUTE / 60
SECONDS = 18.0
QUOTA = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def fleet(pg_template: str, tmp_path: Path) -> Iterator[Fleet]:
    """API processes on a clone of the suite's migrated database (no cluster of its own: nothing
    here stops PostgreSQL)."""
    name = asyncio.run(databases.clone(pg_template))
    # The burst band out of the way: this test is about the per-minute rate.
    fleet = Fleet(
        databases.database_url(name),
        tmp_path / "var",
        NUAGE_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
        NUAGE_RATE_LIMIT_BURST="100000",
    )
    try:
        yield fleet
    finally:
        fleet.stop()
        databases.drop_sync(name)


async def hammer(urls: list[str], key: str, seconds: float) -> list[tuple[float, httpx.Response]]:
    answers: list[tuple[float, httpx.Response]] = []
    targets = itertools.cycle(urls)
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}

    async def client_loop(client: httpx.AsyncClient) -> None:
        while (now := time.monotonic() - start) < seconds:
            # Any route counts for the credential; the health check costs the servers least.
            response = await client.get(f"{next(targets)}/healthz", headers=headers)
            answers.append((now, response))

    async with fleet_client(timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(16)))
    return answers


def test_one_credential_is_held_to_its_rate_across_four_processes(fleet: Fleet) -> None:
    creds = json.loads(
        fleet.run("bootstrap", "--email", "limits@example.com", "--password", "limits-pass")
    )
    urls = fleet.start_apis(4)

    answers = asyncio.run(hammer(urls, creds["api_key"], SECONDS))

    admitted = [t for t, r in answers if r.status_code == 200]
    refused = [t for t, r in answers if r.status_code == 429]
    assert {r.status_code for _, r in answers} == {200, 429}
    first_refusal = min(refused)
    # Once the bucket is empty the client keeps asking faster than it refills; then a token
    # bucket admits its capacity plus its rate times the duration, whenever it emptied.
    assert len([t for t in refused if t > first_refusal + 1]) > RATE * (SECONDS - first_refusal)
    refilled = len(admitted) - PER_MINUTE
    print(f"\nadmitted {len(admitted)} ({refilled} beyond the capacity), refused {len(refused)}")
    assert abs(refilled - RATE * SECONDS) <= 0.1 * RATE * SECONDS, (refilled, RATE * SECONDS)
    for response in (r for _, r in answers if r.status_code == 429):
        assert all(name in response.headers for name in QUOTA), response.headers
        assert response.json()["code"] == "throttled"
        assert int(response.headers["RateLimit-Remaining"]) == 0
    # Every line the servers wrote is JSON; each request is one line with its route and status.
    lines = [
        json.loads(line)
        for log in fleet.logs.glob("api-*.log")
        for line in log.read_text().splitlines()
    ]
    access = [line for line in lines if line["logger"] == "nuage.access"]
    assert {(a["route"], a["status"]) for a in access} >= {
        ("/healthz", 200),
        ("unmatched", 429),  # refused before routing: no route template yet
    }
    assert all(len(a["request_id"]) == 32 for a in access)
    assert creds["api_key"] not in "".join(map(str, lines))
