"""The one-statement `GET …/tasks/{id}` (`api/fast_reads.py`): the same bytes as the full route,
every refusal still the full route's, and nothing cached: a revoked key, a removed membership or
an inactive user is refused on the very next request."""

import asyncio
import dataclasses
import logging
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from nuage.db.models import ApiKey, Membership, Project, User
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.enums import Role
from tests.sql_counter import counting
from tests.support import Stack, Tenant, TenantFactory, create_body

pytestmark = pytest.mark.anyio


async def _fast_get(stack: Stack, tenant: Tenant, task_id: str) -> httpx.Response:
    """A GET that the fast read answered: one statement, no write."""
    with counting() as counted:
        response = await tenant.get(f"/tasks/{task_id}")
    assert len(counted.statements) == 1, counted.statements
    return response


async def test_fast_read_answers_the_routes_bytes(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    viewer = await tenants.member(tenant, Role.VIEWER)
    _, task_id = await tenant.create_instance()
    for caller in (tenant, viewer):  # the creator, and a member who sees the redacted result
        first = await caller.get(f"/tasks/{task_id}")  # records `last_used`: the full path
        fast = await _fast_get(stack, caller, task_id)
        full = await caller.get(f"/tasks/{task_id}", params={"wait": 0})  # the route itself
        assert fast.status_code == full.status_code == first.status_code == 200
        assert fast.content == full.content == first.content
        assert fast.headers["content-type"] == full.headers["content-type"] == "application/json"
        assert fast.json()["id"] == task_id


async def test_another_tenants_task_is_the_same_404_as_a_missing_one(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant, other = await tenants(), await tenants()
    _, mine = await tenant.create_instance()
    _, theirs = await other.create_instance()
    await tenant.get(f"/tasks/{mine}")
    await _fast_get(stack, tenant, mine)  # the fast read is in use for this key
    foreign = await tenant.get(f"/tasks/{theirs}")
    missing = await tenant.get(f"/tasks/{uuid4()}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    unique = {b"x-request-id"}  # each request's own
    assert [h for h in foreign.headers.raw if h[0] not in unique] == [
        h for h in missing.headers.raw if h[0] not in unique
    ]


async def test_revoking_a_key_refuses_the_next_request(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.get(f"/tasks/{task_id}")
    await _fast_get(stack, tenant, task_id)
    async with transaction(stack.runtime.sessions) as session:
        key_id = await session.scalar(sa.select(ApiKey.id).where(ApiKey.user_id == tenant.user_id))
    revoked = await stack.client.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)
    assert revoked.status_code == 204
    refused = await tenant.get(f"/tasks/{task_id}")
    assert refused.status_code == 401
    assert refused.json()["code"] == "api_key_revoked"


async def test_a_removed_member_and_an_inactive_user_are_refused_at_once(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    member = await tenants.member(tenant, Role.VIEWER)
    _, task_id = await tenant.create_instance()
    for caller in (tenant, member):
        await caller.get(f"/tasks/{task_id}")
        await _fast_get(stack, caller, task_id)
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(sa.delete(Membership).where(Membership.user_id == member.user_id))
        await session.execute(
            sa.update(User).where(User.id == tenant.user_id).values(is_active=False)
        )
    gone = await member.get(f"/tasks/{task_id}")
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    inactive = await tenant.get(f"/tasks/{task_id}")
    assert (inactive.status_code, inactive.json()["code"]) == (401, "user_inactive")


async def test_a_guest_outside_the_project_and_an_expired_key_are_refused(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    guest = await tenants.member(tenant, Role.GUEST)  # added to no project
    _, task_id = await tenant.create_instance()
    await guest.get(f"/tasks/{task_id}")
    hidden = await guest.get(f"/tasks/{task_id}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    await tenant.get(f"/tasks/{task_id}")
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(ApiKey)
            .where(ApiKey.user_id == tenant.user_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await tenant.get(f"/tasks/{task_id}")
    assert (expired.status_code, expired.json()["code"]) == (401, "api_key_expired")


async def test_last_used_is_written_at_most_once_a_minute(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    stale = utcnow() - timedelta(minutes=2)
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(ApiKey).where(ApiKey.user_id == tenant.user_id).values(last_used=stale)
        )
    with counting() as counted:
        assert (await tenant.get(f"/tasks/{task_id}")).status_code == 200
    assert any("UPDATE api_keys" in s for s in counted.writes), counted.statements
    for _ in range(3):  # then reads only, until the minute has passed
        with counting() as counted:
            assert (await tenant.get(f"/tasks/{task_id}")).status_code == 200
        assert counted.writes == []
    async with transaction(stack.runtime.sessions) as session:
        used = await session.scalar(
            sa.select(ApiKey.last_used).where(ApiKey.user_id == tenant.user_id)
        )
    assert used is not None and used > stale


async def test_a_project_token_reads_no_task_of_another_project(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    async with transaction(stack.runtime.sessions) as session:
        project = Project(organization_id=tenant.organization_id, name="other")
        session.add(project)
        await session.flush()
        other = project.id
    elsewhere = tenant.base.replace(str(tenant.project_id), str(other))
    made = await stack.client.post(
        f"{elsewhere}/instances", json=create_body(), headers=tenant.headers
    )
    assert made.status_code == 201, made.text
    theirs = made.headers["Location"].rsplit("/", 1)[1]
    _, mine = await tenant.create_instance()
    created = await stack.client.post(
        "/v1/api-keys",
        json={"name": "project", "project_id": str(tenant.project_id)},
        headers=tenant.headers,
    )
    token = dataclasses.replace(tenant, key=created.json()["key"])
    await token.get(f"/tasks/{mine}")  # records `last_used`: the fast read is in use for it
    await _fast_get(stack, token, mine)
    foreign = await stack.client.get(f"{elsewhere}/tasks/{theirs}", headers=token.headers)
    assert foreign.status_code == 404, foreign.text


async def test_bursts_of_reads_reuse_the_readers_connections(
    stack: Stack, tenants: TenantFactory
) -> None:
    """More concurrent reads than the reader's pool holds wait for a connection; none is opened
    for a burst and closed after it (that churn was the read's tail latency). On SQLite the
    reads run in the event loop's thread on the reader's one plain connection
    (`db.session.first_row_raw`): a burst opens no pooled connection at all."""
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.get(f"/tasks/{task_id}")  # records `last_used`: later reads are fast reads
    reader = stack.runtime.reader
    assert reader is not None
    opened: list[object] = []

    def on_connect(connection: object, _record: object) -> None:
        opened.append(connection)

    sa.event.listen(reader.sync_engine, "connect", on_connect)
    try:
        for burst in range(3):
            answers = await asyncio.gather(*(tenant.get(f"/tasks/{task_id}") for _ in range(24)))
            assert {a.status_code for a in answers} == {200}
            if burst == 0:
                first_burst = len(opened)
        if reader.dialect.name == "sqlite":
            assert first_burst == len(opened) == 0
        else:
            assert 1 < first_burst == len(opened) <= reader.pool.size()  # type: ignore[attr-defined]
    finally:
        sa.event.remove(reader.sync_engine, "connect", on_connect)


async def test_a_reader_connection_the_database_dropped_is_not_used_again(
    stack: Stack, tenants: TenantFactory
) -> None:
    """The fast read on PostgreSQL sends its statement on the driver's cursor: a connection that
    fails it is discarded, that request takes the route, and the next one is a fast read again
    on a new connection (a dead connection given back to the pool would fail it too)."""
    if stack.runtime.settings.database_url.startswith("sqlite"):
        pytest.skip("a server that drops connections: PostgreSQL's")
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.get(f"/tasks/{task_id}")  # records `last_used`: later reads are fast reads
    await _fast_get(stack, tenant, task_id)  # the reader's pool now holds one connection
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    answered = await tenant.get(f"/tasks/{task_id}")  # the fast read fails: the route answers
    assert answered.status_code == 200, answered.text
    again = await _fast_get(stack, tenant, task_id)
    assert again.status_code == 200 and again.content == answered.content


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a defect of the fast read")


async def _broken_read(*args: object, **kwargs: object) -> None:
    _broken()


class _BrokenTaskOut:
    of_view = staticmethod(_broken)


@pytest.mark.parametrize(
    ("part", "broken"),
    [
        ("read_task_with_key", _broken_read),
        ("TaskOut", _BrokenTaskOut),
        ("with_security_headers", _broken),
    ],
)
async def test_a_fast_read_that_fails_is_answered_by_the_route(
    stack: Stack,
    tenants: TenantFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    part: str,
    broken: object,
) -> None:
    """The fast read sits outside the error middleware: what it cannot read, render or make the
    headers of, the route answers, as it answers any GET of the task, with one access line."""
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    first = await tenant.get(f"/tasks/{task_id}")
    await _fast_get(stack, tenant, task_id)

    monkeypatch.setattr(f"nuage.api.fast_reads.{part}", broken)
    caplog.set_level(logging.INFO, logger="nuage.access")
    caplog.clear()
    answered = await tenant.get(f"/tasks/{task_id}")
    assert (answered.status_code, answered.content) == (200, first.content)
    assert answered.headers["X-Content-Type-Options"] == "nosniff"
    assert [r.name for r in caplog.records if r.name == "nuage.access"] == ["nuage.access"]
    assert "a defect of the fast read" in caplog.text  # logged, not hidden
