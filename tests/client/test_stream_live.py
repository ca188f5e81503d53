"""The SDK's event stream against the server's own `GET P/events` (EVENTS contract: built on
another branch; skipped until the served document has the route): read from the start, a
create's events come in order with increasing ids up to `task.completed`, and a resume after
one of them with a `types` filter gets exactly the later events of that type."""

import httpx
import pytest

from nuage.client import Client, Event
from tests.contract.live import LiveServer
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = pytest.mark.slow  # a real server, and the CLI's processes

WHERE = {"size_id": SIZES["nano"], "location_id": LOCATION, "image_id": IMAGES["debian"]}


def test_a_creates_events_in_order_and_a_resume(server: LiveServer) -> None:
    paths = httpx.get(f"{server.base}/openapi.json").json()["paths"]
    if not any(path.endswith("/compute/events") for path in paths):
        pytest.skip("the server has no event stream yet (GET P/events)")
    with Client(server.base, api_key=server.api_key) as client:
        created = client.instances.create(name="sdk-stream", **WHERE)
        assert created.task_id is not None
        client.tasks.wait(created.task_id, timeout=30)
        seen: list[Event] = []
        for item in client.events.stream(instance_id=created.id, last_event_id=0):
            assert isinstance(item, Event) and item.instance_id == created.id
            seen.append(item)
            if item.type == "task.completed":
                break
        resumed = client.events.stream(last_event_id=seen[0].id, types="task.completed")
        later = next(e for e in resumed if isinstance(e, Event) and e.instance_id == created.id)
    ids = [event.id for event in seen]
    assert ids == sorted(set(ids))
    assert seen[0].type == "task.created" and seen[0].data["task_type"] == "create_vps"
    assert seen[-1].data["status"] == "completed"
    assert "instance.status_changed" in {event.type for event in seen}
    assert later.id == seen[-1].id
