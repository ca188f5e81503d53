"""GET /metrics after a scripted workload through the app: requests by route template, tasks by
type and status, the queue per location, claim waits, retries, lease takeovers and webhook
deliveries, with the values the workload implies; and who may read it."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nuage.api.app import create_app
from nuage.api.middleware import Receive, Scope, Send
from nuage.api.observe import ROUTE_TEMPLATE, ObserveRequests
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain import observers
from nuage.engine import queries
from nuage.engine.webhook_sender import SenderSettings
from tests.support import LOCATION, Stack, TenantFactory, start_worker
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
INSTANCES = "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhooks_allow_private=True)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_after_a_workload(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    slug = next(
        loc["slug"]
        for loc in (await stack.client.get("/v1/compute/locations", headers=tenant.headers)).json()[
            "results"
        ]
        if loc["id"] == LOCATION
    )
    before = await scrape(stack.client)
    # Queued with no worker running: the queue's gauges see them, oldest first.
    plain, plain_task = await tenant.create_instance()
    flaky, flaky_task = await tenant.create_instance(tags=["sim:fail=create:transient:1"])
    assert (await tenant.get("/instances/00000000-0000-0000-0000-000000000000")).status_code == 404
    queued = await scrape(stack.client)
    assert grew(before, queued, "nuage_http_requests_total", method="POST", route=INSTANCES,
                status="201") == 2  # fmt: skip
    assert grew(before, queued, "nuage_http_request_duration_seconds_count", method="POST",
                route=INSTANCES) == 2  # fmt: skip
    assert grew(before, queued, "nuage_http_requests_total", method="GET",
                route=INSTANCES + "/{instance_id}", status="404") == 1  # fmt: skip
    assert grew(before, queued, "nuage_task_transitions_total", type="create_vps",
                status="pending") == 2  # fmt: skip
    assert value(queued, "nuage_tasks_active", type="create_vps", status="pending") == 2
    assert value(queued, "nuage_queue_depth", location=slug) == 2
    assert 0 < value(queued, "nuage_queue_oldest_pending_age_seconds", location=slug) < 60

    # A worker that died holding the plain create: its lease has already expired.
    async with transaction(stack.runtime.sessions) as session:
        claimed = await queries.claim_next(session, "dead-worker", utcnow(), timedelta(0))
    assert claimed is not None and str(claimed) == plain_task
    start_worker(stack, settings)
    assert (await tenant.wait(plain_task))["status"] == "completed"
    assert (await tenant.wait(flaky_task))["retry_count"] == 1

    async with receiver() as endpoint:
        start_worker(stack, settings, webhooks=SenderSettings(allow_private=True, poll_seconds=0.2))
        body = {"url": endpoint.url, "event_types": ["task.completed"]}
        hook = await tenant.post("/webhooks", json=body)
        assert hook.status_code == 201, hook.text
        await tenant.post(f"/webhooks/{hook.json()['id']}/ping")
        await endpoint.wait_for(1)
        await _delivered(stack, before)
    after = await scrape(stack.client)
    assert grew(before, after, "nuage_task_transitions_total", type="create_vps",
                status="completed") == 2  # fmt: skip
    # Claimed four times: by the dead worker, again after the takeover, and the flaky's two tries.
    running = grew(
        before, after, "nuage_task_transitions_total", type="create_vps", status="running"
    )
    assert running == 4
    assert grew(before, after, "nuage_task_retries_total", type="create_vps") == 1
    assert grew(before, after, "nuage_task_lease_takeovers_total", type="create_vps") == 1
    assert grew(before, after, "nuage_task_claim_wait_seconds_count", type="create_vps") == 4
    assert value(after, "nuage_tasks_active", type="create_vps", status="pending") == 0
    assert value(after, "nuage_queue_depth", location=slug) == 0
    assert value(after, "nuage_queue_oldest_pending_age_seconds", location=slug) == 0
    assert value(after, "nuage_tasks_active", type="create_vps", status="running") == 0
    assert plain["id"] != flaky["id"]


async def _delivered(stack: Stack, before: Samples) -> None:
    """The ping's delivery is counted once its attempt's end is committed."""
    for _ in range(100):
        after = await scrape(stack.client)
        if grew(before, after, "nuage_webhook_deliveries_total", event_type="ping",
                outcome="delivered") == 1:  # fmt: skip
            assert grew(before, after, "nuage_webhook_delivery_duration_seconds_count") >= 1
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the delivery was never counted")


async def metrics_status(
    stack: Stack, settings: Settings, *, client: tuple[str, int], headers: dict[str, str]
) -> httpx.Response:
    app = create_app(Runtime(settings, stack.runtime.sessions, stack.notifier))
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://nuage") as http:
        return await http.get("/metrics", headers=headers)


@pytest.mark.one_database  # the access rule reads no table
@pytest.mark.parametrize(
    ("loopback", "token", "client", "headers", "status"),
    [
        (True, "", ("127.0.0.1", 5000), {}, 200),
        (True, "", ("::1", 5000), {}, 200),
        (True, "", ("203.0.113.7", 5000), {}, 403),
        (True, "s3cret-metrics", ("203.0.113.7", 5000), {"Authorization": "Bearer nope"}, 403),
        (
            True,
            "s3cret-metrics",
            ("203.0.113.7", 5000),
            {"Authorization": "Bearer s3cret-metrics"},
            200,
        ),
        (False, "", ("127.0.0.1", 5000), {}, 403),
        (
            False,
            "s3cret-metrics",
            ("127.0.0.1", 5000),
            {"Authorization": "Bearer s3cret-metrics"},
            200,
        ),
    ],
)
async def test_metrics_are_for_this_machine_or_the_token(
    stack: Stack,
    settings: Settings,
    loopback: bool,
    token: str,
    client: tuple[str, int],
    headers: dict[str, str],
    status: int,
) -> None:
    configured = replace(settings, metrics_loopback=loopback, metrics_token=token)
    response = await metrics_status(stack, configured, client=client, headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["code"] == "permission_denied"
        assert "nuage_" not in response.text
    else:
        assert "nuage_http_requests_total" in response.text


async def test_a_request_answered_before_routing_is_counted_under_the_template_it_names() -> None:
    """A fast path that answers without the router names its route's template in the scope;
    an app that raises before answering is counted as the 500 the server sends."""
    seen: list[observers.Fact] = []

    async def fast(scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_TEMPLATE] = "/v1/…/tasks/{id}"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    observers.subscribe(seen.append)
    try:
        for app in (fast, broken):
            transport = httpx.ASGITransport(app=ObserveRequests(app), raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://nuage") as http:
                await http.get("/v1/anything")
    finally:
        observers.unsubscribe(seen.append)
    answered = [(f.route, f.status) for f in seen if isinstance(f, observers.RequestFinished)]
    assert answered == [("/v1/…/tasks/{id}", 200), ("unmatched", 500)]
