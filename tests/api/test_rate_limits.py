"""Rate limits per credential and login attempts, in one API process (SQLite: the embedded mode's
in-process buckets; PostgreSQL: the shared buckets, spent in batches). Many processes:
tests/pg/test_rate_limit_processes.py."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.domain.rate_limits import Band, Policy
from nuage.services.rate_limits import MAX_KEYS, LocalLimiter
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio
QUOTA = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        rate_limit_per_minute=10,
        rate_limit_burst=100,
        auth_attempts_per_account=3,
        auth_attempts_per_address=5,
    )


def app_with(stack: Stack, **overrides: object) -> object:
    runtime = stack.runtime
    return create_app(
        Runtime(replace(runtime.settings, **overrides), runtime.sessions, runtime.notifier)
    )


@pytest.fixture
async def from_address(stack: Stack) -> AsyncIterator[object]:
    """Clients of one more app over the stack, each from its own source address."""
    app = app_with(stack)
    clients: list[httpx.AsyncClient] = []

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield client
    for c in clients:
        await c.aclose()


async def test_a_credential_beyond_its_quota_gets_429_with_the_headers(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()

    answers = [await tenant.get("/instances") for _ in range(12)]

    assert [a.status_code for a in answers] == [200] * 10 + [429] * 2
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in answers]
    assert remaining[0] == 9 and remaining[9:] == [0, 0, 0]
    assert remaining == sorted(remaining, reverse=True)
    refused = answers[-1]
    assert refused.json() == {
        "detail": f"Request was throttled. Expected available in "
        f"{refused.headers['Retry-After']} seconds.",
        "code": "throttled",
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 6  # one token every 6 s
    assert refused.headers["RateLimit-Limit"] == "10"
    assert 50 <= int(refused.headers["RateLimit-Reset"]) <= 60
    assert refused.headers["RateLimit-Policy"] == "10;w=60, 100;w=1"
    other = await tenants()  # another credential has a bucket of its own
    assert (await other.get("/instances")).status_code == 200


async def test_every_answer_carries_the_quota_headers(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    answers = [
        await tenant.get("/instances"),
        await tenant.get("/instances/not-an-id"),  # 404
        await stack.client.get("/v1/organizations"),  # 401, counted for the address
        await stack.client.post("/v1/auth/login", json={"email": "x@example.com"}),  # 400
    ]
    for answer in answers:
        assert all(name in answer.headers for name in QUOTA), (answer.status_code, answer.headers)


async def test_bursts_are_cut_per_second(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    app = app_with(stack, rate_limit_per_minute=1000, rate_limit_burst=5)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        began = time.monotonic()
        answers = await asyncio.gather(
            *(client.get(tenant.base + "/instances", headers=tenant.headers) for _ in range(20))
        )
        elapsed = time.monotonic() - began

    admitted = [a.status_code for a in answers].count(200)
    # 5 at once, and 5 more a second while they ran (a loaded machine takes a while).
    assert 5 <= admitted <= 5 + 5 * elapsed, (admitted, elapsed)
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Limit"] == "5"


async def test_login_is_limited_per_account_and_per_address(
    stack: Stack, tenants: TenantFactory, from_address: object
) -> None:
    victim, bystander = await tenants(), await tenants()
    x, y, z = (from_address(a) for a in ("192.0.2.1", "192.0.2.2", "192.0.2.3"))  # type: ignore[operator]

    def login(tenant_email: str, password: str) -> dict[str, str]:
        return {"email": tenant_email, "password": password}

    guesses = [await x.post("/v1/auth/login", json=login(victim.email, "wrong")) for _ in range(3)]
    assert [g.status_code for g in guesses] == [401, 401, 401]
    # The account is spent: even its password, even from elsewhere, waits.
    right = await x.post("/v1/auth/login", json=login(victim.email, victim.password))
    assert (right.status_code, right.json()["code"]) == (429, "throttled")
    assert 1 <= int(right.headers["Retry-After"]) <= 200  # one attempt per 600 s / 3
    elsewhere = await y.post("/v1/auth/login", json=login(victim.email, victim.password))
    assert elsewhere.status_code == 429
    # One address spraying accounts is cut at 5 attempts, and spends no account's attempts.
    sprayed = [
        await z.post("/v1/auth/login", json=login(f"nobody{i}@example.com", "guess"))
        for i in range(6)
    ]
    assert [s.status_code for s in sprayed] == [401] * 5 + [429]
    assert (
        await z.post("/v1/auth/login", json=login(bystander.email, "password-123"))
    ).status_code == 429
    ok = await y.post("/v1/auth/login", json=login(bystander.email, bystander.password))
    assert ok.status_code == 200, ok.text

    # Refresh tokens rotate: each refresh presents the one the last answer gave.
    refresh = ok.json()["refresh"]
    refreshed = []
    for i in range(4):
        client = from_address(f"198.51.100.{i}")  # type: ignore[operator]
        answer = await client.post("/v1/auth/refresh", json={"refresh": refresh})
        refreshed.append(answer)
        if answer.status_code == 200:
            refresh = answer.json()["refresh"]
    assert [r.status_code for r in refreshed] == [200, 200, 200, 429]


async def test_the_local_limiter_forgets_only_full_buckets() -> None:
    now = [0.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    logins = Policy.of(Band(1, 600.0))
    assert (await limiter.acquire("login:victim", logins)).admitted
    for n in range(MAX_KEYS + 1):  # an attacker floods the table with fresh keys
        await limiter.acquire(f"token:{n}", Policy.of(Band(1000, 60.0)))
    now[0] = 120.0  # the flood's buckets are full again; the login one is not

    assert not (await limiter.acquire("login:victim", logins)).admitted
