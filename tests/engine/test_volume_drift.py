"""Attached devices as drift: a volume detached or attached behind nuage's back (here: the
simulator's machine state edited, as `virsh detach-disk` would on a libvirt host;
tests/e2e/test_libvirt_drift_volumes.py does it with virsh) is adopted by `sync_vps_state`, which
records it; the sweep sees a detach as drift; a disk nuage does not know is reported, not made a
volume."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Volume
from nuage.engine import drift
from nuage.engine.hosts import Drivers
from tests.support import Stack, Tenant, TenantFactory, poll

pytestmark = pytest.mark.anyio


def machine_state(settings: Settings, machine_id: str) -> tuple[Path, dict[str, Any]]:
    path = Path(settings.sim_state_dir) / "machines" / f"{machine_id}.json"
    return path, json.loads(path.read_text())


def set_volumes(settings: Settings, machine_id: str, volumes: list[dict[str, Any]]) -> None:
    """The machine's attached disks, changed without the driver."""
    path, state = machine_state(settings, machine_id)
    path.write_text(json.dumps({**state, "volumes": volumes}))


async def new_volume(tenant: Tenant, instance_id: str) -> dict[str, Any]:
    response = await tenant.post(
        f"/instances/{instance_id}/volumes", json={"name": "data", "size_gb": 1}
    )
    assert response.status_code == 202, response.text
    assert (await tenant.wait(response.json()["id"]))["status"] == "completed"
    return await shown(tenant, response.json()["parameters"]["volume_id"])


async def shown(tenant: Tenant, volume_id: str) -> dict[str, Any]:
    response = await tenant.get(f"/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sync(tenant: Tenant, instance_id: str) -> dict[str, Any]:
    task = await tenant.wait((await tenant.act(instance_id, "sync"))["id"])
    assert task["status"] == "completed", task
    return task


async def test_sync_adopts_a_volume_detached_and_attached_behind_nuages_back(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    vol = await new_volume(tenant, instance["id"])
    assert (vol["status"], vol["device"]) == ("in-use", "vdc")
    _, state = machine_state(settings, instance["id"])
    plugged = state["volumes"]
    set_volumes(settings, instance["id"], [])

    task = await sync(tenant, instance["id"])

    assert task["result"]["volumes_detached"] == [vol["id"]]
    assert task["result"]["drift"]["volumes"] == {"was": [[vol["id"], "vdc"]], "now": []}
    after = await shown(tenant, vol["id"])
    assert (after["status"], after["instance_id"], after["device"]) == ("available", None, None)
    set_volumes(settings, instance["id"], [{**plugged[0], "device": "vdd"}])
    back = await sync(tenant, instance["id"])
    assert back["result"]["volumes_attached"] == {vol["id"]: "vdd"}
    assert back["result"]["drift"]["volumes"] == {"was": [], "now": [[vol["id"], "vdd"]]}
    again = await shown(tenant, vol["id"])
    assert (again["status"], again["instance_id"], again["device"]) == (
        "in-use",
        instance["id"],
        "vdd",
    )
    assert (await sync(tenant, instance["id"]))["result"]["drift"] == {}


async def test_a_disk_nuage_does_not_know_is_reported_and_no_volume_is_made(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant, other = await tenants(), await tenants()
    instance = await tenant.running_instance()
    theirs = await new_volume(other, (await other.running_instance())["id"])
    stranger = str(uuid.uuid4())
    disks = [
        {"device": "vdc", "volume_id": stranger, "size_gb": 1},
        {"device": "vdd", "volume_id": theirs["id"], "size_gb": 1},
    ]
    set_volumes(settings, instance["id"], disks)

    task = await sync(tenant, instance["id"])

    assert task["result"]["unknown_disks"] == [
        {"device": "vdc", "source": stranger},
        {"device": "vdd", "source": theirs["id"]},
    ]
    assert task["result"]["volumes_attached"] == {}
    async with stack.runtime.sessions() as session:
        ids = set((await session.scalars(sa.select(Volume.id))).all())
    assert ids == {uuid.UUID(theirs["id"])}  # no row invented, the other tenant's left alone
    assert (await shown(other, theirs["id"]))["instance_id"] != instance["id"]


async def test_the_sweep_sees_a_volume_detached_behind_nuages_back(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    vol = await new_volume(tenant, instance["id"])
    assert await drift.sweep(stack.runtime.sessions, Drivers.single(stack.driver)) == []
    set_volumes(settings, instance["id"], [])

    queued = await drift.sweep(stack.runtime.sessions, Drivers.single(stack.driver))

    assert [str(i) for i in queued] == [instance["id"]]

    async def detached() -> bool:
        return (await shown(tenant, vol["id"]))["status"] == "available"

    await poll(detached)
