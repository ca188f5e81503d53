"""The audit log: every mutating request recorded for the organization's owners, refusals
included, secrets never; filters and the DRF envelope; retention."""

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from nuage.config import Settings
from nuage.db.models import AuditRecord
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.enums import Role
from nuage.engine.worker import WorkerSettings
from nuage.services import security
from tests.support import Stack, Tenant, TenantFactory, create_body, poll, start_worker

pytestmark = pytest.mark.anyio
# A literal public address: saved without a DNS lookup, never reached (no sender runs here).
WEBHOOK = {"url": "https://93.184.215.14/hooks", "event_types": ["task.completed"]}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def log_url(tenant: Tenant) -> str:
    return f"/v1/organizations/{tenant.organization_id}/audit-log"


async def read_log(stack: Stack, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await stack.client.get(log_url(tenant), params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_a_change_and_a_refusal_are_recorded_for_the_owner(
    stack: Stack, tenants: TenantFactory
) -> None:
    owner = await tenants()
    viewer = await tenants.member(owner, Role.VIEWER)
    made = await owner.post(
        "/instances", json=create_body(name="audited"), headers={"X-Request-Id": "req-made-1"}
    )
    assert made.status_code == 201, made.text
    refused = await stack.client.post(
        f"{owner.base}/instances", json=create_body(), headers=viewer.headers
    )
    assert refused.status_code == 403

    page = await read_log(stack, owner)
    assert set(page) == {"count", "next", "previous", "results"} and page["count"] == 2
    denied, created = page["results"]  # newest first
    assert created == {
        **created,
        "actor_id": str(owner.user_id),
        "credential_kind": "api_key",
        "request_id": "req-made-1",
        "method": "POST",
        "route": "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances",
        "target_ids": {
            "organization_id": str(owner.organization_id),
            "project_id": str(owner.project_id),
        },
        "status_code": 201,
        "outcome": "succeeded",
    }
    assert created["credential_id"] and created["source_address"]
    assert (denied["actor_id"], denied["status_code"], denied["outcome"]) == (
        str(viewer.user_id),
        403,
        "refused",
    )


async def test_filters_pages_and_who_may_read(stack: Stack, tenants: TenantFactory) -> None:
    owner = await tenants()
    editor = await tenants.member(owner, Role.EDITOR)
    for n in range(3):
        await owner.create_instance(name=f"vm-{n}")
    await stack.client.post(
        f"/v1/organizations/{owner.organization_id}/projects",
        json={"name": "by-editor"},
        headers=editor.headers,
    )
    assert (await read_log(stack, owner))["count"] == 4
    mine = await read_log(stack, owner, actor_id=str(owner.user_id), page_size=2)
    assert mine["count"] == 3 and len(mine["results"]) == 2 and mine["next"]
    theirs = await read_log(stack, owner, actor_id=str(editor.user_id))
    assert [r["route"] for r in theirs["results"]] == [
        "/v1/organizations/{organization_id}/projects"
    ]
    assert (await read_log(stack, owner, outcome="refused"))["count"] == 0
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert (await read_log(stack, owner, created_after=future))["count"] == 0

    as_editor = await stack.client.get(log_url(owner), headers=editor.headers)
    assert (as_editor.status_code, as_editor.json()["code"]) == (403, "permission_denied")
    stranger = await tenants()
    as_stranger = await stack.client.get(log_url(owner), headers=stranger.headers)
    assert as_stranger.status_code == 404
    bad = await stack.client.get(log_url(owner), params={"outcome": "nope"}, headers=owner.headers)
    assert bad.status_code == 400 and "outcome" in bad.json()


async def test_a_stranger_cannot_write_into_another_organizations_log(
    stack: Stack, tenants: TenantFactory
) -> None:
    owner, stranger = await tenants(), await tenants()
    attempt = await stack.client.post(
        f"{owner.base}/instances", json=create_body(), headers=stranger.headers
    )
    assert attempt.status_code == 404
    assert (await read_log(stack, owner))["count"] == 0
    async with stack.runtime.sessions() as session:
        kept = (await session.scalars(sa.select(AuditRecord))).all()
    assert [(r.actor_id, r.organization_id, r.outcome) for r in kept] == [
        (stranger.user_id, None, "refused")
    ]


async def test_a_replay_is_recorded_once_as_a_change(stack: Stack, tenants: TenantFactory) -> None:
    owner = await tenants()
    key = {"Idempotency-Key": "audit-replay"}
    for _ in range(2):
        response = await owner.post("/instances", json=create_body(name="once"), headers=key)
        assert response.status_code == 201
    outcomes = [r["outcome"] for r in (await read_log(stack, owner))["results"]]
    assert outcomes == ["replayed", "succeeded"]


async def test_secrets_never_reach_the_log(stack: Stack, tenants: TenantFactory) -> None:
    owner = await tenants()
    hook = await owner.post("/webhooks", json=WEBHOOK)
    assert hook.status_code == 201, hook.text
    key = await stack.client.post(
        "/v1/api-keys",
        json={"name": "k", "project_id": str(owner.project_id)},
        headers=owner.headers,
    )
    assert key.status_code == 201, key.text
    secrets = [hook.json()["secret"], key.json()["key"], owner.key]
    async with stack.runtime.sessions() as session:
        rows = repr((await session.execute(sa.select(AuditRecord.__table__))).all())
    assert (
        len((await read_log(stack, owner))["results"]) == 1
    )  # the key is the user's, not the org's
    assert all(secret not in rows for secret in secrets)


async def test_a_worker_prunes_rows_past_the_retention(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    assert WorkerSettings().audit_retention_days == 0  # a worker alone keeps everything
    owner = await tenants()
    await owner.create_instance()
    await owner.create_instance()
    async with transaction(stack.runtime.sessions) as session:
        oldest = await session.scalar(sa.select(sa.func.min(AuditRecord.id)))
        row = await session.get_one(AuditRecord, oldest)
        row.created = utcnow() - timedelta(days=settings.audit_retention_days + 35)
    start_worker(stack, settings, audit_retention_days=settings.audit_retention_days)

    async def pruned() -> bool:
        return bool((await read_log(stack, owner))["count"] == 1)

    await poll(pruned, within=10, every=0.2)
