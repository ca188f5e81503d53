"""Per-driver host configuration and secret references over the admin API: checked by the
driver's description (a 400 naming the field, nothing written), shown back with the
capabilities they leave the host, and a secret only ever as its reference."""

from typing import Any

import pytest

from nuage.domain.drivers import LIBVIRT
from tests.api.test_admin_hosts import HOSTS, NEW_HOST, make_staff
from tests.support import Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio
SIM_HOST = {**NEW_HOST, "name": "sim-limited", "driver": "sim", "uri": "sim://"}


async def operator(stack: Stack, tenants: TenantFactory) -> Tenant:
    tenant = await tenants()
    await make_staff(stack, tenant)
    return tenant


async def test_a_host_keeps_its_config_and_secret_reference_and_shows_its_capabilities(
    stack: Stack, tenants: TenantFactory
) -> None:
    admin = await operator(stack, tenants)
    body = {
        **SIM_HOST,
        "config": {"latency_ms": 5, "capabilities": ["resize", "power"]},
        "secret_ref": "env:NUAGE_SIM_TOKEN",
    }
    created = await admin.client.post(HOSTS, json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["config"] == {"latency_ms": 5.0, "capabilities": ["power", "resize"]}
    assert shown["secret_ref"] == "env:NUAGE_SIM_TOKEN"
    assert shown["capabilities"] == ["power", "resize"]
    got = await admin.client.get(f"{HOSTS}/{shown['id']}", headers=admin.headers)
    assert {k: got.json()[k] for k in ("config", "secret_ref", "capabilities")} == {
        k: shown[k] for k in ("config", "secret_ref", "capabilities")
    }


async def test_a_host_without_config_has_every_capability_of_its_driver(
    stack: Stack, tenants: TenantFactory
) -> None:
    admin = await operator(stack, tenants)
    created = (await admin.client.post(HOSTS, json=NEW_HOST, headers=admin.headers)).json()
    assert (created["config"], created["secret_ref"]) == ({}, None)
    assert created["capabilities"] == sorted(LIBVIRT.capabilities)


async def test_changing_the_config_replaces_it_and_an_empty_reference_removes_it(
    stack: Stack, tenants: TenantFactory
) -> None:
    admin = await operator(stack, tenants)
    body = {**SIM_HOST, "config": {"latency_ms": 5}, "secret_ref": "file:/etc/nuage/token"}
    host = (await admin.client.post(HOSTS, json=body, headers=admin.headers)).json()
    changed = await admin.client.patch(
        f"{HOSTS}/{host['id']}",
        json={"config": {"capabilities": ["reinstall"]}, "secret_ref": ""},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["config"] == {"capabilities": ["reinstall"]}
    assert (changed.json()["secret_ref"], changed.json()["capabilities"]) == (None, ["reinstall"])


BAD: list[tuple[dict[str, Any], list[str]]] = [
    ({"config": {"latency_ms": -1}}, ["config", "latency_ms"]),
    ({"config": {"bogus": 1}}, ["config", "bogus"]),
    ({"config": {"capabilities": ["teleport"]}}, ["config", "capabilities"]),
    ({"config": {"capabilities": "power"}}, ["config", "capabilities"]),
    ({"driver": "libvirt", "config": {"images_dir": "images"}}, ["config", "images_dir"]),
    ({"driver": "libvirt", "config": {"domain_type": "xen"}}, ["config", "domain_type"]),
    ({"secret_ref": "s3cr3t-token-value"}, ["secret_ref"]),
    ({"secret_ref": "env:"}, ["secret_ref"]),
]


@pytest.mark.parametrize(("change", "path"), BAD)
async def test_bad_config_or_secret_reference_is_a_400_naming_the_field(
    stack: Stack, tenants: TenantFactory, change: dict[str, Any], path: list[str]
) -> None:
    admin = await operator(stack, tenants)
    before = (await admin.client.get(HOSTS, headers=admin.headers)).json()

    response = await admin.client.post(HOSTS, json={**SIM_HOST, **change}, headers=admin.headers)

    assert response.status_code == 400, response.text
    node = response.json()
    for part in path:
        assert part in node, response.text
        node = node[part]
    assert node != ["Unknown field."] or path[-1] == "bogus"
    assert "s3cr3t" not in response.text
    assert (await admin.client.get(HOSTS, headers=admin.headers)).json() == before


@pytest.mark.parametrize(("change", "path"), [b for b in BAD if "driver" not in b[0]])
async def test_a_bad_change_is_a_400_and_changes_nothing(
    stack: Stack, tenants: TenantFactory, change: dict[str, Any], path: list[str]
) -> None:
    admin = await operator(stack, tenants)
    body = {**SIM_HOST, "config": {"latency_ms": 5}, "secret_ref": "env:TOKEN"}
    host = (await admin.client.post(HOSTS, json=body, headers=admin.headers)).json()

    response = await admin.client.patch(f"{HOSTS}/{host['id']}", json=change, headers=admin.headers)

    assert response.status_code == 400 and path[0] in response.json(), response.text
    after = (await admin.client.get(f"{HOSTS}/{host['id']}", headers=admin.headers)).json()
    assert after == host
