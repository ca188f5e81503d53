"""The event stream across processes on PostgreSQL: a stream served by an API process (without a
worker) hears, as they commit, the events a worker process writes (NOTIFY with the event id)."""

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from nuage.services.event_stream import ACCESS_RECHECK_SECONDS
from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def fleet(require_private_cluster: None, tmp_path: Path) -> Iterator[Fleet]:
    cluster = PrivateCluster()
    cluster.start()
    fleet = Fleet(cluster.url, tmp_path / "var", NUAGE_SIM_LATENCY_MS="100")
    try:
        yield fleet
    finally:
        fleet.stop()
        cluster.destroy()


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _events(lines: Iterator[str], until_task: str) -> Iterator[tuple[float, dict[str, Any]]]:
    """(arrival time, event) for each event frame, up to the task's `task.completed`."""
    for line in lines:
        if not line.startswith("data: "):
            continue
        event = json.loads(line.removeprefix("data: "))
        yield time.time(), event
        if event["type"] == "task.completed" and event["data"]["id"] == until_task:
            return


def test_a_stream_in_one_process_hears_a_worker_in_another(fleet: Fleet) -> None:
    creds = fleet.bootstrap()
    api = fleet.start_api()
    fleet.start_worker()
    fleet.wait_for_listeners(2)
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    base = (
        f"{api}/v1/organizations/{creds['organization_id']}/projects/{creds['project_id']}/compute"
    )
    body = {"name": "w", "size_id": SIZES["nano"], "location_id": LOCATION,
            "image_id": IMAGES["debian"]}  # fmt: skip
    with httpx.stream("GET", f"{base}/events", headers=headers, timeout=30) as response:
        assert response.status_code == 200
        created = httpx.post(f"{base}/instances", json=body, headers=headers)
        assert created.status_code == 201, created.text
        task_id = created.headers["Location"].rsplit("/", 1)[1]
        seen = list(_events(response.iter_lines(), task_id))

    kinds = [event["type"] for _, event in seen]
    assert kinds[:2] == ["task.created", "task.started"], kinds
    assert "instance.status_changed" in kinds and kinds[-1] == "task.completed"
    ids = [event["id"] for _, event in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Each event reached the client right after its commit, in whichever process: not at the
    # stream's own re-read every ACCESS_RECHECK_SECONDS.
    lags = [arrived - _ts(event["created"]) for arrived, event in seen]
    assert max(lags) < ACCESS_RECHECK_SECONDS / 2, lags
