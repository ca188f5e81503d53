"""Webhooks as `nuage serve` runs them: its worker's sender (wired by the composition root,
`cli/runtime.py`) posts a task's events, signed, to a receiver on 127.0.0.1."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nuage.domain.webhook_signatures import verify
from tests.contract import live
from tests.contract.live import LiveServer
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose settings allow webhooks to private addresses (`live.start` sets it)."""
    started = live.start(tmp_path)
    try:
        yield started
    finally:
        started.stop()


async def test_a_served_task_is_posted_signed_to_a_webhook(server: LiveServer) -> None:
    async with (
        receiver() as endpoint,
        httpx.AsyncClient(base_url=server.compute, headers=server.headers, timeout=30) as http,
    ):
        created = await http.post(
            "/webhooks", json={"url": endpoint.url, "event_types": ["task.completed"]}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        task = (await http.post(f"/instances/{server.instance_id}/sync")).json()
        [request] = await endpoint.wait_for(1, within=30)
    body = json.loads(request.body)
    assert verify(secret, request.body, request.headers["nuage-signature"])
    assert (body["type"], body["data"]["id"]) == ("task.completed", task["id"])
    assert body["data"]["status"] == "completed"
