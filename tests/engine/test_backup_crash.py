"""A worker process killed (SIGKILL) in the middle of a backup copy: another worker takes the task
over once its lease expires, and the host's store ends with exactly one complete backup — the
killed copy's half file is never taken for a backup, and is gone."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pg.fleet import Fleet
from tests.support import create_body

pytestmark = pytest.mark.slow

COPY_MS = 1500  # the simulator's time per operation, and so per copy


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    data = tmp_path / "var"
    fleet = Fleet(
        f"sqlite+aiosqlite:///{data / 'nuage.db'}",
        data,
        NUAGE_SIM_LATENCY_MS=str(COPY_MS),
        NUAGE_LEASE_SECONDS="2",
        NUAGE_POLL_SECONDS="0.2",
    )
    try:
        yield fleet
    finally:
        fleet.stop()


def wait_for(check: Callable[[], Any], *, within: float = 60.0, every: float = 0.01) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(every)
    return found


def test_a_worker_killed_mid_copy_is_taken_over_and_one_complete_backup_remains(
    fleet: Fleet,
) -> None:
    creds = fleet.bootstrap()
    api = fleet.start_api()
    fleet.start_worker()
    base = f"/v1/organizations/{creds['organization_id']}/projects/{creds['project_id']}/compute"
    http = httpx.Client(
        base_url=api + base,
        headers={"Authorization": f"Bearer {creds['api_key']}"},
        timeout=30,
    )

    def finished(task_id: str) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            task: dict[str, Any] = http.get(f"/tasks/{task_id}", params={"wait": 5}).json()
            return task if task["status"] in {"completed", "failed", "cancelled"} else None

        done: dict[str, Any] = wait_for(terminal, within=90)
        return done

    created = http.post("/instances", json=create_body(name="crash"))
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    assert finished(created.json()["task_id"])["status"] == "completed"
    asked = http.post(f"/instances/{iid}/backups", json={"name": "mid-copy"})
    assert asked.status_code == 202, asked.text
    task_id, backup_id = asked.json()["id"], asked.json()["parameters"]["backup_id"]
    stores = fleet.data_dir / "sim" / "backups"

    def copying() -> list[Path]:
        return list(stores.glob(f"*/{iid}/.{backup_id}.json.partial"))

    partial = wait_for(copying)[0]
    fleet.kill_worker(0)
    folder = partial.parent
    assert [p.name for p in folder.iterdir()] == [partial.name]  # half a copy, under a temp name
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial.read_text())  # cut in the middle
    assert http.get(f"/instances/{iid}/backups/{backup_id}").json()["status"] == "creating"

    fleet.start_worker()
    task = finished(task_id)

    assert task["status"] == "completed", task
    assert task["retry_count"] == 0  # a takeover is not a retry
    assert sorted(p.name for p in folder.iterdir()) == [f"{backup_id}.json"]
    copy = json.loads((folder / f"{backup_id}.json").read_text())
    assert copy["backup_id"] == backup_id
    assert copy["contents"]["boots"] == 1  # the disk as it was: booted once
    backup = http.get(f"/instances/{iid}/backups/{backup_id}").json()
    assert (backup["status"], backup["size_gb"]) == ("available", created.json()["size"]["disk_gb"])
    events = http.get(f"/tasks/{task_id}/events", params={"page_size": 100}).json()["results"]
    steps = [e["step"] for e in events]
    assert steps.count("lease_expired") == 1
    assert steps.count("completed") == 1
    assert fleet.sim_operations(iid).count("create_backup") == 1  # the killed one logged nothing
