"""create_vps places the instance on a host of its location with room for its size, spread by
free capacity; later tasks run on that host; no room fails the create with a clear code."""

from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.db.models import Host, Instance
from nuage.db.session import transaction
from nuage.domain.enums import HostState
from nuage.services import hosts
from tests.support import LOCATION, SIZES, Stack, TenantFactory

pytestmark = pytest.mark.anyio


async def add_host(
    stack: Stack, name: str, *, ram_mb: int, state: HostState = HostState.ENABLED
) -> None:
    async with transaction(stack.runtime.sessions) as session:
        await hosts.add_host(
            session, hosts.HostSpec(name, "par1", "sim", f"sim:///{name}", 8, ram_mb, 500, state)
        )


async def disable_seeded_par1(stack: Stack) -> None:
    async with transaction(stack.runtime.sessions) as session:
        host = await hosts.host_by_name(session, "sim-par1")
        await hosts.change_host(session, host.id, hosts.HostChanges(state=HostState.DISABLED))


async def host_of(stack: Stack, instance_id: str) -> str | None:
    async with stack.runtime.sessions() as session:
        row = await session.scalar(
            sa.select(Host.name)
            .join(Instance, Instance.host_id == Host.id)
            .where(Instance.id == UUID(instance_id))
        )
        return row


async def test_instances_spread_over_hosts_by_free_memory(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await disable_seeded_par1(stack)
    await add_host(stack, "small-host", ram_mb=3072)
    await add_host(stack, "big-host", ram_mb=4096)
    tenant = await tenants()
    placed: list[str | None] = []
    for _ in range(3):  # 1 GiB each: big (4→3), then tie 3/3 → by name, then the other
        instance = await tenant.running_instance(size_id=SIZES["small"])
        placed.append(await host_of(stack, instance["id"]))
    assert placed[0] == "big-host"
    assert set(placed) == {"big-host", "small-host"}
    async with stack.runtime.sessions() as session:
        views = {v.host.name: v.load for v in await hosts.list_hosts(session)}
    assert views["big-host"].allocated.ram_mb + views["small-host"].allocated.ram_mb == 3 * 1024
    assert views["sim-par1"].allocated.ram_mb == 0


async def test_no_room_fails_the_create_with_no_capacity(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await disable_seeded_par1(stack)
    await add_host(stack, "tiny-host", ram_mb=512)
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(size_id=SIZES["small"])
    task = await tenant.wait(task_id)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "no_capacity" and task["error"]["retryable"] is False
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "error"
    assert await host_of(stack, instance["id"]) is None


async def test_draining_hosts_take_no_new_instances_but_keep_running_theirs(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert await host_of(stack, instance["id"]) == "sim-par1"
    async with transaction(stack.runtime.sessions) as session:
        host = await hosts.host_by_name(session, "sim-par1")
        await hosts.change_host(session, host.id, hosts.HostChanges(state=HostState.DRAINING))
    stop = await tenant.act(instance["id"], "stop")
    assert (await tenant.wait(stop["id"]))["status"] == "completed"
    _, task_id = await tenant.create_instance()
    assert (await tenant.wait(task_id))["error"]["code"] == "no_capacity"


async def test_a_deleted_instance_frees_its_room(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await disable_seeded_par1(stack)
    await add_host(stack, "one-slot", ram_mb=1024)
    tenant = await tenants()
    first = await tenant.running_instance(size_id=SIZES["small"])
    deleted = await tenant.client.delete(
        f"{tenant.base}/instances/{first['id']}", headers=tenant.headers
    )
    assert (await tenant.wait(deleted.json()["id"]))["status"] == "completed"
    second = await tenant.running_instance(size_id=SIZES["small"])
    assert await host_of(stack, second["id"]) == "one-slot"


async def test_each_location_places_on_its_own_hosts(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    fra = "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0002"
    here: dict[str, Any] = await tenant.running_instance(location_id=fra)
    assert await host_of(stack, here["id"]) == "sim-fra1"
    there = await tenant.running_instance(location_id=LOCATION)
    assert await host_of(stack, there["id"]) == "sim-par1"


async def test_an_instance_from_a_custom_image_goes_to_the_images_host(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    """A custom image is a file on the host that made it; free room elsewhere does not count."""
    tenant = await tenants()
    source = (await tenant.running_instance(size_id=SIZES["small"]))["id"]
    assert await host_of(stack, source) == "sim-par1"
    made = await tenant.post(f"/instances/{source}/snapshots", {"name": "s"})
    snapshot_id = (await tenant.wait(made.json()["id"]))["parameters"]["snapshot_id"]
    image = await tenant.post(f"/instances/{source}/snapshots/{snapshot_id}/image", {"name": "i"})
    image_id = (await tenant.wait(image.json()["id"]))["parameters"]["image_id"]
    await add_host(stack, "roomier", ram_mb=2_000_000_000)

    copy = await tenant.running_instance(size_id=SIZES["small"], image_id=image_id)
    other = await tenant.running_instance(size_id=SIZES["small"])

    assert await host_of(stack, copy["id"]) == "sim-par1"
    assert await host_of(stack, other["id"]) == "roomier"
