"""`GET P/events`: the project's events as Server-Sent Events, served by a real uvicorn (the
ASGI test transport buffers whole answers) with a worker in the same event loop."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from nuage.config import Settings
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.enums import Role
from nuage.services import events
from tests.api.sse import Frame, stream
from tests.console_support import LiveApi, live_api
from tests.support import Stack, Tenant, TenantFactory, start_worker

pytestmark = pytest.mark.anyio
HEARTBEAT = 0.3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, events_heartbeat_seconds=HEARTBEAT)


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[LiveApi]:
    async with live_api(stack.runtime) as served:
        yield served


def url(api: LiveApi, tenant: Tenant) -> str:
    return api.base + tenant.base


async def all_events(stack: Stack, tenant: Tenant) -> list[events.EventRow]:
    async with transaction(stack.runtime.sessions) as session:
        return await events.events_after(
            session, after_id=0, limit=10_000, project_id=tenant.project_id
        )


def task_events(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.event is not None and f.event.startswith("task.")]


async def test_events_arrive_in_order_with_ids_and_the_objects_the_api_shows(
    stack: Stack, tenants: TenantFactory, settings: Settings, api: LiveApi
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    async with stream(url(api, tenant), "/events", tenant.key) as frames:
        assert frames.response.status_code == 200
        assert frames.response.headers["content-type"].startswith("text/event-stream")
        instance, task_id = await tenant.create_instance()
        seen = await frames.until("task.completed", task_id)
        seen += await frames.events(1)  # the instance's status, in the same transaction

    ids = [f.id for f in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for frame in seen:
        assert frame.data["id"] == frame.id and frame.data["type"] == frame.event
        assert frame.data["instance_id"] == instance["id"]
        assert frame.data["created"].endswith("Z")
    kinds = [f.event for f in task_events(seen)]
    assert kinds[:2] == ["task.created", "task.started"] and kinds[-1] == "task.completed"
    statuses = [f.data["data"]["status"] for f in seen if f.event == "instance.status_changed"]
    assert statuses == ["building", "running"]
    assert seen[-2].data["data"] == (await tenant.get(f"/tasks/{task_id}")).json()
    assert seen[-1].data["data"] == (await tenant.get(f"/instances/{instance['id']}")).json()
    step = next(f for f in seen if f.event == "task.step").data["data"]["step"]
    assert set(step) == {"id", "created", "attempt", "step", "message", "level", "progress"}
    # What the stream sent is what the outbox holds, no more and no less.
    assert ids == [row.id for row in await all_events(stack, tenant)]


async def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_events(
    stack: Stack, tenants: TenantFactory, settings: Settings, api: LiveApi
) -> None:
    tenant = await tenants()
    start_worker(stack, settings, latency_ms=100)
    async with stream(url(api, tenant), "/events", tenant.key) as frames:
        _instance, task_id = await tenant.create_instance()
        first = await frames.until("task.started", task_id)
    last_seen = first[-1].id
    assert (await tenant.wait(task_id))["status"] == "completed"
    missed = [row.id for row in await all_events(stack, tenant) if row.id > last_seen]
    assert missed, "the task went on while the client was away"

    async with stream(url(api, tenant), "/events", tenant.key, last_id=last_seen) as frames:
        again = await frames.events(len(missed))
        assert [f.id for f in again] == missed
        assert (await frames.next()).comment == "ping"  # and nothing more
    # The query parameter does the same for clients that cannot set headers.
    params = {"last_event_id": missed[-2]}
    async with stream(url(api, tenant), "/events", tenant.key, params=params) as frames:
        assert [f.id for f in await frames.events(1)] == missed[-1:]


async def test_filters_by_instance_and_type(
    stack: Stack, tenants: TenantFactory, settings: Settings, api: LiveApi
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    one, _ = await tenant.create_instance()
    params = {"instance_id": one["id"], "types": "task.completed,instance.status_changed"}
    async with stream(url(api, tenant), "/events", tenant.key, params=params, last_id=0) as frames:
        _two, other_task = await tenant.create_instance()
        await tenant.wait(other_task)
        seen = await frames.events(3)
        kinds = ["instance.status_changed", "task.completed", "instance.status_changed"]
        assert [f.event for f in seen] == kinds
        assert [f.data["data"]["status"] for f in seen] == ["building", "completed", "running"]
        assert all(f.data["instance_id"] == one["id"] for f in seen)
        assert (await frames.next()).comment == "ping"
    bad = await tenant.get("/events", params={"types": "task.exploded"})
    assert bad.status_code == 400 and "types" in bad.json()
    headers = {**tenant.headers, "Last-Event-ID": "yesterday"}
    bad = await tenant.client.get(tenant.base + "/events", headers=headers)
    assert bad.status_code == 400 and "Last-Event-ID" in bad.json()


async def test_another_projects_events_never_reach_a_stream(
    stack: Stack, tenants: TenantFactory, settings: Settings, api: LiveApi
) -> None:
    mine, theirs = await tenants(), await tenants()
    viewer = await tenants.member(mine, Role.VIEWER)
    start_worker(stack, settings)
    async with (
        stream(url(api, theirs), "/events", theirs.key, last_id=0) as their_frames,
        stream(url(api, viewer), "/events", viewer.key, last_id=0) as viewer_frames,
    ):
        _instance, task_id = await mine.create_instance()
        await mine.wait(task_id)
        seen = await viewer_frames.until("task.completed", task_id)  # a viewer may read
        assert seen
        for _ in range(3):
            assert (await their_frames.next()).comment == "ping"
    # Another tenant's project is a 404, as everywhere.
    foreign = await theirs.client.get(mine.base + "/events", headers=theirs.headers)
    assert foreign.status_code == 404


async def test_a_revoked_keys_open_stream_is_closed_within_seconds(
    stack: Stack, tenants: TenantFactory, api: LiveApi
) -> None:
    tenant = await tenants()
    keys = (await tenant.client.get("/v1/api-keys", headers=tenant.headers)).json()
    key_id = keys["results"][0]["id"]
    async with stream(url(api, tenant), "/events", tenant.key) as frames:
        assert (await frames.next()).comment == "ping"
        revoked = await tenant.client.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)
        assert revoked.status_code == 204
        began = utcnow()
        closing: list[Frame] = []
        with pytest.raises(EOFError):
            while True:
                frame = await frames.next(timeout=10)
                if frame.comment is None:
                    closing.append(frame)
        assert utcnow() - began < timedelta(seconds=5)
    assert [f.event for f in closing] == ["error"]
    assert closing[0].data["code"] == "api_key_revoked"


async def test_a_pruned_id_gets_a_resync_then_the_oldest_kept_events(
    stack: Stack, tenants: TenantFactory, settings: Settings, api: LiveApi
) -> None:
    tenant = await tenants()
    _instance, task_id = await tenant.create_instance()
    assert (await tenant.post(f"/tasks/{task_id}/cancel")).status_code == 200
    async with transaction(stack.runtime.sessions) as session:
        assert await events.prune(session, now=utcnow(), retention=timedelta(0)) == 3
    await tenant.create_instance()
    kept = [row.id for row in await all_events(stack, tenant)]
    async with stream(url(api, tenant), "/events", tenant.key, last_id=1) as frames:
        resync = await frames.next()
        assert resync.event == "resync" and resync.id is None
        assert resync.data["oldest_id"] == kept[0] and resync.data["reason"]
        assert [f.id for f in await frames.events(len(kept))] == kept
        assert (await frames.next()).comment == "ping"


async def test_an_idle_stream_sends_heartbeats_and_holds_no_connection(
    stack: Stack, tenants: TenantFactory, api: LiveApi
) -> None:
    tenant = await tenants()
    engine = stack.runtime.sessions.kw["bind"]
    async with stream(url(api, tenant), "/events", tenant.key) as frames:
        for _ in range(3):
            assert (await frames.next(timeout=HEARTBEAT * 5)).comment == "ping"
            assert engine.sync_engine.pool.checkedout() == 0
