"""The operators' address pools over HTTP: staff only, validated (CIDRs, ranges, overlaps), and
they show what is used."""

from typing import Any

import pytest
import sqlalchemy as sa

from nuage.db.models import IpPool
from nuage.db.session import transaction
from nuage.domain.enums import Scope
from nuage.services import ip_pools
from tests.api.test_admin_hosts import make_staff
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio
POOLS = "/v1/admin/ip-pools"
NEW_POOL = {"name": "par1-extra", "location": "par1", "cidr": "10.1.0.0/28"}


async def test_staff_add_list_and_deactivate_pools(stack: Stack, tenants: TenantFactory) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    created = await operator.client.post(
        POOLS, json={**NEW_POOL, "ptr_domain": "IP.Example.NET."}, headers=operator.headers
    )
    assert created.status_code == 201, created.text
    pool = created.json()
    assert {k: pool[k] for k in ("version", "gateway", "first", "last", "ptr_domain")} == {
        "version": 4,
        "gateway": "10.1.0.1",
        "first": "10.1.0.2",
        "last": "10.1.0.14",
        "ptr_domain": "ip.example.net",
    }
    assert (pool["size"], pool["used"], pool["is_active"]) == (13, 0, True)
    listed = (await operator.client.get(POOLS, headers=operator.headers)).json()
    assert {p["name"] for p in listed} >= {"par1-extra", "par1-v4", "par1-v6", "fra1-v4"}
    changed = await operator.client.patch(
        f"{POOLS}/{pool['id']}", json={"is_active": False}, headers=operator.headers
    )
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    got = await operator.client.get(f"{POOLS}/{pool['id']}", headers=operator.headers)
    assert got.json()["is_active"] is False


async def test_pools_count_the_addresses_instances_hold(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    await operator.running_instance()  # in par1: one IPv4, one IPv6
    listed = (await operator.client.get(POOLS, headers=operator.headers)).json()
    used = {p["name"]: p["used"] for p in listed}
    assert (used["par1-v4"], used["par1-v6"], used["fra1-v4"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cidr": "10.1.0.1/28"}, "cidr"),  # host bits
        ({"cidr": "banana"}, "cidr"),
        ({"cidr": "192.0.2.128/25"}, "cidr"),  # overlaps par1-v4
        ({"cidr": "2001:db8:0:1::/64"}, "cidr"),  # overlaps par1-v6
        ({"first": "10.2.0.5"}, "first"),
        ({"first": "10.1.0.9", "last": "10.1.0.3"}, "last"),
        ({"location": "atlantis"}, "location"),
        ({"name": "par1-v4"}, "name"),
        ({"ptr_domain": "not a domain"}, "ptr_domain"),
        ({"version": 4}, "version"),  # unknown field: the version comes from the CIDR
    ],
)
async def test_bad_pools_are_refused_naming_the_field(
    stack: Stack, tenants: TenantFactory, change: dict[str, Any], field: str
) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    before = (await operator.client.get(POOLS, headers=operator.headers)).json()
    refused = await operator.client.post(
        POOLS, json={**NEW_POOL, **change}, headers=operator.headers
    )
    assert refused.status_code == 400 and field in refused.json(), refused.text
    assert (await operator.client.get(POOLS, headers=operator.headers)).json() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", POOLS, None),
        ("POST", POOLS, NEW_POOL),
        ("GET", POOLS + "/{pool}", None),
        ("PATCH", POOLS + "/{pool}", {"is_active": True}),
    ],
)
async def test_only_authenticated_staff_reach_the_pools(
    stack: Stack, tenants: TenantFactory, method: str, path: str, body: object
) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    pools = (await operator.client.get(POOLS, headers=operator.headers)).json()
    path = path.format(pool=pools[0]["id"])
    customer = await tenants()  # an organization owner, but not an operator
    anonymous = await stack.client.request(method, path, json=body)
    assert anonymous.status_code == 401
    refused = await stack.client.request(method, path, json=body, headers=customer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    reader = await tenants(scopes=(Scope.COMPUTE_READ,))
    await make_staff(stack, reader)
    allowed = await stack.client.request(method, path, json=body, headers=reader.headers)
    assert allowed.status_code == (201 if method == "POST" else 200), allowed.text


async def test_an_unknown_pool_is_404(stack: Stack, tenants: TenantFactory) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    missing = POOLS + "/00000000-0000-4000-8000-000000000000"
    assert (await operator.client.get(missing, headers=operator.headers)).status_code == 404


async def test_the_demo_pools_stand_aside_for_an_operators_pool(stack: Stack) -> None:
    """`make run` adds its pools at every start: one an operator's pool covers is left out."""
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(IpPool).where(IpPool.name == "par1-v4").values(name="ops-par1")
        )
        await ip_pools.ensure_demo_pools(session)
        await ip_pools.ensure_demo_pools(session)
        names = set((await session.scalars(sa.select(IpPool.name))).all())
    assert "ops-par1" in names and "par1-v4" not in names and "fra1-v4" in names
