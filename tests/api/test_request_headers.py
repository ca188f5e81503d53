"""What every answer says besides its body: security headers, CORS for configured origins,
the request id, and one JSON access-log line per request."""

import json
import logging
from dataclasses import replace
from uuid import uuid4

import httpx
import pytest

from nuage.api.app import create_app
from nuage.config import Settings
from nuage.domain.observers import (
    Fact,
    RequestFinished,
    TaskTransition,
    publish,
    subscribe,
    unsubscribe,
)
from nuage.logs import JsonFormatter, log_task_transition
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio
CONSOLE = "https://console.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, cors_allowed_origins=(CONSOLE,))


async def test_answers_carry_the_security_headers(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    api = await tenant.get("/instances")
    docs = await stack.client.get("/docs")

    for answer in (api, docs):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "script-src 'self'" in docs.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in api.headers  # plain http


async def test_hsts_over_https(stack: Stack) -> None:
    transport = httpx.ASGITransport(app=create_app(stack.runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example") as client:
        answer = await client.get("/healthz")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


async def test_cors_preflight_and_exposed_headers_for_allowed_origins_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    preflight = await stack.client.options(
        tenant.base + "/instances",
        headers={
            "Origin": CONSOLE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-request-id",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "X-Request-Id" in preflight.headers["Access-Control-Allow-Headers"]

    def get(origin: str) -> object:
        headers = {**tenant.headers, "Origin": origin}
        return stack.client.get(tenant.base + "/instances", headers=headers)

    answer = await get(CONSOLE)  # type: ignore[misc]
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert {"X-Request-Id", "RateLimit-Remaining", "Retry-After"} <= set(exposed.split(", "))

    foreign = await get("https://evil.example")  # type: ignore[misc]
    assert "Access-Control-Allow-Origin" not in foreign.headers


async def test_the_request_id_is_echoed_or_made(stack: Stack) -> None:
    given = await stack.client.get("/healthz", headers={"X-Request-Id": "req-42.a:b_c"})
    made = await stack.client.get("/healthz")
    for bad in ("x" * 129, "two words", "é".encode()):
        replaced = await stack.client.get("/healthz", headers={"X-Request-Id": bad})
        assert len(replaced.headers["X-Request-Id"]) == 32, bad

    assert given.headers["X-Request-Id"] == "req-42.a:b_c"
    assert len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Request-Id"] != replaced.headers["X-Request-Id"]


async def test_one_json_log_line_per_request_without_secrets(
    stack: Stack, tenants: TenantFactory, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await tenants()
    caplog.set_level(logging.INFO, logger="nuage.access")
    await stack.client.get(
        tenant.base + "/instances/00000000-0000-0000-0000-000000000000",
        headers={**tenant.headers, "X-Request-Id": "r1"},
    )
    await stack.client.post("/v1/auth/login", json={"email": tenant.email, "password": "nope"})

    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "nuage.access"
    ]

    assert len(lines) == 2
    first, second = lines
    assert first["route"] == (
        "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances/{instance_id}"
    )
    assert (first["method"], first["status"], first["request_id"]) == ("GET", 404, "r1")
    assert first["credential_id"].startswith("key:") and first["duration_ms"] >= 0
    assert (second["route"], second["status"], second["credential_id"]) == (
        "/v1/auth/login",
        401,
        None,
    )
    text = caplog.text + json.dumps(lines)
    assert tenant.key not in text and tenant.password not in text and "nope" not in text


async def test_the_document_is_served_at_schema_too(stack: Stack) -> None:
    schema = await stack.client.get("/schema")
    openapi = await stack.client.get("/openapi.json")
    assert schema.status_code == 200
    assert schema.json() == openapi.json()
    assert "429" in schema.json()["paths"]["/v1/auth/login"]["post"]["responses"]


async def test_requests_and_task_transitions_are_published_and_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Fact] = []
    subscribe(seen.append)
    subscribe(log_task_transition)  # as `nuage serve` and `nuage worker` do (logs.configure)
    caplog.set_level(logging.INFO, logger="nuage.tasks")
    try:
        await stack.client.get("/healthz", headers={"X-Request-Id": "r2"})
        task_id = uuid4()
        publish(TaskTransition(task_id, "reboot_vps", "running", "pending", reason="retry"))
    finally:
        unsubscribe(seen.append)
        unsubscribe(log_task_transition)

    finished = [f for f in seen if isinstance(f, RequestFinished)]
    assert [(f.method, f.route, f.status, f.request_id) for f in finished] == [
        ("GET", "/healthz", 200, "r2")
    ]
    [line] = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    assert line["logger"] == "nuage.tasks"
    assert (line["task_id"], line["task_type"], line["from"], line["to"], line["reason"]) == (
        str(task_id),
        "reboot_vps",
        "running",
        "pending",
        "retry",
    )
