"""Every secret a scripted run creates is looked for in the logs and the database of that run:
passwords, access and refresh tokens, API keys, project tokens, the signing key. Only a
webhook's signing secret may be stored (its sender needs it in the clear), and only in its row."""

import logging
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from nuage.config import Settings
from nuage.db.models import Base
from nuage.services import security
from tests.support import Stack, TenantFactory, create_body

pytestmark = pytest.mark.anyio
WEBHOOK = {"url": "https://93.184.215.14/hooks", "event_types": ["task.completed"]}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def database_text(stack: Stack) -> dict[str, str]:
    """Every table's rows, as text."""
    found = {}
    async with stack.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(sa.select(table))).all()
            found[table.name] = repr(rows)
    return found


async def test_no_secret_of_a_run_is_in_its_logs_or_database(
    stack: Stack, tenants: TenantFactory, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # nuage's own loggers at DEBUG, the libraries at INFO: aiosqlite's DEBUG lines carry every
    # statement's parameters (a webhook's secret among them), so they must stay off in production.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="nuage")
    client = stack.client
    tenant = await tenants()
    first = ok(
        await client.post(
            "/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
        )
    )
    second = ok(await client.post("/v1/auth/refresh", json={"refresh": first["refresh"]}))
    reused = await client.post("/v1/auth/refresh", json={"refresh": first["refresh"]})
    assert reused.status_code == 401
    access = {"Authorization": f"Bearer {second['access']}"}
    key = ok(await client.post("/v1/api-keys", json={"name": "k"}, headers=access), 201)
    token = ok(
        await client.post(
            "/v1/api-keys",
            json={"name": "t", "project_id": str(tenant.project_id)},
            headers=tenant.headers,
        ),
        201,
    )
    as_token = {"Authorization": f"Bearer {token['key']}"}
    ok(await client.post(f"{tenant.base}/instances", json=create_body(), headers=as_token), 201)
    hook = ok(await client.post(f"{tenant.base}/webhooks", json=WEBHOOK, headers=as_token), 201)
    ok(await client.delete(f"/v1/api-keys/{key['id']}", headers=tenant.headers), 204)
    refused = await client.get(
        f"{tenant.base}/instances", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert refused.status_code == 401
    bad_login = {"email": tenant.email, "password": tenant.password + "x"}
    assert (await client.post("/v1/auth/login", json=bad_login)).status_code == 401

    secrets = {
        "password": tenant.password,
        "bootstrap key": tenant.key,
        "first access token": first["access"],
        "first refresh token": first["refresh"],
        "second access token": second["access"],
        "second refresh token": second["refresh"],
        "API key": key["key"],
        "project token": token["key"],
        "signing key": settings.secret_key,
    }
    logs = caplog.text
    tables = await database_text(stack)
    assert len(logs) > 0 and tables["audit_log"] != "[]"  # the run did leave traces to search
    leaks = [f"{what} in the logs" for what, secret in secrets.items() if secret in logs]
    leaks += [
        f"{what} in table {table}"
        for what, secret in secrets.items()
        for table, text in tables.items()
        if secret in text
    ]
    if hook["secret"] in logs:
        lines = [
            r.name + ": " + r.getMessage()[:300]
            for r in caplog.records
            if hook["secret"] in r.getMessage()
        ]
        leaks.append(f"webhook secret in the logs: {lines}")
    leaks += [
        f"webhook secret in table {t}"
        for t, text in tables.items()
        if hook["secret"] in text and t != "webhooks"
    ]
    assert leaks == []
