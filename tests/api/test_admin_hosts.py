"""The operators' host registry over HTTP: staff only, validated, and it shows what hosts hold."""

import pytest

from nuage.domain.enums import Scope
from tests import support
from tests.support import Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio
HOSTS = "/v1/admin/hosts"
NEW_HOST = {
    "name": "kvm-01",
    "location": "par1",
    "driver": "libvirt",
    "uri": "qemu+ssh://kvm-01/system",
    "vcpu": 32,
    "ram_mb": 131072,
    "disk_gb": 2000,
}


async def make_staff(stack: Stack, tenant: Tenant) -> None:
    """The tenant an operator, its key with the `admin` scope."""
    await support.make_staff(stack, tenant.user_id)


async def test_staff_add_list_and_drain_hosts(stack: Stack, tenants: TenantFactory) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    created = await operator.client.post(HOSTS, json=NEW_HOST, headers=operator.headers)
    assert created.status_code == 201, created.text
    host = created.json()
    assert host["free"] == {"vcpu": 32, "ram_mb": 131072, "disk_gb": 2000}
    listed = (await operator.client.get(HOSTS, headers=operator.headers)).json()
    assert {h["name"] for h in listed} >= {"kvm-01", "sim-par1", "sim-fra1", "sim-ams1"}
    changed = await operator.client.patch(
        f"{HOSTS}/{host['id']}", json={"state": "draining"}, headers=operator.headers
    )
    assert changed.status_code == 200 and changed.json()["state"] == "draining"
    got = await operator.client.get(f"{HOSTS}/{host['id']}", headers=operator.headers)
    assert got.json()["state"] == "draining"


async def test_hosts_show_what_their_instances_take(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    await operator.running_instance()  # small: 1 vCPU, 1024 MiB, 25 GB on sim-par1
    listed = (await operator.client.get(HOSTS, headers=operator.headers)).json()
    par1 = next(h for h in listed if h["name"] == "sim-par1")
    assert par1["allocated"] == {"vcpu": 1, "ram_mb": 1024, "disk_gb": 25}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", HOSTS, None),
        ("POST", HOSTS, NEW_HOST),
        ("GET", HOSTS + "/7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0001", None),
        ("PATCH", HOSTS + "/7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0001", {"state": "disabled"}),
    ],
)
async def test_only_authenticated_staff_reach_the_registry(
    stack: Stack, tenants: TenantFactory, method: str, path: str, body: object
) -> None:
    customer = await tenants()  # an organization owner, but not an operator
    anonymous = await stack.client.request(method, path, json=body)
    assert anonymous.status_code == 401
    refused = await stack.client.request(method, path, json=body, headers=customer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    reader = await tenants(scopes=(Scope.COMPUTE_READ,))
    await make_staff(stack, reader)
    allowed = await stack.client.request(method, path, json=body, headers=reader.headers)
    assert allowed.status_code == (201 if method == "POST" else 200), allowed.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": "nowhere"}, "location"),
        ({"driver": "vmware"}, "driver"),
        ({"vcpu": 0}, "vcpu"),
        ({"name": "sim-par1"}, "name"),
        ({"bogus": 1}, "bogus"),
    ],
)
async def test_bad_hosts_are_refused_with_the_field_named(
    stack: Stack, tenants: TenantFactory, change: dict[str, object], field: str
) -> None:
    operator = await tenants()
    await make_staff(stack, operator)
    before = (await operator.client.get(HOSTS, headers=operator.headers)).json()
    response = await operator.client.post(
        HOSTS, json={**NEW_HOST, **change}, headers=operator.headers
    )
    assert response.status_code == 400 and field in response.json(), response.text
    assert (await operator.client.get(HOSTS, headers=operator.headers)).json() == before
