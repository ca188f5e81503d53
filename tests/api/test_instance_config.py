"""`POST P/instances/{id}/config` (`apply_config`): staff only, keys from the allow-list of the
instance's driver, the result showing the configuration before and after, the simulator holding
it. Refusals change nothing: no task is queued."""

from typing import Any

import pytest

from nuage.domain.drivers import SIM
from tests.support import Stack, Tenant, TenantFactory, make_staff

pytestmark = pytest.mark.anyio


async def task_types(tenant: Tenant) -> list[str]:
    listed: list[dict[str, Any]] = (await tenant.get("/tasks")).json()["results"]
    return sorted(t["task_type"] for t in listed)


async def configure(tenant: Tenant, instance_id: str, config: Any) -> Any:
    return await tenant.post(f"/instances/{instance_id}/config", json={"config": config})


async def test_an_owner_who_is_not_staff_is_refused(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()

    refused = await configure(tenant, instance["id"], {"cpu_model": "qemu64"})

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "permission_denied"
    assert await task_types(tenant) == ["create_vps"]


@pytest.mark.parametrize(
    ("config", "errors"),
    [
        ({"cpu_flags": "+vmx"}, {"cpu_flags": ["Unknown setting"]}),
        ({"balloon": "yes"}, {"balloon": ["Invalid value for `balloon`"]}),
        ({"cpu_model": "qemu64\n<x/>"}, {"cpu_model": ["Invalid value for `cpu_model`"]}),
        ({"boot_order": ["hd", "hd"]}, {"boot_order": ["Invalid value for `boot_order`"]}),
        ({"boot_order": ["floppy"]}, {"boot_order": ["Invalid value for `boot_order`"]}),
    ],
)
async def test_a_key_outside_the_allow_list_or_a_bad_value_is_a_400_naming_it(
    stack: Stack,
    tenants: TenantFactory,
    config: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)
    instance, _ = await tenant.create_instance()

    refused = await configure(tenant, instance["id"], {"cpu_model": "qemu64", **config})

    assert refused.status_code == 400, refused.text
    found = refused.json()["config"]
    assert set(found) == set(errors)
    for key, (start,) in errors.items():
        assert found[key][0].startswith(start), found
    assert await task_types(tenant) == ["create_vps"]


@pytest.mark.parametrize("body", [{}, {"config": {}}, {"config": []}, {"config": {"x": 1}, "y": 2}])
async def test_a_body_without_settings_is_a_400(
    stack: Stack, tenants: TenantFactory, body: dict[str, Any]
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)
    instance, _ = await tenant.create_instance()

    refused = await tenant.post(f"/instances/{instance['id']}/config", json=body)

    assert refused.status_code == 400, refused.text
    assert await task_types(tenant) == ["create_vps"]


async def test_the_result_shows_the_configuration_before_and_after(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)
    instance = await tenant.running_instance()
    settings = {"cpu_model": "qemu64", "balloon": False}

    first = await configure(tenant, instance["id"], settings)
    assert first.status_code == 202, first.text
    done = await tenant.wait(first.json()["id"])
    second = await configure(tenant, instance["id"], {"balloon": None, "boot_order": ["hd"]})
    again = await tenant.wait(second.json()["id"])

    assert done["status"] == "completed", done
    assert done["result"] == {
        "before": {},
        "after": settings,
        "changed": ["balloon", "cpu_model"],
        "applies_at_next_boot": True,
    }
    assert again["result"]["before"] == settings
    assert again["result"]["after"] == {"boot_order": ["hd"], "cpu_model": "qemu64"}
    assert again["result"]["changed"] == ["balloon", "boot_order"]
    machine = await stack.driver.hypervisor_config(instance["id"])
    assert machine == {"boot_order": ["hd"], "cpu_model": "qemu64"}


def test_the_simulator_allows_its_own_list() -> None:
    assert sorted(SIM.config_keys) == [
        "balloon",
        "boot_order",
        "cpu_model",
        "nested_virtualization",
    ]


async def test_a_transient_fault_is_retried_and_a_permanent_one_changes_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)
    instance = await tenant.running_instance()
    stack.driver.inject_fault(instance["id"], operation="apply_config", kind="transient")

    queued = await configure(tenant, instance["id"], {"balloon": False})
    retried = await tenant.wait(queued.json()["id"])

    assert (retried["status"], retried["retry_count"]) == ("completed", 1), retried
    assert retried["result"]["after"] == {"balloon": False}
    stack.driver.inject_fault(instance["id"], operation="apply_config", kind="permanent")
    failed = await tenant.wait(
        (await configure(tenant, instance["id"], {"balloon": None})).json()["id"]
    )
    assert failed["error"]["code"] == "sim_permanent_fault", failed
    assert await stack.driver.hypervisor_config(instance["id"]) == {"balloon": False}
