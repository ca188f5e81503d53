"""The tour of the README, as a test: create, act, watch tasks complete."""

import pytest

from tests.support import SIZES, TenantFactory

pytestmark = pytest.mark.anyio


async def test_create_then_lifecycle(tenants: TenantFactory, worker: object) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running" and got["power_state"] == "on"
    for verb, status in [("stop", "stopped"), ("start", "running"), ("reboot", "running")]:
        task = await tenant.act(instance["id"], verb)
        done = await tenant.wait(task["id"])
        assert done["status"] == "completed", done
        assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == status
    await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])
    task = await tenant.act(instance["id"], "resize", {"size_id": SIZES["medium"]})
    assert (await tenant.wait(task["id"]))["status"] == "completed"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["size"]["id"] == SIZES["medium"]
