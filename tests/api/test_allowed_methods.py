"""Every path of the app tells the truth about its methods: `OPTIONS` answers 204 with `Allow`, a
405 lists every method of the path (RFC 9110), and a CORS preflight succeeds only for the origins
configured (none by default)."""

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier

pytestmark = pytest.mark.anyio

CONSOLE = "https://console.example.com"
PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def _settings(tmp_path: Path) -> Settings:
    """No database is reached: routing answers OPTIONS and 405 before any endpoint runs."""
    return Settings(
        data_dir=tmp_path,
        database_url="sqlite+aiosqlite://",
        secret_key="x" * 40,
        rate_limit_per_minute=0,  # the walk sends every method to every path at once
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Runtime(settings, async_sessionmaker(), LocalNotifier()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings(tmp_path)):
        yield client


@pytest.fixture
async def cors_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(replace(_settings(tmp_path), cors_allowed_origins=(CONSOLE,))):
        yield client


def _paths(client: httpx.AsyncClient) -> dict[str, set[str]]:
    """Each path of the app (its parameters filled in) with the methods its routes declare."""
    templates: dict[str, set[str]] = defaultdict(set)
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path and route.methods:
            templates[route.path] |= route.methods
    return {re.sub(r"\{[^}]+\}", str(uuid4()), path): m for path, m in templates.items()}


def _allow(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


async def test_options_answers_204_with_every_method_of_every_path(
    client: httpx.AsyncClient,
) -> None:
    paths = _paths(client)
    assert len(paths) > 20
    for path, methods in paths.items():
        response = await client.options(path)
        assert response.status_code == 204, (path, response.text)
        assert _allow(response) == methods | {"OPTIONS"}, path
        assert "access-control-allow-origin" not in response.headers


async def test_405_lists_every_method_of_every_path(client: httpx.AsyncClient) -> None:
    for path, methods in _paths(client).items():
        for method in set(PROBED) - methods:
            response = await client.request(method, path)
            assert response.status_code == 405, (method, path, response.text)
            assert _allow(response) == methods | {"OPTIONS"}, (method, path)


async def test_an_unknown_path_is_404_for_options_too(client: httpx.AsyncClient) -> None:
    assert (await client.options("/v1/nothing-here")).status_code == 404


async def test_no_origin_is_allowed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/api-keys",
        headers={"Origin": CONSOLE, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers
    health = await client.get("/healthz", headers={"Origin": CONSOLE})
    assert "access-control-allow-origin" not in health.headers


async def test_cors_preflight_from_an_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    path = f"/v1/organizations/{uuid4()}/projects/{uuid4()}/compute/instances"
    preflight = await cors_client.options(
        path,
        headers={
            "Origin": CONSOLE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == CONSOLE
    assert {"GET", "POST"} <= {
        m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")
    }
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed_headers
    assert "Origin" in preflight.headers["vary"]

    other = await cors_client.options(
        path, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert other.status_code == 204
    assert "access-control-allow-origin" not in other.headers

    health = await cors_client.get("/healthz", headers={"Origin": CONSOLE})
    assert health.headers["access-control-allow-origin"] == CONSOLE
    assert "Location" in health.headers["access-control-expose-headers"]
