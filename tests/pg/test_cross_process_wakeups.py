"""Wake-ups cross processes on PostgreSQL: a task enqueued through one process starts in a worker
process at once (not at its next poll), and a long poll served by an API process without a worker
returns as soon as another process completes the task (not at its slow re-read)."""

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from nuage.services.tasks import RECHECK_SECONDS
from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
POLL_SECONDS = 30.0  # an idle worker that only polled would start nothing during the test


@pytest.fixture
def fleet(require_private_cluster: None, tmp_path: Path) -> Iterator[Fleet]:
    cluster = PrivateCluster()
    cluster.start()
    fleet = Fleet(
        cluster.url,
        tmp_path / "var",
        NUAGE_SIM_LATENCY_MS="200",
        NUAGE_POLL_SECONDS=str(POLL_SECONDS),
    )
    try:
        yield fleet
    finally:
        fleet.stop()
        cluster.destroy()


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_enqueue_wakes_a_worker_process_and_completion_wakes_a_long_poll(fleet: Fleet) -> None:
    creds = fleet.bootstrap()
    api = fleet.start_api()
    fleet.start_worker()
    fleet.wait_for_listeners(2)  # the API and the worker; the worker now waits, idle, for a
    # notification or its 30 s poll
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    base = (
        f"{api}/v1/organizations/{creds['organization_id']}/projects/{creds['project_id']}/compute"
    )
    body = {"name": "w", "size_id": SIZES["nano"], "location_id": LOCATION,
            "image_id": IMAGES["debian"]}  # fmt: skip
    for _ in range(3):
        created = httpx.post(f"{base}/instances", json=body, headers=headers)
        assert created.status_code == 201, created.text
        began = time.monotonic()
        task = httpx.get(created.headers["Location"], params={"wait": 30}, headers=headers,
                         timeout=40).json()  # fmt: skip
        waited = time.monotonic() - began
        assert task["status"] == "completed", task
        # Dispatch: started long before a 30 s poll could have picked it up.
        assert _ts(task["started_at"]) - _ts(task["created"]) < 1.0, task
        # The long poll returned on the completion's notification, not the slow re-read.
        assert waited < RECHECK_SECONDS - 1, waited
