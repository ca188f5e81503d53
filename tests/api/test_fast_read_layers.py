"""The fast GET task (`api/fast_reads.py`) answers in front of the other middleware and applies
their rules itself: its answer carries the same headers, in the same order, as the route's
answer through every middleware (rate limit, CORS, security headers, request id), each request
takes one token of the rate limit, a throttled one gets the middleware's own 429 without a
read of the task, and the access log and the metrics name it as the route."""

import logging
from dataclasses import replace

import httpx
import pytest

from nuage.api.fast_reads import TASK_ROUTE
from nuage.config import Settings
from nuage.domain import observers
from tests.sql_counter import counting
from tests.support import Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio
CONSOLE = "https://console.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings, rate_limit_per_minute=10, rate_limit_burst=100, cors_allowed_origins=(CONSOLE,)
    )


async def _get(tenant: Tenant, task_id: str, request_id: str, **kw: object) -> httpx.Response:
    headers = {**tenant.headers, "Origin": CONSOLE, "X-Request-Id": request_id}
    return await tenant.client.get(
        f"{tenant.base}/tasks/{task_id}",
        headers=headers,
        **kw,  # type: ignore[arg-type]
    )


async def _fast_get(tenant: Tenant, task_id: str, request_id: str) -> httpx.Response:
    """A GET the fast read answered: its one statement, besides the rate limit's own."""
    with counting() as counted:
        response = await _get(tenant, task_id, request_id)
    read = [s for s in counted.statements if "rate_limits" not in s]
    assert len(read) == 1, counted.statements
    return response


def _names(response: httpx.Response) -> list[bytes]:
    return [name for name, _ in response.headers.raw]


async def test_the_fast_answer_has_the_routes_headers_in_their_order(
    stack: Stack, tenants: TenantFactory, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.get(f"/tasks/{task_id}")  # records `last_used`: the fast read is in use
    seen: list[observers.Fact] = []
    observers.subscribe(seen.append)
    caplog.set_level(logging.INFO, logger="nuage.access")
    try:
        fast = await _fast_get(tenant, task_id, "fast-1")
        full = await _get(tenant, task_id, "full-1", params={"wait": 0})  # the route itself
    finally:
        observers.unsubscribe(seen.append)

    assert fast.status_code == full.status_code == 200
    assert fast.content == full.content
    assert _names(fast) == _names(full)
    varying = {b"x-request-id", b"ratelimit-remaining", b"ratelimit-reset", b"content-length"}
    assert [h for h in fast.headers.raw if h[0] not in varying] == [
        h for h in full.headers.raw if h[0] not in varying
    ]
    assert fast.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert fast.headers["X-Request-Id"] == "fast-1"
    assert fast.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert int(fast.headers["RateLimit-Remaining"]) > int(full.headers["RateLimit-Remaining"])
    finished = [f for f in seen if isinstance(f, observers.RequestFinished)]
    assert [(f.method, f.route, f.status, f.request_id) for f in finished] == [
        ("GET", TASK_ROUTE, 200, "fast-1"),
        ("GET", TASK_ROUTE, 200, "full-1"),
    ]
    lines = [
        (r.route, r.status, r.request_id)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "nuage.access"
    ]
    assert lines == [(TASK_ROUTE, 200, "fast-1"), (TASK_ROUTE, 200, "full-1")]


async def test_a_fast_read_takes_one_token_and_a_throttled_one_gets_the_429(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    first = await tenant.get(f"/tasks/{task_id}")  # records `last_used`: the full path
    left = int(first.headers["RateLimit-Remaining"])
    assert left >= 2

    answers = [await _get(tenant, task_id, f"r{n}") for n in range(left)]
    with counting() as counted:  # the throttled: refused before the task is read
        answers += [await _get(tenant, task_id, f"r{n}") for n in range(left, left + 2)]
    assert [s for s in counted.statements if "rate_limits" not in s] == []

    assert [a.status_code for a in answers] == [200] * left + [429] * 2
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in answers]
    assert remaining == sorted(remaining, reverse=True) and remaining[left - 1 :] == [0, 0, 0]
    refused = answers[-1]
    assert refused.json()["code"] == "throttled"
    assert refused.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert refused.headers["X-Request-Id"] == f"r{left + 1}"
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert "Retry-After" in refused.headers
