"""The SDK end to end against a real server (`nuage serve` with its worker and a simulated
host): create and wait, a failing task's code, pages, typed refusals, and an Idempotency-Key
that makes a retried create a replay the server answers, not a second instance."""

import asyncio
import math
from typing import Any

import httpx
import pytest

from nuage.client import AsyncClient, Client, InstanceBusy, NotFound, TaskFailed, ValidationFailed
from nuage.client.enums import InstanceStatus, PowerState, TaskStatus
from tests.contract.live import LiveServer
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = pytest.mark.slow  # a real server, and the CLI's processes

WHERE = {"size_id": SIZES["nano"], "location_id": LOCATION, "image_id": IMAGES["debian"]}


class Recording(httpx.HTTPTransport):
    """The real transport, remembering each request and its answer's headers."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append((request, response))
        return response


class LosesFirstPostAnswer(Recording):
    """Forwards everything to the server, but the first POST's answer is lost on its way back:
    the client sees a 503 (as from a proxy) although the server did the work."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and sum(r.method == "POST" for r, _ in self.seen) == 1:
            response.read()
            body = {"detail": "lost on the way", "code": "database_unavailable"}
            return httpx.Response(503, headers={"Retry-After": "0"}, json=body)
        return response


def connect(server: LiveServer, **options: Any) -> Client:
    return Client(server.base, api_key=server.api_key, **options)


def test_create_an_instance_and_wait_for_it(server: LiveServer) -> None:
    with connect(server) as client:
        created = client.instances.create(name="sdk-wait", **WHERE)
        assert created.status is InstanceStatus.PENDING and created.task_id is not None
        task = client.tasks.get(created.task_id).wait(timeout=30)
        instance = client.instances.get(created.id)
    assert task.status is TaskStatus.COMPLETED and task.progress == 100
    assert task.task_type == "create_vps" and task.instance_id == created.id
    assert instance.status is InstanceStatus.RUNNING and instance.power_state is PowerState.ON


def test_the_async_client_acts_waits_and_lists(server: LiveServer) -> None:
    async def scenario() -> tuple[TaskStatus, list[str], InstanceStatus]:
        async with AsyncClient(server.base, api_key=server.api_key) as client:
            created = await client.instances.create(name="sdk-async", **WHERE)
            assert created.task_id is not None
            await client.tasks.wait(created.task_id, timeout=30)
            stop = await client.instances.stop(created.id)
            done = await stop.wait(timeout=30)
            instance = await client.instances.get(created.id)
        logged_in = await AsyncClient.login(
            server.base, email="contract@example.com", password="contract-password"
        )
        async with logged_in as client:  # a JWT instead of a key
            names = [i.name async for i in client.instances.list(page_size=2)]
        return done.status, names, instance.status

    status, names, instance_status = asyncio.run(scenario())
    assert status is TaskStatus.COMPLETED and instance_status is InstanceStatus.STOPPED
    assert "sdk-async" in names


def test_a_failing_task_raises_its_error_code(server: LiveServer) -> None:
    with connect(server) as client:
        created = client.instances.create(
            name="sdk-fails", tags=["sim:fail=create:permanent"], **WHERE
        )
        assert created.task_id is not None
        with pytest.raises(TaskFailed) as failed:
            client.tasks.wait(created.task_id, timeout=30)
        unchecked = client.tasks.wait(created.task_id, timeout=30, raise_on_failure=False)
    assert failed.value.code == "sim_permanent_fault"
    assert failed.value.task.status is TaskStatus.FAILED
    assert failed.value.task.error is not None and not failed.value.task.error.retryable
    assert unchecked.status is TaskStatus.FAILED


def test_lists_are_read_page_by_page(server: LiveServer) -> None:
    transport = Recording()
    with connect(server) as client:
        for n in range(3):
            client.instances.create(name=f"sdk-page-{n}", **WHERE)
    with connect(server, transport=transport) as paged:
        listed = [instance.id for instance in paged.instances.list(page_size=2)]
    answers = [(r, a) for r, a in transport.seen if r.url.path.endswith("/instances")]
    pages = [r for r, _ in answers]
    count = answers[0][1].json()["count"]
    assert len(listed) == len(set(listed)) == count >= 3
    assert len(pages) == math.ceil(count / 2)
    assert [r.url.params.get("page") for r in pages[1:]] == [
        str(n) for n in range(2, len(pages) + 1)
    ]


def test_refusals_are_typed_with_the_apis_codes(server: LiveServer) -> None:
    with connect(server) as client:
        with pytest.raises(NotFound) as missing:
            client.instances.get("00000000-0000-4000-8000-000000000000")
        with pytest.raises(ValidationFailed) as invalid:
            client.instances.create(name="", **WHERE)
        slow = client.instances.create(
            name="sdk-busy", tags=["sim:fail=create:transient:2"], **WHERE
        )
        with pytest.raises(InstanceBusy) as busy:
            client.instances.reboot(slow.id, on_conflict="reject")
    assert missing.value.code == "not_found" and missing.value.status == 404
    assert "name" in invalid.value.fields and invalid.value.status == 400
    assert busy.value.code == "instance_busy" and busy.value.response.status_code == 409


def test_a_retried_create_is_a_replay_on_the_server(server: LiveServer) -> None:
    transport = LosesFirstPostAnswer()
    with connect(server, transport=transport) as client:
        created = client.instances.create(name="sdk-replayed", **WHERE)
        named = [i for i in client.instances.list() if i.name == "sdk-replayed"]
    posts = [(r, answer) for r, answer in transport.seen if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0][0].headers["Idempotency-Key"] == posts[1][0].headers["Idempotency-Key"]
    assert posts[1][1].headers.get("Idempotent-Replayed") == "true"
    assert [i.id for i in named] == [created.id]


def test_a_firewall_rule_set_is_replaced_and_read_back(server: LiveServer) -> None:
    ssh = {"priority": 10, "direction": "INPUT", "action": "ACCEPT", "protocol": "TCP",
           "destination_ports": {"start": 22}}  # fmt: skip
    with connect(server) as client:
        created = client.instances.create(name="sdk-firewall", **WHERE)
        assert created.task_id is not None
        client.tasks.wait(created.task_id, timeout=30)
        done = client.firewalls.replace(created.id, [ssh]).wait(timeout=30)
        firewall = client.firewalls.get(created.id)
        with pytest.raises(ValidationFailed):
            client.firewalls.replace(created.id, [{**ssh, "priority": 5}])
    assert done.task_type == "apply_firewall" and done.status is TaskStatus.COMPLETED
    assert firewall.enabled and firewall.pending is None
    (rule,) = firewall.rules
    assert rule.priority == 10 and rule.destination_ports is not None
    assert (rule.destination_ports.start, rule.destination_ports.end) == (22, 22)
