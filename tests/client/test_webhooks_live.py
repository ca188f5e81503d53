"""Webhooks through the SDK and the CLI, end to end: a real `nuage serve` (its worker sends the
deliveries; NUAGE_WEBHOOKS_ALLOW_PRIVATE lets it post to 127.0.0.1) and a receiver on
127.0.0.1 (tests/webhook_receiver.py) that checks what arrives with the SDK's
`verify_signature`."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from nuage.client import AsyncClient, InvalidSignature, NotFound, verify_signature
from nuage.client.enums import DeliveryStatus, EventType
from nuage.client.models import WebhookDelivery
from nuage.client.webhooks import DELIVERY_ID_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER
from tests.contract.live import LiveServer
from tests.support import IMAGES, LOCATION, SIZES
from tests.webhook_receiver import Received, Receiver, receiver

pytestmark = pytest.mark.slow  # a real server, and the CLI's processes

WHERE = {"size_id": SIZES["nano"], "location_id": LOCATION, "image_id": IMAGES["debian"]}


async def arrived(endpoint: Receiver, wanted: Callable[[dict[str, Any]], bool]) -> Received:
    """The first request whose JSON body is `wanted` (the project's other events may come too)."""
    async with asyncio.timeout(30):
        while True:
            for request in endpoint.requests:
                if wanted(json.loads(request.body)):
                    return request
            endpoint.arrived.clear()
            await endpoint.arrived.wait()


async def logged(client: AsyncClient, webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """The delivery once its attempt is logged (the log is written after the answer)."""
    async with asyncio.timeout(15):
        while True:
            delivery = await client.webhooks.get_delivery(webhook_id, delivery_id)
            if delivery.status is not DeliveryStatus.PENDING:
                return delivery
            await asyncio.sleep(0.2)


def test_an_sdk_webhook_receives_a_tasks_event_signed(server: LiveServer) -> None:
    async def scenario() -> None:
        async with (
            receiver() as endpoint,
            AsyncClient(server.base, api_key=server.api_key) as client,
        ):
            made = await client.webhooks.create(endpoint.url, [EventType.TASK_COMPLETED])
            assert made.secret is not None and made.secret.startswith("whsec_")
            hook = str(made.id)
            created = await client.instances.create(name="sdk-webhook", **WHERE)
            assert created.task_id is not None
            task_id = str(created.task_id)
            request = await arrived(endpoint, lambda body: body["data"].get("id") == task_id)
            body = json.loads(request.body)
            assert (body["type"], body["data"]["status"]) == ("task.completed", "completed")
            signature = request.headers[SIGNATURE_HEADER.lower()]
            assert verify_signature(made.secret, request.body, signature) > 0
            with pytest.raises(InvalidSignature):
                verify_signature("whsec_someone-else", request.body, signature)

            log = [d async for d in client.webhooks.deliveries(hook)]
            assert request.headers[EVENT_ID_HEADER.lower()] == str(body["id"])
            delivery_id = request.headers[DELIVERY_ID_HEADER.lower()]
            assert (body["id"], body["type"]) in [(d.event_id, d.event_type) for d in log]
            first = await logged(client, hook, delivery_id)
            assert (first.status, first.status_code) == (DeliveryStatus.DELIVERED, 200)

            rotated = await client.webhooks.rotate_secret(hook)
            assert rotated.secret not in (None, made.secret)
            before = len(endpoint.requests)
            again = await client.webhooks.redeliver(hook, str(first.id))
            assert again.redelivery_of == first.id
            [resent] = [
                r
                for r in (await endpoint.wait_for(before + 1, within=30))[before:]
                if r.headers[DELIVERY_ID_HEADER.lower()] == str(again.id)
            ]
            assert resent.body == request.body  # the same event, signed with the new secret
            resigned = resent.headers[SIGNATURE_HEADER.lower()]
            assert rotated.secret is not None
            verify_signature(rotated.secret, resent.body, resigned)
            with pytest.raises(InvalidSignature):
                verify_signature(made.secret, resent.body, resigned)

            paused = await client.webhooks.update(hook, is_active=False)
            assert (paused.is_active, paused.url) == (False, endpoint.url)
            assert made.id in [w.id async for w in client.webhooks.list()]
            await client.webhooks.delete(hook)
            with pytest.raises(NotFound):
                await client.webhooks.get(hook)

    asyncio.run(scenario())


def test_the_cli_creates_pings_and_shows_the_log(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    def run(*args: str, status: int = 0) -> Any:
        return asyncio.to_thread(cli, *args, status=status)  # the receiver keeps answering

    async def scenario() -> None:
        async with receiver() as endpoint:
            await run("login", "--url", server.base, "--api-key", server.api_key)
            made = await run("webhooks", "create", endpoint.url, "--types", "task.failed", "--json")
            hook = json.loads(made.stdout)
            assert hook["secret"].startswith("whsec_") and "shown this once" in made.stderr
            listed = json.loads((await run("webhooks", "list", "--json")).stdout)
            assert hook["id"] in [w["id"] for w in listed]

            queued = json.loads((await run("webhooks", "ping", hook["id"], "--json")).stdout)
            assert (queued["event_type"], queued["status"]) == ("ping", "pending")
            request = await arrived(endpoint, lambda body: body["type"] == "ping")
            signature = request.headers[SIGNATURE_HEADER.lower()]
            verify_signature(hook["secret"], request.body, signature)
            async with asyncio.timeout(15):
                while True:
                    shown = await run("webhooks", "deliveries", hook["id"], "--json")
                    [delivery] = [d for d in json.loads(shown.stdout) if d["id"] == queued["id"]]
                    if delivery["status"] != "pending":
                        break
                    await asyncio.sleep(0.2)
            assert (delivery["status"], delivery["status_code"], delivery["attempt"]) == (
                "delivered",
                200,
                1,
            )

            rotating = await run("webhooks", "rotate-secret", hook["id"], "--json")
            rotated = json.loads(rotating.stdout)
            assert rotated["secret"] not in (None, hook["secret"])
            shown = json.loads((await run("webhooks", "show", hook["id"], "--json")).stdout)
            assert "secret" not in shown and shown["event_types"] == ["task.failed"]
            await run("webhooks", "delete", hook["id"])
            gone = await run("webhooks", "show", hook["id"], status=1)
            assert "not_found (404)" in gone.stderr

    asyncio.run(scenario())
