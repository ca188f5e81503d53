"""An instance's addresses over HTTP, down to what the simulated guest configures: primaries at
create, assign, remove, reverse DNS, exhaustion, quarantine, and a failed assign."""

import ipaddress
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.db.models import IpAddress, IpPool
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.services import ip_allocation, ip_pools
from tests.support import Stack, Tenant, TenantFactory, create_body, start_worker

pytestmark = pytest.mark.anyio


def ips_of(instance: dict[str, Any]) -> str:
    return f"/instances/{instance['id']}/ips"


async def listed(tenant: Tenant, instance: dict[str, Any]) -> list[dict[str, Any]]:
    response = await tenant.get(ips_of(instance))
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def done(tenant: Tenant, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    task = await tenant.wait(response.json()["id"])
    assert task["status"] == "completed", task
    return task


async def net_line(stack: Stack, instance: dict[str, Any]) -> str:
    console = await stack.driver.console(instance["id"])
    return [line for line in console.splitlines() if line.startswith("NUAGE-NET ")][-1]


async def tiny_pool(stack: Stack, first: str, last: str) -> None:
    """par1's IPv4 addresses from a pool of `first`..`last` only (the demo's one deactivated)."""
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(IpPool).where(IpPool.name == "par1-v4").values(is_active=False)
        )
        spec = ip_pools.PoolSpec("tiny", "par1", "10.20.30.0/24", first=first, last=last)
        await ip_pools.add_pool(session, spec)


async def test_an_instance_gets_a_primary_ipv4_and_ipv6_from_its_locations_pools(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()

    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    (v4,), (v6,) = shown["ipv4"], shown["ipv6"]
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("192.0.2.0/24")
    assert ipaddress.ip_address(v6) in ipaddress.ip_network("2001:db8:0:1::/64")
    addresses = await listed(tenant, instance)
    assert [(a["address"], a["is_primary"], a["status"]) for a in addresses] == [
        (v4, True, "assigned"),
        (v6, True, "assigned"),
    ]
    assert addresses[0]["ptr"] == f"{v4.replace('.', '-')}.static.nuage.example"
    assert await net_line(stack, instance) == f"NUAGE-NET eth0 {v4}/24 {v6}/64"


async def test_two_instances_never_share_an_address(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    first, second = await tenants(), await tenants()
    a = await first.running_instance()
    b = await second.running_instance()
    mine = {x["address"] for x in await listed(first, a)}
    theirs = {x["address"] for x in await listed(second, b)}
    assert len(mine) == len(theirs) == 2 and not mine & theirs


async def test_assign_reverse_dns_and_remove_reach_the_guest(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    (v4, v6) = [a["address"] for a in await listed(tenant, instance)]

    task = await done(tenant, await tenant.post(ips_of(instance), json={"version": 4}))
    added = task["parameters"]["address"]
    assert task["task_type"] == "assign_ip" and added not in (v4, v6)
    extra = next(a for a in await listed(tenant, instance) if a["address"] == added)
    assert (extra["is_primary"], extra["status"], extra["id"]) == (
        False,
        "assigned",
        task["parameters"]["ip_id"],
    )
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["ipv4"] == [v4, added]
    assert await net_line(stack, instance) == f"NUAGE-NET eth0 {v4}/24 {v6}/64 {added}/24"

    path = f"{ips_of(instance)}/{extra['id']}/reverse-dns"
    put = await tenant.client.put(
        tenant.base + path, json={"ptr": "Mail.Example.COM."}, headers=tenant.headers
    )
    await done(tenant, put)
    named = next(a for a in await listed(tenant, instance) if a["id"] == extra["id"])
    assert named["ptr"] == "mail.example.com"
    machine = await stack.driver.inspect(instance["id"])
    assert machine is not None
    assert {a.address: a.ptr for a in machine.addresses}[added] == "mail.example.com"
    reset = await tenant.client.put(tenant.base + path, json={"ptr": None}, headers=tenant.headers)
    await done(tenant, reset)
    named = next(a for a in await listed(tenant, instance) if a["id"] == extra["id"])
    assert named["ptr"] == f"{added.replace('.', '-')}.static.nuage.example"

    removed = await tenant.client.delete(
        f"{tenant.base}{ips_of(instance)}/{extra['id']}", headers=tenant.headers
    )
    await done(tenant, removed)
    assert [a["address"] for a in await listed(tenant, instance)] == [v4, v6]
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["ipv4"] == [v4]
    assert await net_line(stack, instance) == f"NUAGE-NET eth0 {v4}/24 {v6}/64"


async def test_the_primary_address_is_refused_and_nothing_is_queued(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    primary = (await listed(tenant, instance))[0]
    before = (await tenant.get("/tasks")).json()["count"]

    refused = await tenant.client.delete(
        f"{tenant.base}{ips_of(instance)}/{primary['id']}", headers=tenant.headers
    )

    assert refused.status_code == 409 and refused.json()["code"] == "primary_address"
    assert (await tenant.get("/tasks")).json()["count"] == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 5}, "version"),
        ({"version": "four"}, "version"),
        ({}, "version"),
        ({"version": 4, "address": "192.0.2.99"}, "address"),
    ],
)
async def test_assign_refuses_bad_bodies(
    stack: Stack, tenants: TenantFactory, body: dict[str, Any], field: str
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    refused = await tenant.post(ips_of(instance), json=body)
    assert refused.status_code == 400 and field in refused.json(), refused.text


@pytest.mark.parametrize("ptr", ["localhost", "a..example.com", "-x.example.com", 42, "a b.com"])
async def test_reverse_dns_refuses_what_is_not_a_hostname(
    stack: Stack, tenants: TenantFactory, worker: object, ptr: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    primary = (await listed(tenant, instance))[0]
    path = f"{tenant.base}{ips_of(instance)}/{primary['id']}/reverse-dns"
    refused = await tenant.client.put(path, json={"ptr": ptr}, headers=tenant.headers)
    assert refused.status_code == 400 and "ptr" in refused.json(), refused.text


async def test_an_exhausted_pool_is_a_409_that_writes_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await tiny_pool(stack, "10.20.30.2", "10.20.30.2")  # one address
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert (await listed(tenant, instance))[0]["address"] == "10.20.30.2"
    tasks_before = (await tenant.get("/tasks")).json()["count"]

    refused = await tenant.post(ips_of(instance), json={"version": 4})
    no_room = await tenant.post("/instances", json=create_body(name="second"))

    for response in (refused, no_room):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "address_pool_exhausted"
    assert (await tenant.get("/tasks")).json()["count"] == tasks_before
    assert (await tenant.get("/instances")).json()["count"] == 1
    assert len(await listed(tenant, instance)) == 2
    still = await tenant.post(ips_of(instance), json={"version": 6})
    await done(tenant, still)


async def test_a_released_address_returns_to_the_pool_after_the_quarantine(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await tiny_pool(stack, "10.20.30.2", "10.20.30.3")  # the primary and one more
    tenant = await tenants()
    instance = await tenant.running_instance()
    task = await done(tenant, await tenant.post(ips_of(instance), json={"version": 4}))
    ip_id = task["parameters"]["ip_id"]
    delete = await tenant.client.delete(
        f"{tenant.base}{ips_of(instance)}/{ip_id}", headers=tenant.headers
    )
    await done(tenant, delete)

    resting = await tenant.post(ips_of(instance), json={"version": 4})
    assert resting.status_code == 409 and resting.json()["code"] == "address_pool_exhausted"
    async with transaction(stack.runtime.sessions) as session:  # an hour and a minute later
        earlier = utcnow() - stack.runtime.settings.ip_quarantine - timedelta(minutes=1)
        await session.execute(
            sa.update(IpAddress).where(IpAddress.id == UUID(ip_id)).values(released_at=earlier)
        )
    again = await done(tenant, await tenant.post(ips_of(instance), json={"version": 4}))
    assert again["parameters"]["address"] == "10.20.30.3"
    assert again["parameters"]["ip_id"] != ip_id  # a new object, not the old one revived


async def test_a_failed_assign_frees_its_address_at_once(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stack.driver.inject_fault(instance["id"], operation="set_addresses", kind="permanent")

    failed = await tenant.post(ips_of(instance), json={"version": 4})
    task = await tenant.wait(failed.json()["id"])

    assert task["status"] == "failed" and task["error"]["code"] == "sim_permanent_fault"
    assert len(await listed(tenant, instance)) == 2
    again = await done(tenant, await tenant.post(ips_of(instance), json={"version": 4}))
    assert again["parameters"]["address"] == task["parameters"]["address"]


async def test_assign_replays_with_its_idempotency_key(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    key = {"Idempotency-Key": "assign-once"}
    first = await tenant.post(ips_of(instance), json={"version": 6}, headers=key)
    second = await tenant.post(ips_of(instance), json={"version": 6}, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert [a["status"] for a in await listed(tenant, instance)] == [
        "assigned",
        "assigned",
        "assigning",
    ]
    other = await tenant.post(ips_of(instance), json={"version": 4}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


async def test_a_deleted_instance_releases_its_addresses_into_quarantine(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    await tiny_pool(stack, "10.20.30.2", "10.20.30.2")  # one address
    tenant = await tenants()
    first = await tenant.running_instance()
    response = await tenant.client.delete(
        f"{tenant.base}/instances/{first['id']}", headers=tenant.headers
    )
    await done(tenant, response)

    async with transaction(stack.runtime.sessions) as session:
        rows = (
            await session.scalars(
                sa.select(IpAddress).where(IpAddress.instance_id == UUID(first["id"]))
            )
        ).all()
    assert {(r.state, r.released_at is not None) for r in rows} == {("released", True)}
    refused = await tenant.post("/instances", json=create_body(name="second"))
    assert refused.status_code == 409 and refused.json()["code"] == "address_pool_exhausted"


async def test_a_cancelled_assign_frees_its_address_at_once(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()  # no worker: everything stays pending
    first = (await tenant.post(ips_of(instance), json={"version": 4})).json()
    assert (await tenant.post(f"/tasks/{first['id']}/cancel")).json()["status"] == "cancelled"

    assert [a["status"] for a in await listed(tenant, instance)] == ["assigned", "assigned"]
    again = (await tenant.post(ips_of(instance), json={"version": 4})).json()
    assert again["parameters"]["address"] == first["parameters"]["address"]


async def test_a_retried_assign_takes_over_its_reservation_unless_it_was_handed_out(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    first = (await tenant.post(ips_of(instance), json={"version": 4})).json()
    await tenant.post(f"/tasks/{first['id']}/cancel")
    retried = (await tenant.post(f"/tasks/{first['id']}/retry")).json()
    start_worker(stack, stack.runtime.settings)
    assert (await tenant.wait(retried["id"]))["status"] == "completed"
    await stack.stop_workers()

    second = (await tenant.post(ips_of(instance), json={"version": 4})).json()
    await tenant.post(f"/tasks/{second['id']}/cancel")
    taker = (await tenant.post(ips_of(instance), json={"version": 4})).json()
    late = (await tenant.post(f"/tasks/{second['id']}/retry")).json()
    start_worker(stack, stack.runtime.settings)
    gone = await tenant.wait(late["id"])

    assert retried["parameters"]["address"] == first["parameters"]["address"]
    assert taker["parameters"]["address"] == second["parameters"]["address"]
    assert (gone["status"], gone["error"]["code"]) == ("failed", "address_gone")
    assert (await tenant.wait(taker["id"]))["status"] == "completed"
    held = [a["address"] for a in await listed(tenant, instance) if a["version"] == 4]
    assert len(held) == len(set(held)) == 3
    assert {first["parameters"]["address"], taker["parameters"]["address"]} < set(held)


async def test_a_duplicate_address_is_refused_by_the_database_as_a_409(
    stack: Stack, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the pool lock ever not enough, the unique address still refuses the duplicate: the
    request is a 409 to try again, and writes nothing."""
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    held = (await listed(tenant, instance))[0]["address"]
    monkeypatch.setattr(
        ip_allocation, "first_free", lambda _pool, _taken: ipaddress.ip_address(held)
    )
    tasks_before = (await tenant.get("/tasks")).json()["count"]

    refused = await tenant.post(ips_of(instance), json={"version": 4})

    assert refused.status_code == 409 and refused.json()["code"] == "address_taken"
    assert (await tenant.get("/tasks")).json()["count"] == tasks_before
    assert len(await listed(tenant, instance)) == 2
