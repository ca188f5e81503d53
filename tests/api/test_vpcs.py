"""VPCs over HTTP, down to what the simulated guest configures: the records (bad blocks,
overlaps, a VPC with members), and joining, moving and leaving with `update_vpc` (a private
address from the block, never one twice; a failed join frees its address and leaves the
machine where it was)."""

import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nuage.db.models import VpcMember
from nuage.drivers.base import PrivateNetwork
from tests.support import LOCATION, Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio


def vpc_body(cidr_block: str = "10.0.0.0/24", **changes: Any) -> dict[str, Any]:
    return {"name": "private", "cidr_block": cidr_block, "location_id": LOCATION, **changes}


async def new_vpc(tenant: Tenant, cidr_block: str = "10.0.0.0/24", **changes: Any) -> str:
    response = await tenant.post("/vpcs", json=vpc_body(cidr_block, **changes))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def put(tenant: Tenant, path: str, body: dict[str, Any]) -> httpx.Response:
    return await tenant.client.put(tenant.base + path, json=body, headers=tenant.headers)


async def delete(tenant: Tenant, path: str) -> httpx.Response:
    return await tenant.client.delete(tenant.base + path, headers=tenant.headers)


async def move(tenant: Tenant, instance: dict[str, Any], vpc_id: str | None) -> dict[str, Any]:
    """Queue update_vpc and wait for it; the finished task."""
    response = await tenant.post(f"/instances/{instance['id']}/vpc", json={"vpc_id": vpc_id})
    assert response.status_code == 202, response.text
    assert response.headers["Location"].endswith(f"/tasks/{response.json()['id']}")
    return await tenant.wait(response.json()["id"])


async def shown_vpc(tenant: Tenant, instance: dict[str, Any]) -> dict[str, Any] | None:
    response = await tenant.get(f"/instances/{instance['id']}")
    assert response.status_code == 200, response.text
    vpc: dict[str, Any] | None = response.json()["vpc"]
    return vpc


async def eth1_lines(stack: Stack, instance: dict[str, Any]) -> list[str]:
    """What the guest printed about eth1 at its latest boot."""
    console = (await stack.driver.console(instance["id"])).splitlines()
    last_boot = max(i for i, line in enumerate(console) if line.startswith("NUAGE-IFACES"))
    return [line for line in console[last_boot:] if line.startswith("NUAGE-NET eth1")]


async def test_a_vpc_is_written_read_listed_renamed_and_deleted(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    created = await tenant.post("/vpcs", json=vpc_body("192.168.10.0/24", name="backend"))
    assert created.status_code == 201, created.text
    vpc = created.json()
    assert (vpc["name"], vpc["cidr_block"], vpc["location"]["id"]) == (
        "backend",
        "192.168.10.0/24",
        LOCATION,
    )
    assert (await tenant.get(f"/vpcs/{vpc['id']}")).json() == vpc
    listed = (await tenant.get("/vpcs")).json()
    assert [v["id"] for v in listed["results"]] == [vpc["id"]]

    renamed = await put(tenant, f"/vpcs/{vpc['id']}", vpc_body("192.168.10.0/24", name="db"))
    assert renamed.status_code == 200, renamed.text
    assert (await tenant.get(f"/vpcs/{vpc['id']}")).json()["name"] == "db"
    moved = await put(tenant, f"/vpcs/{vpc['id']}", vpc_body("172.16.0.0/16"))
    assert moved.json()["cidr_block"] == "172.16.0.0/16"  # no members: the block may change

    assert (await delete(tenant, f"/vpcs/{vpc['id']}")).status_code == 204
    assert (await tenant.get(f"/vpcs/{vpc['id']}")).status_code == 404


@pytest.mark.parametrize(
    "cidr_block",
    [
        "10.0.0.1/24",  # host bits set
        "8.8.8.0/24",  # public
        "172.32.0.0/16",  # just outside 172.16.0.0/12
        "10.0.0.0/8",  # too large
        "10.0.0.0/30",  # too small
        "fd00::/64",  # IPv6
        "not a network",
        "10.0.0.0",
    ],
)
async def test_a_bad_block_is_a_400_on_cidr_block_and_writes_nothing(
    stack: Stack, tenants: TenantFactory, cidr_block: str
) -> None:
    tenant = await tenants()
    response = await tenant.post("/vpcs", json=vpc_body(cidr_block))
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["cidr_block"]
    assert (await tenant.get("/vpcs")).json()["results"] == []


async def test_an_unknown_location_is_a_400(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    response = await tenant.post("/vpcs", json=vpc_body(location_id=str(uuid.uuid4())))
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["location_id"]


async def test_overlapping_blocks_are_refused_within_a_project_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant, other = await tenants(), await tenants()
    first = await new_vpc(tenant, "10.0.0.0/16", name="wide")

    for block in ("10.0.5.0/24", "10.0.0.0/16"):
        response = await tenant.post("/vpcs", json=vpc_body(block))
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "vpc_cidr_overlap"
        assert "wide (10.0.0.0/16)" in response.json()["detail"]
    second = await new_vpc(tenant, "10.1.0.0/24")
    changed = await put(tenant, f"/vpcs/{second}", vpc_body("10.0.1.0/24"))
    assert (changed.status_code, changed.json()["code"]) == (409, "vpc_cidr_overlap")
    assert (await tenant.get(f"/vpcs/{second}")).json()["cidr_block"] == "10.1.0.0/24"
    assert len((await tenant.get("/vpcs")).json()["results"]) == 2

    await new_vpc(other, "10.0.0.0/16")  # another project's blocks are its own
    assert first


async def test_another_projects_vpc_is_not_found(stack: Stack, tenants: TenantFactory) -> None:
    tenant, other = await tenants(), await tenants()
    theirs = await new_vpc(other)
    missing = str(uuid.uuid4())
    for method in ("GET", "PUT", "DELETE"):
        answers = []
        for vpc_id in (theirs, missing):
            request = tenant.client.build_request(
                method,
                f"{tenant.base}/vpcs/{vpc_id}",
                headers=tenant.headers,
                json=vpc_body("10.9.0.0/24") if method == "PUT" else None,
            )
            response = await tenant.client.send(request)
            answers.append((response.status_code, response.content))
        assert answers[0] == answers[1] and answers[0][0] == 404
    assert (await other.get(f"/vpcs/{theirs}")).json()["cidr_block"] == "10.0.0.0/24"


async def test_instances_join_move_and_leave_with_private_addresses(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    a, b = await tenant.running_instance(), await tenant.running_instance()
    blue = await new_vpc(tenant, "10.0.0.0/24", name="blue")
    green = await new_vpc(tenant, "172.16.8.0/28", name="green")

    joined = await move(tenant, a, blue)
    assert joined["status"] == "completed", joined
    assert joined["task_type"] == "update_vpc"
    assert joined["parameters"]["address"] == "10.0.0.2"  # .1 is kept back
    assert joined["result"]["vpc"] == {"vpc_id": blue, "private_address": "10.0.0.2"}
    assert (await move(tenant, b, blue))["status"] == "completed"

    vpc_a, vpc_b = await shown_vpc(tenant, a), await shown_vpc(tenant, b)
    assert vpc_a is not None and vpc_b is not None
    assert (vpc_a["id"], vpc_a["name"], vpc_a["cidr_block"]) == (blue, "blue", "10.0.0.0/24")
    assert vpc_a["location"]["id"] == LOCATION
    assert (vpc_a["private_address"], vpc_b["private_address"]) == ("10.0.0.2", "10.0.0.3")
    assert await eth1_lines(stack, a) == ["NUAGE-NET eth1 10.0.0.2/24"]
    assert await eth1_lines(stack, b) == ["NUAGE-NET eth1 10.0.0.3/24"]
    assert await stack.driver.private_networks() >= {blue}

    refused = await delete(tenant, f"/vpcs/{blue}")
    assert (refused.status_code, refused.json()["code"]) == (409, "vpc_has_members")
    reblock = await put(tenant, f"/vpcs/{blue}", vpc_body("10.5.0.0/24"))
    assert (reblock.status_code, reblock.json()["code"]) == (409, "vpc_has_members")

    assert (await move(tenant, a, green))["status"] == "completed"  # leave + join, one task
    moved = await shown_vpc(tenant, a)
    assert moved is not None and (moved["id"], moved["private_address"]) == (
        green,
        "172.16.8.2",
    )
    assert await eth1_lines(stack, a) == ["NUAGE-NET eth1 172.16.8.2/28"]

    for instance in (a, b):
        assert (await move(tenant, instance, None))["status"] == "completed"
        assert await shown_vpc(tenant, instance) is None
        assert await eth1_lines(stack, instance) == []
    assert not {blue, green} & await stack.driver.private_networks()
    assert (await delete(tenant, f"/vpcs/{blue}")).status_code == 204


async def test_a_left_address_is_handed_out_again_and_none_twice(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    vpc = await new_vpc(tenant, "10.0.0.0/28")  # .2 to .14: 13 addresses
    instances = [await tenant.running_instance() for _ in range(3)]
    for instance in instances:
        assert (await move(tenant, instance, vpc))["status"] == "completed"
    await move(tenant, instances[0], None)
    late = await tenant.running_instance()
    assert (await move(tenant, late, vpc))["parameters"]["address"] == "10.0.0.2"
    shown = [await shown_vpc(tenant, i) for i in (*instances[1:], late)]
    addresses = [v["private_address"] for v in shown if v is not None]
    assert sorted(addresses) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]


async def test_a_full_vpc_is_a_409_and_writes_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants(quota=20)
    vpc = await new_vpc(tenant, "10.0.0.0/28")  # .2 to .14: 13 addresses
    for _ in range(13):
        member, _task = await tenant.create_instance()  # each join queues behind its create
        response = await tenant.post(f"/instances/{member['id']}/vpc", json={"vpc_id": vpc})
        assert response.status_code == 202, response.text
    instance, _task = await tenant.create_instance()
    before = (await tenant.get("/tasks")).json()["count"]

    response = await tenant.post(f"/instances/{instance['id']}/vpc", json={"vpc_id": vpc})

    assert (response.status_code, response.json()["code"]) == (409, "vpc_full")
    assert (await tenant.get("/tasks")).json()["count"] == before
    async with stack.runtime.sessions() as session:
        members = await session.scalar(sa.select(sa.func.count()).select_from(VpcMember))
    assert members == 13


async def test_a_vpc_of_another_location_or_project_is_refused_on_vpc_id(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant, other = await tenants(), await tenants()
    instance, _task = await tenant.create_instance()
    locations = (await tenant.client.get("/v1/compute/locations", headers=tenant.headers)).json()
    elsewhere = next(loc["id"] for loc in locations["results"] if loc["id"] != LOCATION)
    far = await new_vpc(tenant, "10.7.0.0/24", location_id=elsewhere)
    theirs = await new_vpc(other)
    before = (await tenant.get("/tasks")).json()["count"]

    for vpc_id in (far, theirs, str(uuid.uuid4())):
        response = await tenant.post(f"/instances/{instance['id']}/vpc", json={"vpc_id": vpc_id})
        assert response.status_code == 400, response.text
        assert list(response.json()) == ["vpc_id"]
    assert (await tenant.get("/tasks")).json()["count"] == before


async def test_a_join_replayed_with_its_idempotency_key_reserves_one_address(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _task = await tenant.create_instance()
    vpc = await new_vpc(tenant)
    key = {"Idempotency-Key": "join-once"}
    path = f"/instances/{instance['id']}/vpc"

    first = await tenant.post(path, json={"vpc_id": vpc}, headers=key)
    again = await tenant.post(path, json={"vpc_id": vpc}, headers=key)

    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    other = await tenant.post(path, json={"vpc_id": None}, headers=key)
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    async with stack.runtime.sessions() as session:
        members = await session.scalar(sa.select(sa.func.count()).select_from(VpcMember))
    assert members == 1


async def test_a_failed_join_frees_its_address_and_leaves_the_machine_where_it_was(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    blue = await new_vpc(tenant, "10.0.0.0/24")
    green = await new_vpc(tenant, "10.1.0.0/24")
    assert (await move(tenant, instance, blue))["status"] == "completed"
    stack.driver.inject_fault(instance["id"], operation="set_private_network", kind="permanent")

    failed = await move(tenant, instance, green)

    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "sim_permanent_fault"
    shown = await shown_vpc(tenant, instance)
    assert shown is not None and (shown["id"], shown["private_address"]) == (blue, "10.0.0.2")
    machine = await stack.driver.inspect(instance["id"])
    assert machine is not None
    assert machine.private_network == PrivateNetwork(blue, "10.0.0.2", 24)
    other = await tenant.running_instance()
    assert (await move(tenant, other, green))["parameters"]["address"] == "10.1.0.2"


async def test_a_cancelled_join_frees_its_address_and_changes_nothing(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    vpc = await new_vpc(tenant)
    first, _task = await tenant.create_instance()
    second, _task = await tenant.create_instance()
    queued = await tenant.post(f"/instances/{first['id']}/vpc", json={"vpc_id": vpc})
    assert queued.json()["parameters"]["address"] == "10.0.0.2"

    cancel = await tenant.post(f"/tasks/{queued.json()['id']}/cancel")

    assert cancel.status_code == 200, cancel.text
    assert (await tenant.wait(queued.json()["id"]))["status"] == "cancelled"
    assert await shown_vpc(tenant, first) is None
    again = await tenant.post(f"/instances/{second['id']}/vpc", json={"vpc_id": vpc})
    assert again.json()["parameters"]["address"] == "10.0.0.2"


async def test_a_deleted_member_no_longer_holds_its_vpc(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    vpc = await new_vpc(tenant)
    instance = await tenant.running_instance()
    assert (await move(tenant, instance, vpc))["status"] == "completed"

    gone = await delete(tenant, f"/instances/{instance['id']}")
    assert (await tenant.wait(gone.json()["id"]))["status"] == "completed"

    assert vpc not in await stack.driver.private_networks()
    assert (await delete(tenant, f"/vpcs/{vpc}")).status_code == 204
