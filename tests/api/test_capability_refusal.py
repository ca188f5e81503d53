"""A task whose instance's hypervisor lacks the capability it needs is refused when asked for
(400 `capability_not_supported`, no task written), here with simulated hosts configured to model
a hypervisor without power control; a host changed after the task was accepted fails it in the
engine with the same code, leaving the machine as it was."""

from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Instance
from nuage.db.session import transaction
from nuage.engine.hosts import Drivers
from nuage.engine.worker import Worker
from tests.api.test_admin_hosts import HOSTS, make_staff
from tests.support import LOCATION, Stack, Tenant, TenantFactory, worker_settings

pytestmark = pytest.mark.anyio
WITHOUT_POWER = {"capabilities": ["hostname", "reinstall", "resize"]}


async def host_of(stack: Stack, instance_id: str) -> UUID:
    async with transaction(stack.runtime.sessions) as session:
        host_id = await session.scalar(
            sa.select(Instance.host_id).where(Instance.id == UUID(instance_id))
        )
    assert host_id is not None
    return host_id


async def configure(admin: Tenant, host_id: object, config: dict[str, Any]) -> None:
    response = await admin.client.patch(
        f"{HOSTS}/{host_id}", json={"config": config}, headers=admin.headers
    )
    assert response.status_code == 200, response.text


async def location_hosts(admin: Tenant) -> list[dict[str, Any]]:
    hosts = (await admin.client.get(HOSTS, headers=admin.headers)).json()
    return [h for h in hosts if h["location_id"] == LOCATION and h["state"] == "enabled"]


def refused(response: Any) -> bool:
    return bool(
        response.status_code == 400 and response.json()["code"] == "capability_not_supported"
    )


async def test_a_host_without_power_control_refuses_power_tasks_with_a_400(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant)
    instance = await tenant.running_instance()
    await configure(tenant, await host_of(stack, instance["id"]), WITHOUT_POWER)
    tasks_before = (await tenant.get("/tasks")).json()["count"]

    stop = await tenant.post(f"/instances/{instance['id']}/stop")
    generic = await tenant.post(
        "/tasks", json={"instance_id": instance["id"], "task_type": "reboot_vps"}
    )

    assert refused(stop), stop.text
    assert "power" in stop.json()["detail"]
    assert refused(generic), generic.text
    assert (await tenant.get("/tasks")).json()["count"] == tasks_before
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (shown["status"], shown["power_state"]) == ("running", "on")
    renamed = await tenant.act(instance["id"], "hostname", {"hostname": "still-works"})
    assert (await tenant.wait(renamed["id"]))["status"] == "completed"


async def test_an_unplaced_instance_is_checked_against_its_locations_hosts(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant)
    instance, _create = await tenant.create_instance()  # no worker: it stays unplaced
    hosts = await location_hosts(tenant)
    assert hosts
    for host in hosts:
        await configure(tenant, host["id"], WITHOUT_POWER)

    assert refused(await tenant.post(f"/instances/{instance['id']}/stop"))

    await configure(tenant, hosts[0]["id"], {})  # one host that could run it has power control
    accepted = await tenant.post(f"/instances/{instance['id']}/stop")
    assert accepted.status_code == 202, accepted.text


async def test_a_host_changed_after_the_task_was_accepted_fails_it_in_the_engine(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant)
    drivers = Drivers.from_registry(settings)  # each host's driver from its configuration

    def start_worker() -> None:
        sessions, notifier = stack.runtime.sessions, stack.notifier
        stack.start_worker(Worker(sessions, drivers, notifier, worker_settings(settings)))

    start_worker()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    stop = await tenant.act(instance["id"], "stop")
    await configure(tenant, await host_of(stack, instance["id"]), WITHOUT_POWER)
    start_worker()

    task = await tenant.wait(stop["id"])

    assert task["status"] == "failed"
    assert task["error"]["code"] == "capability_not_supported"
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (shown["status"], shown["power_state"]) == ("running", "on")
    machine = await stack.driver.inspect(instance["id"])
    assert machine is not None and machine.power.value == "on"
    await drivers.close()
