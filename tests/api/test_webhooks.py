"""Webhooks over HTTP, delivered by the real worker's sender to receivers on 127.0.0.1: signed
pings, retries with backoff and their log, redelivery, rotation, a hanging endpoint that slows
neither tasks nor other endpoints, URL refusals (and the operator's leave for private ones),
bad input, idempotency."""

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import WebhookCursor, WebhookDelivery
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.retry import BackoffPolicy
from nuage.domain.webhook_signatures import SignatureError, verify
from nuage.domain.webhooks import DeliveryPolicy
from nuage.engine import webhook_queries
from nuage.engine.webhook_sender import SenderSettings
from nuage.services import events, webhook_dispatch
from tests.sql_counter import counting
from tests.support import Stack, Tenant, TenantFactory, poll, start_worker
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio

EVENTS = ["task.completed", "task.failed"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API may save webhooks to 127.0.0.1 (the receivers of these tests)."""
    return replace(settings, webhooks_allow_private=True)


def sender(
    *, attempts: int = 3, timeout: float = 2.0, allow_private: bool = True, **more: Any
) -> SenderSettings:
    policy = DeliveryPolicy(BackoffPolicy(0.2, 1.0), max_attempts=attempts, timeout_seconds=timeout)
    return SenderSettings(policy=policy, allow_private=allow_private, poll_seconds=0.2, **more)


def start_sender(stack: Stack, settings: Settings, **options: Any) -> None:
    start_worker(stack, settings, webhooks=sender(**options))


async def create_webhook(tenant: Tenant, url: str, **body: Any) -> dict[str, Any]:
    response = await tenant.post("/webhooks", json={"url": url, "event_types": EVENTS, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def ping(tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    response = await tenant.post(f"/webhooks/{webhook_id}/ping")
    assert response.status_code == 202, response.text
    delivery: dict[str, Any] = response.json()
    return delivery


async def delivery_when(
    tenant: Tenant, webhook_id: str, delivery_id: str, status: str, *, within: float = 15
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        response = await tenant.get(f"/webhooks/{webhook_id}/deliveries/{delivery_id}")
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return bool(seen["status"] == status)

    await poll(reached, within=within, every=0.05)
    return seen


async def test_a_ping_arrives_signed_and_is_logged(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        assert webhook["secret"].startswith("whsec_")
        queued = await ping(tenant, webhook["id"])
        assert queued["status"] == "pending" and queued["event_type"] == "ping"
        [request] = await endpoint.wait_for(1)
        done = await delivery_when(tenant, webhook["id"], queued["id"], "delivered")
    assert verify(webhook["secret"], request.body, request.headers["nuage-signature"])
    with pytest.raises(SignatureError):
        verify("whsec_other", request.body, request.headers["nuage-signature"])
    assert request.path == "/hooks"
    assert request.headers["nuage-delivery-id"] == queued["id"]
    assert request.headers["nuage-event-type"] == "ping"
    assert json.loads(request.body)["data"]["webhook_id"] == webhook["id"]
    assert done["attempt"] == 1 and done["status_code"] == 200 and done["error"] is None
    [attempt] = done["attempts"]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0
    shown = (await tenant.get(f"/webhooks/{webhook['id']}")).json()
    assert "secret" not in shown  # shown once, at creation


async def test_a_failing_endpoint_is_retried_with_backoff_then_failed_and_redelivered(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings, attempts=3)
    async with receiver(status=500) as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        queued = await ping(tenant, webhook["id"])
        failed = await delivery_when(tenant, webhook["id"], queued["id"], "failed")
        arrivals = [r.at for r in endpoint.requests]
        assert len(arrivals) == 3
        # Backoff: the n-th retry waits at least half of base·2^(n-1) (base 0.2 s).
        assert arrivals[1] - arrivals[0] >= 0.1 and arrivals[2] - arrivals[1] >= 0.2
        assert [a["status_code"] for a in failed["attempts"]] == [500, 500, 500]
        assert [a["attempt"] for a in failed["attempts"]] == [1, 2, 3]
        assert failed["error"] == "HTTP 500" and failed["next_attempt_at"] is None

        endpoint.status = 204
        response = await tenant.post(
            f"/webhooks/{webhook['id']}/deliveries/{queued['id']}/redeliver"
        )
        assert response.status_code == 202, response.text
        again = response.json()
        assert again["redelivery_of"] == queued["id"] and again["id"] != queued["id"]
        done = await delivery_when(tenant, webhook["id"], again["id"], "delivered")
        assert done["attempt"] == 1 and done["status_code"] == 204
        assert endpoint.requests[-1].body == endpoint.requests[0].body  # the same event
    log = (await tenant.get(f"/webhooks/{webhook['id']}/deliveries")).json()
    assert [d["id"] for d in log["results"]] == [again["id"], queued["id"]]  # newest first
    assert [d["status"] for d in log["results"]] == ["delivered", "failed"]


async def test_a_hanging_endpoint_slows_neither_tasks_nor_other_endpoints(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings, timeout=3.0, attempts=2)
    async with receiver(hang=True) as dead, receiver() as alive:
        stuck = await create_webhook(tenant, dead.url)
        for _ in range(3):
            await ping(tenant, stuck["id"])
        await dead.wait_for(1)  # one attempt hangs now, the others wait behind it
        loop = asyncio.get_running_loop()
        started = loop.time()
        healthy = await create_webhook(tenant, alive.url)
        fine = await ping(tenant, healthy["id"])
        await delivery_when(tenant, healthy["id"], fine["id"], "delivered")
        other_endpoint = loop.time() - started
        started = loop.time()
        created = [await tenant.create_instance() for _ in range(3)]
        finished = [await tenant.wait(task_id) for _, task_id in created]
        tasks_took = loop.time() - started
        assert len(dead.requests) == 1  # still the one hanging attempt: one out per endpoint
    assert [task["status"] for task in finished] == ["completed"] * 3
    assert other_endpoint < 1.5, other_endpoint  # not behind the dead endpoint's 3 s timeout
    assert tasks_took < 2.5, tasks_took


async def test_a_rotated_secret_signs_from_then_on(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        response = await tenant.post(f"/webhooks/{webhook['id']}/rotate-secret")
        assert response.status_code == 200, response.text
        rotated = response.json()["secret"]
        assert rotated.startswith("whsec_") and rotated != webhook["secret"]
        await ping(tenant, webhook["id"])
        [request] = await endpoint.wait_for(1)
    assert verify(rotated, request.body, request.headers["nuage-signature"])
    with pytest.raises(SignatureError):
        verify(webhook["secret"], request.body, request.headers["nuage-signature"])


async def test_the_address_is_checked_again_at_delivery(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Saved while the operator allowed private addresses, refused by a sender that does not:
    nothing reaches the address, and the log says why."""
    tenant = await tenants()
    start_sender(stack, settings, attempts=1, allow_private=False)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        queued = await ping(tenant, webhook["id"])
        failed = await delivery_when(tenant, webhook["id"], queued["id"], "failed")
        assert endpoint.requests == []
    assert failed["status_code"] is None
    assert failed["error"].startswith("webhook_url_refused")


async def test_an_inactive_webhook_is_sent_nothing_until_reactivated(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url, is_active=False)
        queued = await ping(tenant, webhook["id"])
        await asyncio.sleep(0.5)
        assert endpoint.requests == []
        body = {"url": endpoint.url, "event_types": EVENTS, "is_active": True}
        response = await tenant.client.put(
            f"{tenant.base}/webhooks/{webhook['id']}", json=body, headers=tenant.headers
        )
        assert response.status_code == 200 and response.json()["is_active"] is True
        await delivery_when(tenant, webhook["id"], queued["id"], "delivered")
        assert len(endpoint.requests) == 1


async def test_crud_and_idempotent_create(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    body = {"url": "http://127.0.0.1:9/hooks", "event_types": ["task.failed", "task.completed"]}
    key = {"Idempotency-Key": "hook-1"}
    first = await tenant.post("/webhooks", json=body, headers=key)
    replay = await tenant.post("/webhooks", json=body, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"] and replay.json()["secret"] is None
    assert first.json()["event_types"] == ["task.completed", "task.failed"]
    listed = (await tenant.get("/webhooks")).json()
    assert listed["count"] == 1
    hook = f"{tenant.base}/webhooks/{first.json()['id']}"
    changed = {**body, "url": "https://127.0.0.1:8443/other", "is_active": False}
    response = await tenant.client.put(hook, json=changed, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["url"] == changed["url"] and response.json()["is_active"] is False
    assert (await tenant.client.delete(hook, headers=tenant.headers)).status_code == 204
    assert (await tenant.client.get(hook, headers=tenant.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1/h", "event_types": ["task.exploded"]}, "event_types"),
        ({"url": "http://127.0.0.1/h", "event_types": []}, "event_types"),
        ({"url": "http://127.0.0.1/h"}, "event_types"),
        ({"event_types": ["task.failed"]}, "url"),
        ({"url": "http://127.0.0.1/h", "event_types": ["task.failed"], "secret": "x"}, "secret"),
        ({"url": "x" * 3000, "event_types": ["task.failed"]}, "url"),
    ],
    ids=["unknown type", "no type", "no types", "no url", "unknown field", "long url"],
)
async def test_bad_bodies_are_field_errors_and_write_nothing(
    tenants: TenantFactory, body: dict[str, Any], field: str
) -> None:
    tenant = await tenants()
    response = await tenant.post("/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()
    assert (await tenant.get("/webhooks")).json()["count"] == 0


async def test_a_delivery_held_by_a_dead_sender_is_taken_over_once_its_lease_expires(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        queued = await ping(tenant, webhook["id"])
        async with transaction(stack.runtime.sessions) as session:  # a sender that then died
            held = await webhook_queries.claim_next(
                session, "dead-sender", utcnow(), timedelta(seconds=1)
            )
        assert held is not None and str(held.id) == queued["id"]
        start_sender(stack, settings)
        await asyncio.sleep(0.5)
        assert endpoint.requests == []  # its lease still runs
        done = await delivery_when(tenant, webhook["id"], queued["id"], "delivered")
    assert len(endpoint.requests) == 1
    assert [a["attempt"] for a in done["attempts"]] == [2]  # the dead one's attempt logged none


async def test_ended_deliveries_leave_the_log_after_its_retention(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_sender(stack, settings, log_retention_seconds=0.3, prune_every_seconds=0.1)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)
        queued = await ping(tenant, webhook["id"])
        await endpoint.wait_for(1)
    deliveries = f"/webhooks/{webhook['id']}/deliveries"

    async def pruned() -> bool:
        return bool((await tenant.get(deliveries)).json()["count"] == 0)

    await poll(pruned, within=10, every=0.1)
    response = await tenant.get(f"{deliveries}/{queued['id']}")
    assert response.status_code == 404


async def test_many_senders_send_one_delivery_per_endpoint_at_a_time(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Three workers' senders share the queue: every ping arrives once, and the endpoint never has
    two deliveries at once, while another endpoint is served beside it."""
    tenant = await tenants()
    for _ in range(3):
        start_sender(stack, settings)
    async with receiver(delay=0.05) as slow, receiver() as other:
        busy = await create_webhook(tenant, slow.url)
        beside = await create_webhook(tenant, other.url)
        sent = [(await ping(tenant, busy["id"]))["id"] for _ in range(8)]
        await ping(tenant, beside["id"])
        await slow.wait_for(8)
        await other.wait_for(1)
        await asyncio.sleep(0.3)  # a duplicate would arrive meanwhile
        delivered = sorted(r.headers["nuage-delivery-id"] for r in slow.requests)
    assert delivered == sorted(sent)
    assert slow.most_at_once == 1


async def test_task_events_arrive_signed_as_the_api_shows_them(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Real events of a real task: the webhook gets the types it asked for (and no other, and
    nothing of another project), each signed, the task as `GET P/tasks/{id}` shows it."""
    tenant, other = await tenants(), await tenants()
    start_sender(stack, settings)
    async with receiver() as endpoint:
        webhook = await create_webhook(tenant, endpoint.url)  # task.completed, task.failed
        await other.create_instance()  # another project's events
        _instance, create = await tenant.create_instance()
        _doomed, failing = await tenant.create_instance(tags=["sim:fail=create:permanent"])
        assert (await tenant.wait(create))["status"] == "completed"
        assert (await tenant.wait(failing))["status"] == "failed"
        await endpoint.wait_for(2)
        await asyncio.sleep(0.3)  # anything more would arrive meanwhile
    bodies = {json.loads(r.body)["data"]["id"]: (r, json.loads(r.body)) for r in endpoint.requests}
    assert set(bodies) == {create, failing}
    for task_id, expected_type in [(create, "task.completed"), (failing, "task.failed")]:
        request, body = bodies[task_id]
        assert verify(webhook["secret"], request.body, request.headers["nuage-signature"])
        assert body["type"] == expected_type == request.headers["nuage-event-type"]
        assert request.headers["nuage-event-id"] == str(body["id"])
        assert body["data"] == (await tenant.get(f"/tasks/{task_id}")).json()
    log = (await tenant.get(f"/webhooks/{webhook['id']}/deliveries")).json()
    assert sorted(d["event_type"] for d in log["results"]) == ["task.completed", "task.failed"]
    assert {d["status"] for d in log["results"]} == {"delivered"}


async def test_a_webhook_gets_only_events_written_after_it_was_made(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)  # tasks run, but nobody sends webhooks yet
    _instance, before = await tenant.create_instance()
    assert (await tenant.wait(before))["status"] == "completed"
    async with receiver() as endpoint:
        await create_webhook(tenant, endpoint.url)
        start_sender(stack, settings)
        _instance, after = await tenant.create_instance()
        assert (await tenant.wait(after))["status"] == "completed"
        [request] = await endpoint.wait_for(1)
        await asyncio.sleep(0.3)
    assert len(endpoint.requests) == 1
    assert json.loads(request.body)["data"]["id"] == after


async def test_the_dispatcher_reads_whole_only_the_events_a_webhook_wants(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Every event passes the dispatcher; those no webhook wants cost it their heads only (no
    payload read), and the cursor moves past them all."""
    tenant, other = await tenants(), await tenants()
    start_worker(stack, settings)  # tasks run; no sender dispatches
    instance = await tenant.running_instance()  # its events came before the webhook
    await create_webhook(tenant, "http://127.0.0.1:9/in")  # task.completed, task.failed
    _instance, created = await other.create_instance()  # no webhook in its project
    assert (await other.wait(created))["status"] == "completed"
    wanted = await tenant.act(instance["id"], "reboot")
    assert (await tenant.wait(wanted["id"]))["status"] == "completed"
    sessions = stack.runtime.sessions
    asked: list[int] = []

    async def events_by_id(session: Any, ids: Any) -> Any:
        asked.extend(ids)
        return await events.events_by_id(session, ids)

    with counting() as counted:
        async with transaction(sessions) as session:
            dispatched = await webhook_dispatch.dispatch(
                session, events.heads_after, events_by_id, limit=100_000
            )
    assert [s for s in counted.statements if "events.payload" in s]  # read by id, once
    async with transaction(sessions) as session:
        newest = await events.last_id(session)
        cursor = await session.get(WebhookCursor, webhook_dispatch.CURSOR_ID)
        assert cursor is not None and cursor.last_event_id == newest
        [delivery] = (await session.execute(sa.select(WebhookDelivery))).scalars().all()
    assert dispatched.read > 10 and dispatched.queued == 1
    assert asked == [delivery.event_id]  # the reboot's task.completed, and no other event
    assert delivery.event_type == "task.completed"
    assert delivery.body["data"] == (await tenant.get(f"/tasks/{wanted['id']}")).json()


async def test_a_dispatcher_that_finds_the_cursor_held_leaves_the_events_to_its_holder(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """PostgreSQL: while one pass holds the cursor, another returns at once and reads nothing
    (it does not queue behind it to read what that pass read); once free, the events are read."""
    if stack.runtime.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time")
    tenant = await tenants()
    start_worker(stack, settings)  # tasks run; no sender dispatches
    await tenant.running_instance()
    sessions = stack.runtime.sessions
    async with transaction(sessions) as holder:
        cursor = sa.select(WebhookCursor).where(WebhookCursor.id == webhook_dispatch.CURSOR_ID)
        await holder.execute(cursor.with_for_update())
        async with asyncio.timeout(5), transaction(sessions) as session:
            skipped = await webhook_dispatch.dispatch(
                session, events.heads_after, events.events_by_id
            )
        assert skipped == webhook_dispatch.Dispatched(0, 0)
    async with transaction(sessions) as session:
        read = await webhook_dispatch.dispatch(session, events.heads_after, events.events_by_id)
    assert read.read > 0
