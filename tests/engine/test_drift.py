"""Drift: a change made to a machine behind nuage's back (here: the simulator's state edited, as
`virsh` would on a libvirt host; tests/drivers/test_contract_config.py shows both drivers report
such changes) is adopted by `sync_vps_state`, which records it, and found by the periodic sweep,
which queues one sync per drifted instance and none for the others."""

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from nuage.config import Settings
from nuage.db.session import transaction
from nuage.engine import drift
from nuage.engine.hosts import Drivers
from nuage.engine.worker import WorkerSettings
from nuage.services.drift import queue_sync
from tests.support import SIZES, Stack, Tenant, TenantFactory, poll, start_worker

pytestmark = pytest.mark.anyio


def behind_nuages_back(settings: Settings, machine_id: str, **changes: Any) -> None:
    path = Path(settings.sim_state_dir) / "machines" / f"{machine_id}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


async def syncs(tenant: Tenant, instance_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await tenant.get("/tasks", params={"page_size": 100})).json()[
        "results"
    ]
    return [
        t for t in listed if t["task_type"] == "sync_vps_state" and t["instance_id"] == instance_id
    ]


async def test_sync_adopts_power_and_hardware_changed_outside_nuage(
    tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance(size_id=SIZES["small"])
    before = (await tenant.get(f"/instances/{instance['id']}")).json()
    small = before["hardware"]
    behind_nuages_back(
        settings, instance["id"], power="off", vcpu=small["vcpu"] + 1, disk_gb=small["disk_gb"] + 5
    )

    task = await tenant.wait((await tenant.act(instance["id"], "sync"))["id"])

    assert task["status"] == "completed", task
    assert task["result"]["drift"] == {
        "status": {"was": "running", "now": "stopped"},
        "power_state": {"was": "on", "now": "off"},
        "vcpu": {"was": small["vcpu"], "now": small["vcpu"] + 1},
        "disk_gb": {"was": small["disk_gb"], "now": small["disk_gb"] + 5},
    }
    after = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (after["status"], after["power_state"]) == ("stopped", "off")
    assert after["hardware"] == {
        **small,
        "vcpu": small["vcpu"] + 1,
        "disk_gb": small["disk_gb"] + 5,
    }
    assert after["size"] == before["size"]  # the size asked for is kept; the machine differs
    again = await tenant.wait((await tenant.act(instance["id"], "sync"))["id"])
    assert again["result"]["drift"] == {}


async def test_a_resize_is_checked_against_the_adopted_disk(
    tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    """A disk grown outside nuage beyond the target size's is not shrunk: refused at request."""
    tenant = await tenants()
    instance = await tenant.running_instance(size_id=SIZES["small"])
    behind_nuages_back(settings, instance["id"], power="off", disk_gb=500)
    await tenant.wait((await tenant.act(instance["id"], "sync"))["id"])

    refused = await tenant.post(
        f"/instances/{instance['id']}/resize", json={"size_id": SIZES["medium"]}
    )

    assert refused.status_code == 400, refused.text


async def test_the_sweep_queues_one_sync_per_drifted_instance(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant = await tenants()
    drifted = await tenant.running_instance()
    steady = await tenant.running_instance()
    behind_nuages_back(settings, drifted["id"], power="off")

    first = await drift.sweep(stack.runtime.sessions, Drivers.single(stack.driver))
    assert [str(i) for i in first] == [drifted["id"]]
    await poll(lambda: _completed(tenant, drifted["id"]))
    assert await drift.sweep(stack.runtime.sessions, Drivers.single(stack.driver)) == []

    assert (await tenant.get(f"/instances/{drifted['id']}")).json()["status"] == "stopped"
    assert await syncs(tenant, steady["id"]) == []
    assert len(await syncs(tenant, drifted["id"])) == 1


async def _completed(tenant: Tenant, instance_id: str) -> bool:
    found = await syncs(tenant, instance_id)
    return bool(found) and all(t["status"] == "completed" for t in found)


async def test_at_most_one_sync_per_instance_at_a_time(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Without a worker the first sync stays pending: a second sweep (or a second worker's)
    queues nothing more."""
    tenant = await tenants()
    start_worker(stack, settings)
    instance = await tenant.running_instance()
    await stack.stop_workers()
    behind_nuages_back(settings, instance["id"], power="off")

    async with transaction(stack.runtime.sessions) as session:
        assert await queue_sync(session, UUID(instance["id"])) is not None
    again = await drift.sweep(stack.runtime.sessions, Drivers.single(stack.driver))

    assert again == []
    assert len(await syncs(tenant, instance["id"])) == 1


async def test_a_worker_sweeps_when_the_setting_is_on(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings, drift_sweep_seconds=0.05)
    instance = await tenant.running_instance()

    behind_nuages_back(settings, instance["id"], power="off")

    async def adopted() -> bool:
        got = (await tenant.get(f"/instances/{instance['id']}")).json()
        return bool(got["power_state"] == "off")

    await poll(adopted)
    assert [t["status"] for t in await syncs(tenant, instance["id"])] == ["completed"]


def test_workers_do_not_sweep_unless_told(settings: Settings) -> None:
    assert settings.drift_sweep_seconds == 0  # the tests' settings: the default
    assert WorkerSettings().drift_sweep_seconds == 0
