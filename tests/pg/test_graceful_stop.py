"""SIGTERM, as systemd or Kubernetes send it, to real `nuage worker` and `nuage serve` processes
on PostgreSQL, mid-task: the process exits cleanly within its grace, the running task goes back
to the queue at its next safe step (not when its lease expires: the lease here is longer than the
test), and it completes exactly once elsewhere or after a restart, with the instance as the
simulated hypervisor has its machine. An in-flight request still gets its answer."""

import asyncio
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nuage.cli.demo import bootstrap_json
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.drivers.sim import SimDriver, SimSettings
from nuage.services import accounts
from tests import databases
from tests.pg.fleet import Fleet
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
LEASE_SECONDS = 120.0  # a task handed over only when its lease expired would fail the test


@pytest.fixture
def fleet(pg_template: str, tmp_path: Path) -> Iterator[Fleet]:
    name = asyncio.run(databases.clone(pg_template))
    fleet = Fleet(
        databases.database_url(name),
        tmp_path / "var",
        NUAGE_SIM_LATENCY_MS="1500",  # each hypervisor call: a create spans several seconds
        NUAGE_LEASE_SECONDS=str(LEASE_SECONDS),
        NUAGE_POLL_SECONDS="1",
        NUAGE_STOP_GRACE_SECONDS="20",
    )
    try:
        yield fleet
    finally:
        fleet.stop()
        databases.drop_sync(name)


async def _bootstrap(database_url: str) -> dict[str, str]:
    """The account, in this process: the cloned database is migrated and has its hosts, and a
    `nuage` subprocess costs seconds of imports on a loaded machine."""
    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            made = await accounts.bootstrap(
                session, email="graceful@example.com", password="graceful-pass",
                organization="Default", project="default",
            )  # fmt: skip
        return bootstrap_json(made)
    finally:
        await engine.dispose()


class Api:
    def __init__(self, creds: dict[str, str], url: str) -> None:
        self.headers = {"Authorization": f"Bearer {creds['api_key']}"}
        org, project = creds["organization_id"], creds["project_id"]
        self.base = f"{url}/v1/organizations/{org}/projects/{project}/compute"

    def create(self) -> tuple[str, str]:
        body = {"name": "graceful", "size_id": SIZES["nano"], "location_id": LOCATION,
                "image_id": IMAGES["debian"]}  # fmt: skip
        created = httpx.post(f"{self.base}/instances", json=body, headers=self.headers)
        assert created.status_code == 201, created.text
        return created.json()["id"], created.headers["Location"].rsplit("/", 1)[1]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(self.base + path, params=params, headers=self.headers, timeout=60)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def running(self, task_id: str) -> None:
        deadline = time.monotonic() + 30
        while self.get(f"/tasks/{task_id}")["status"] != "running":
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
        time.sleep(0.3)  # inside a hypervisor call, between two safe steps

    def steps(self, task_id: str) -> list[str]:
        events = self.get(f"/tasks/{task_id}/events", page_size=100)["results"]
        return [event["step"] for event in events]


def terminate(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM; how long the process took to exit (it must exit 0)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    return time.monotonic() - began


def assert_ran_once(fleet: Fleet, api: Api, instance_id: str, task_id: str) -> None:
    task = api.get(f"/tasks/{task_id}", wait=60)
    assert task["status"] == "completed", task
    steps = api.steps(task_id)
    assert steps.count("completed") == 1 and steps.count("released") == 1, steps
    assert "lease_expired" not in steps, steps
    instance = api.get(f"/instances/{instance_id}")
    machine = asyncio.run(_inspect(fleet, instance_id))
    assert machine is not None, "the hypervisor has no machine"
    assert (instance["status"], instance["power_state"]) == ("running", machine.power.value)
    assert machine.power.value == "on"
    # Stopped at a safe step, not cancelled inside a hypervisor call (the sim logs each call).
    log = fleet.data_dir / "sim" / "ops" / f"{instance_id}.jsonl"
    outcomes = [json.loads(line)["outcome"] for line in log.read_text().splitlines() if line]
    assert outcomes and set(outcomes) == {"ok"}, outcomes


async def _inspect(fleet: Fleet, machine_id: str) -> Any:
    driver = SimDriver(SimSettings(state_dir=fleet.data_dir / "sim"))
    try:
        return await driver.inspect(machine_id)
    finally:
        await driver.close()


def test_sigterm_to_a_worker_mid_task_hands_the_task_to_another_at_once(fleet: Fleet) -> None:
    creds = asyncio.run(_bootstrap(fleet.database_url))
    api = Api(creds, fleet.start_api())
    doomed = fleet.start_worker()
    fleet.wait_for_listeners(2)
    instance_id, task_id = api.create()
    api.running(task_id)
    began = time.monotonic()
    assert terminate(doomed) < 15
    given_back = api.get(f"/tasks/{task_id}")
    assert given_back["status"] == "pending" and api.steps(task_id)[-1] == "released"
    fleet.start_worker()  # the successor claims it as soon as it starts
    assert_ran_once(fleet, api, instance_id, task_id)
    assert time.monotonic() - began < LEASE_SECONDS / 2


def test_sigterm_to_serve_answers_in_flight_requests_and_gives_its_tasks_back(
    fleet: Fleet,
) -> None:
    creds = asyncio.run(_bootstrap(fleet.database_url))
    api = Api(creds, fleet.start_api(worker=True))
    server, _port = fleet.apis[0]
    instance_id, task_id = api.create()
    api.running(task_id)
    answers: list[httpx.Response] = []

    def long_poll() -> None:
        params = {"wait": 2}
        url = f"{api.base}/tasks/{task_id}"
        answers.append(httpx.get(url, params=params, headers=api.headers, timeout=30))

    in_flight = threading.Thread(target=long_poll)
    in_flight.start()
    time.sleep(0.5)  # the long poll is waiting in the server
    assert terminate(server) < 15
    in_flight.join()
    assert [answer.status_code for answer in answers] == [200]
    # Restarted: the task given back at its safe step resumes at once and completes once.
    api = Api(creds, fleet.start_api(worker=True))
    assert_ran_once(fleet, api, instance_id, task_id)
