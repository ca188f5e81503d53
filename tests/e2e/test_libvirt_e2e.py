"""End to end through the HTTP API on a real libvirt host: create → the guest boots and prints
its hostname and addresses → stop → resize → start (the guest sees the new size) → reboot →
assign and remove an address (the guest configures it, then not) → reinstall → delete (nothing
left behind)."""

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nuage.config import Settings
from nuage.db.session import transaction
from nuage.domain.enums import HostState
from nuage.engine.hosts import Drivers
from nuage.engine.worker import Worker
from nuage.services import hosts
from tests.drivers.conftest import libvirt_driver
from tests.support import SIZES, Stack, TenantFactory, worker_settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
MARKER = re.compile(r"NUAGE-BOOTED hostname=(\S+) vcpus=(\d+) mem_mb=(\d+) disk=(\w+)")


@pytest.fixture
async def libvirt_host(stack: Stack, settings: Settings, tmp_path: Path) -> AsyncIterator[Any]:
    """A libvirt host in par1 (the simulated one disabled) and a worker that reaches it."""
    from nuage.drivers.libvirt import LibvirtDriver

    driver = libvirt_driver(tmp_path / "libvirt")
    assert isinstance(driver, LibvirtDriver)
    async with transaction(stack.runtime.sessions) as session:
        sim = await hosts.host_by_name(session, "sim-par1")
        await hosts.change_host(session, sim.id, hosts.HostChanges(state=HostState.DISABLED))
        await hosts.add_host(
            session,
            hosts.HostSpec("kvm-e2e", "par1", "libvirt", driver.settings.uri, 4, 8192, 200),
        )
    worker = Worker(
        stack.runtime.sessions,
        Drivers(lambda host: driver if host.driver == "libvirt" else stack.driver),
        stack.notifier,
        worker_settings(settings, lease_seconds=60.0),
    )
    stack.start_worker(worker)
    yield driver
    await stack.stop_workers()
    await driver.close()


def last_marker(console: str) -> tuple[str, int, int, str]:
    found = MARKER.findall(console)
    assert found, console[-2000:]
    hostname, vcpus, mem_mb, disk = found[-1]
    return hostname, int(vcpus), int(mem_mb), disk


def last_net(console: str) -> str:
    return [line for line in console.splitlines() if line.startswith("NUAGE-NET ")][-1]


async def addresses_reach_the_guest(tenant: Any, instance: dict[str, Any], driver: Any) -> None:
    ips = f"/instances/{instance['id']}/ips"
    before = last_net(await driver.console(instance["id"]))
    assigned = await tenant.post(ips, json={"version": 4})
    task = await tenant.wait(assigned.json()["id"], timeout=180)
    assert task["status"] == "completed", task
    added = task["parameters"]["address"]
    assert last_net(await driver.console(instance["id"])) == f"{before} {added}/24"
    removed = await tenant.client.delete(
        f"{tenant.base}{ips}/{task['parameters']['ip_id']}", headers=tenant.headers
    )
    assert (await tenant.wait(removed.json()["id"], timeout=180))["status"] == "completed"
    assert last_net(await driver.console(instance["id"])) == before


async def test_a_guest_lives_its_whole_life_through_the_api(
    tenants: TenantFactory, libvirt_host: Any
) -> None:
    driver = libvirt_host
    tenant = await tenants()

    async def run(verb: str, body: Any = None) -> dict[str, Any]:
        task = await tenant.act(instance["id"], verb, body)
        done = await tenant.wait(task["id"], timeout=180)
        assert done["status"] == "completed", done
        return done

    instance, task_id = await tenant.create_instance(
        name="e2e", hostname="e2e-guest", size_id=SIZES["nano"]
    )
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    hostname, vcpus, mem_mb, disk = last_marker(await driver.console(instance["id"]))
    assert (hostname, vcpus, disk) == ("e2e-guest", 1, "fresh")
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    primaries = f"{shown['ipv4'][0]}/24 {shown['ipv6'][0]}/64"
    assert last_net(await driver.console(instance["id"])) == f"NUAGE-NET eth0 {primaries}"
    assert 0.8 * 512 <= mem_mb <= 512

    await run("stop")
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["power_state"] == "off"
    await run("resize", {"size_id": SIZES["medium"]})  # 2 vCPU, 2048 MiB
    await run("start")
    hostname, vcpus, mem_mb, disk = last_marker(await driver.console(instance["id"]))
    assert (vcpus, disk) == (2, "used") and 0.8 * 2048 <= mem_mb <= 2048

    before = len(MARKER.findall(await driver.console(instance["id"])))
    await run("reboot")
    assert len(MARKER.findall(await driver.console(instance["id"]))) > before

    await addresses_reach_the_guest(tenant, instance, driver)

    await run("reinstall", {"image_id": "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10002"})
    assert last_marker(await driver.console(instance["id"]))[3] == "fresh"

    deleted = await tenant.client.delete(
        f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers
    )
    assert (await tenant.wait(deleted.json()["id"], timeout=120))["status"] == "completed"
    assert await driver.inspect(instance["id"]) is None
    machine_dir = driver.settings.state_dir / instance["id"]
    await asyncio.sleep(0)
    assert not machine_dir.exists()
