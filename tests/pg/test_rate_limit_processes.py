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

from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PER_MINUTE = 240  # 4 a second once the first 240 are spent
RATE = PER_MINUTE / 60
WINDOW = (8.0, 18.0)  # seconds after the start: the bucket is empty by then
QUOTA = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def fleet(require_private_cluster: None, tmp_path: Path) -> Iterator[Fleet]:
    cluster = PrivateCluster()
    cluster.start()
    # The burst band out of the way: this test is about the per-minute rate.
    fleet = Fleet(
        cluster.url,
        tmp_path / "var",
        NUAGE_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
        NUAGE_RATE_LIMIT_BURST="100000",
    )
    try:
        yield fleet
    finally:
        fleet.stop()
        cluster.destroy()


async def hammer(urls: list[str], key: str, seconds: float) -> list[tuple[float, httpx.Response]]:
    answers: list[tuple[float, httpx.Response]] = []
    targets = itertools.cycle(urls)
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}

    async def client_loop(client: httpx.AsyncClient) -> None:
        while (now := time.monotonic() - start) < seconds:
            response = await client.get(f"{next(targets)}/v1/organizations", headers=headers)
            answers.append((now, response))

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(16)))
    return answers


def test_one_credential_is_held_to_its_rate_across_four_processes(fleet: Fleet) -> None:
    creds = fleet.bootstrap()
    urls = fleet.start_apis(4)

    answers = asyncio.run(hammer(urls, creds["api_key"], WINDOW[1]))

    admitted = [t for t, r in answers if r.status_code == 200]
    refused = [r for _, r in answers if r.status_code == 429]
    assert {r.status_code for _, r in answers} == {200, 429}
    in_window = sum(WINDOW[0] <= t < WINDOW[1] for t in admitted)
    expected = RATE * (WINDOW[1] - WINDOW[0])
    print(f"\nadmitted {len(admitted)}, refused {len(refused)}, in the window {in_window}")
    assert abs(in_window - expected) <= 0.1 * expected, (in_window, expected)
    # Never more than the bucket gave: its capacity and what it refilled.
    assert len(admitted) <= PER_MINUTE + RATE * WINDOW[1] + 4
    for response in refused:
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
        ("/v1/organizations", 200),
        (None, 429),  # refused before routing
    }
    assert all(len(a["request_id"]) == 32 for a in access)
    assert creds["api_key"] not in "".join(map(str, lines))
