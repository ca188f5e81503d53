"""Backups over HTTP on the simulated hypervisor: ask for one, list and read it, restore it onto
the stopped instance (the guest's boot counter comes back), delete it; a backup outlives its
instance; retention keeps the newest N; refused requests write nothing."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Backup, InstanceTask
from tests.drivers.guest_lines import boots
from tests.support import Stack, Tenant, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


async def backup_task(tenant: Tenant, instance_id: str, name: str = "nightly") -> dict[str, Any]:
    response = await tenant.post(f"/instances/{instance_id}/backups", json={"name": name})
    assert response.status_code == 202, response.text
    task: dict[str, Any] = response.json()
    assert response.headers["Location"].endswith(f"/tasks/{task['id']}")
    return task


async def backed_up(tenant: Tenant, instance_id: str, name: str = "nightly") -> dict[str, Any]:
    """A completed backup of the instance, as the API shows it."""
    task = await backup_task(tenant, instance_id, name)
    assert (await tenant.wait(task["id"]))["status"] == "completed"
    backup_id = task["parameters"]["backup_id"]
    response = await tenant.get(f"/instances/{instance_id}/backups/{backup_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def done(tenant: Tenant, task: dict[str, Any]) -> dict[str, Any]:
    finished = await tenant.wait(task["id"])
    assert finished["status"] == "completed", finished
    return finished


def store_files(settings: Settings, instance_id: str) -> list[str]:
    """What the simulated host's backup store holds for the instance (temp files too)."""
    folder = Path(settings.sim_state_dir) / "backups" / instance_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def backup_rows(stack: Stack) -> list[Backup]:
    async with stack.runtime.sessions() as session:
        return list((await session.scalars(sa.select(Backup))).all())


async def test_a_backup_is_listed_and_restored_onto_the_stopped_instance(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = await tenant.running_instance()
    iid = instance["id"]
    at_backup = boots(await stack.driver.console(iid))

    backup = await backed_up(tenant, iid)
    await done(tenant, await tenant.act(iid, "stop"))
    await done(tenant, await tenant.act(iid, "start"))  # the disk moves on
    await done(tenant, await tenant.act(iid, "stop"))
    restore = await tenant.post(f"/instances/{iid}/backups/{backup['id']}/restore")
    assert restore.status_code == 202, restore.text
    restored = await done(tenant, restore.json())
    await done(tenant, await tenant.act(iid, "start"))

    assert (backup["instance_id"], backup["name"], backup["status"]) == (
        iid,
        "nightly",
        "available",
    )
    assert backup["size_gb"] == instance["size"]["disk_gb"]
    assert restored["instance_id"] == iid
    assert restored["parameters"] == {"backup_id": backup["id"]}
    assert boots(await stack.driver.console(iid)) == at_backup + 1
    listed = (await tenant.get(f"/instances/{iid}/backups")).json()
    assert [(b["id"], b["status"]) for b in listed["results"]] == [(backup["id"], "available")]
    assert store_files(settings, iid) == [f"{backup['id']}.json"]


async def test_a_backup_outlives_its_instance_and_is_deleted_after_it(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    deleted = await tenant.client.delete(f"{tenant.base}/instances/{iid}", headers=tenant.headers)
    await done(tenant, deleted.json())

    listed = (await tenant.get(f"/instances/{iid}/backups")).json()
    assert [b["id"] for b in listed["results"]] == [backup["id"]]
    assert store_files(settings, iid) == [f"{backup['id']}.json"]
    gone = await tenant.client.delete(
        f"{tenant.base}/instances/{iid}/backups/{backup['id']}", headers=tenant.headers
    )
    assert gone.status_code == 202, gone.text
    task = await done(tenant, gone.json())

    assert task["instance_id"] == iid  # recorded against the deleted instance
    assert (await tenant.get(f"/instances/{iid}/backups")).json()["results"] == []
    missing = await tenant.get(f"/instances/{iid}/backups/{backup['id']}")
    assert missing.status_code == 404
    assert store_files(settings, iid) == []


async def test_retention_keeps_the_newest_backups_and_deletes_the_others(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, replace(settings, backup_retention=2))
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    made = [await backed_up(tenant, iid, f"b{n}") for n in range(4)]

    async with stack.runtime.sessions() as session:
        deletes = (
            await session.scalars(
                sa.select(InstanceTask).where(InstanceTask.task_type == "delete_backup")
            )
        ).all()
    for task in deletes:
        assert (await tenant.wait(str(task.id)))["status"] == "completed"

    assert sorted(t.parameters["backup_id"] for t in deletes) == sorted(b["id"] for b in made[:2])
    assert {str(t.instance_id) for t in deletes} == {iid}
    listed = (await tenant.get(f"/instances/{iid}/backups")).json()["results"]
    assert [b["name"] for b in listed] == ["b3", "b2"]
    assert store_files(settings, iid) == sorted(f"{b['id']}.json" for b in made[2:])


async def test_restore_of_a_running_idle_instance_is_refused_and_writes_nothing(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    tasks_before = (await tenant.get("/tasks")).json()["count"]

    response = await tenant.post(f"/instances/{iid}/backups/{backup['id']}/restore")

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "instance_not_ready"
    assert (await tenant.get("/tasks")).json()["count"] == tasks_before
    again = await tenant.get(f"/instances/{iid}/backups/{backup['id']}")
    assert again.json()["status"] == "available"


async def test_a_restore_queued_behind_a_stop_is_accepted(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    await stack.stop_workers()
    await tenant.act(iid, "stop")

    response = await tenant.post(f"/instances/{iid}/backups/{backup['id']}/restore")
    start_worker(stack, settings)

    assert response.status_code == 202, response.text
    await done(tenant, response.json())
    assert (await tenant.get(f"/instances/{iid}")).json()["status"] == "stopped"


async def test_a_backup_being_deleted_cannot_be_restored_or_deleted_again(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    await done(tenant, await tenant.act(iid, "stop"))
    await stack.stop_workers()
    url = f"{tenant.base}/instances/{iid}/backups/{backup['id']}"
    assert (await tenant.client.delete(url, headers=tenant.headers)).status_code == 202

    restore = await tenant.post(f"/instances/{iid}/backups/{backup['id']}/restore")

    assert restore.status_code == 409, restore.text
    assert restore.json()["code"] == "invalid_resource_state"
    assert [t["task_type"] for t in (await tenant.get("/tasks")).json()["results"]].count(
        "restore_backup"
    ) == 0


async def test_a_backup_of_another_instance_or_project_is_not_found(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    other = await tenants()
    iid = (await tenant.running_instance())["id"]
    sibling = (await tenant.running_instance())["id"]
    foreign = (await other.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    await done(tenant, await tenant.act(sibling, "stop"))

    wrong_instance = await tenant.post(f"/instances/{sibling}/backups/{backup['id']}/restore")
    other_tenant = await other.post(f"/instances/{foreign}/backups/{backup['id']}/restore")
    read_foreign = await other.get(f"/instances/{iid}/backups/{backup['id']}")
    list_foreign = await other.get(f"/instances/{iid}/backups")

    for response in (wrong_instance, other_tenant, read_foreign, list_foreign):
        assert response.status_code == 404, response.text
    assert (await tenant.get(f"/instances/{iid}/backups/{backup['id']}")).json()["status"] == (
        "available"
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 101}, {"name": 7}, {"name": "ok", "extra": 1}, []],
    ids=["missing", "empty", "long", "number", "unknown-field", "list"],
)
async def test_a_bad_create_body_is_a_400_and_writes_nothing(
    stack: Stack, tenants: TenantFactory, settings: Settings, body: Any
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    tasks_before = (await tenant.get("/tasks")).json()["count"]

    response = await tenant.post(f"/instances/{iid}/backups", json=body)

    assert response.status_code == 400, response.text
    assert (await tenant.get("/tasks")).json()["count"] == tasks_before
    assert await backup_rows(stack) == []


async def test_a_replayed_create_queues_one_backup(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    key = {"Idempotency-Key": "backup-once"}

    first = await tenant.post(f"/instances/{iid}/backups", json={"name": "a"}, headers=key)
    replay = await tenant.post(f"/instances/{iid}/backups", json={"name": "a"}, headers=key)
    reused = await tenant.post(f"/instances/{iid}/backups", json={"name": "b"}, headers=key)

    assert first.status_code == replay.status_code == 202
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    assert len(await backup_rows(stack)) == 1


async def test_a_backup_of_a_deleted_instance_cannot_be_asked_for(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    deleted = await tenant.client.delete(f"{tenant.base}/instances/{iid}", headers=tenant.headers)
    await done(tenant, deleted.json())

    response = await tenant.post(f"/instances/{iid}/backups", json={"name": "late"})

    assert response.status_code == 404, response.text
    assert await backup_rows(stack) == []


async def test_a_failed_copy_leaves_the_backup_in_error_and_deletable(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    stack.driver.inject_fault(iid, operation="create_backup", kind="permanent")

    task = await backup_task(tenant, iid)
    failed = await tenant.wait(task["id"])
    backup_id = task["parameters"]["backup_id"]
    row = (await tenant.get(f"/instances/{iid}/backups/{backup_id}")).json()
    gone = await tenant.client.delete(
        f"{tenant.base}/instances/{iid}/backups/{backup_id}", headers=tenant.headers
    )

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "sim_permanent_fault"
    assert row["status"] == "error"
    await done(tenant, gone.json())
    assert await backup_rows(stack) == []


async def test_a_retried_failed_backup_becomes_available(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = await tenant.running_instance()
    iid = instance["id"]
    stack.driver.inject_fault(iid, operation="create_backup", kind="permanent")
    task = await backup_task(tenant, iid)
    assert (await tenant.wait(task["id"]))["status"] == "failed"
    backup_id = task["parameters"]["backup_id"]

    retried = await tenant.post(f"/tasks/{task['id']}/retry")
    assert retried.status_code == 202, retried.text
    await done(tenant, retried.json())

    row = (await tenant.get(f"/instances/{iid}/backups/{backup_id}")).json()
    assert (row["status"], row["size_gb"]) == ("available", instance["size"]["disk_gb"])
    assert store_files(settings, iid) == [f"{backup_id}.json"]


async def test_a_cancelled_pending_delete_leaves_the_backup_available(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    backup = await backed_up(tenant, iid)
    await stack.stop_workers()
    url = f"{tenant.base}/instances/{iid}/backups/{backup['id']}"
    deleting = await tenant.client.delete(url, headers=tenant.headers)
    assert (await tenant.get(f"/instances/{iid}/backups/{backup['id']}")).json()["status"] == (
        "deleting"
    )

    cancel = await tenant.post(f"/tasks/{deleting.json()['id']}/cancel")

    assert cancel.status_code == 200, cancel.text
    row = (await tenant.get(f"/instances/{iid}/backups/{backup['id']}")).json()
    assert row["status"] == "available"
    assert store_files(settings, iid) == [f"{backup['id']}.json"]


async def test_a_create_refused_as_busy_inserts_no_backup(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    await stack.stop_workers()
    await tenant.act(iid, "reboot")  # pending: the instance is busy

    response = await tenant.post(
        f"/instances/{iid}/backups", json={"name": "now"}, params={"on_conflict": "reject"}
    )

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "instance_busy"
    assert await backup_rows(stack) == []
    assert (await tenant.get(f"/instances/{iid}/backups")).json()["count"] == 0


async def test_retention_spares_a_backup_with_a_restore_queued(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, replace(settings, backup_retention=2))
    tenant = await tenants()
    iid = (await tenant.running_instance())["id"]
    oldest = await backed_up(tenant, iid, "b0")
    await backed_up(tenant, iid, "b1")
    await done(tenant, await tenant.act(iid, "stop"))
    await stack.stop_workers()
    newest = await backup_task(tenant, iid, "b2")
    restore = await tenant.post(f"/instances/{iid}/backups/{oldest['id']}/restore")
    assert restore.status_code == 202, restore.text

    start_worker(stack, replace(settings, backup_retention=2))
    await done(tenant, newest)
    await done(tenant, restore.json())

    listed = (await tenant.get(f"/instances/{iid}/backups")).json()["results"]
    assert [(b["name"], b["status"]) for b in listed] == [
        ("b2", "available"),
        ("b1", "available"),
        ("b0", "available"),
    ]
    types = [t["task_type"] for t in (await tenant.get("/tasks")).json()["results"]]
    assert "delete_backup" not in types
