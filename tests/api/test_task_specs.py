"""What a task type's spec declares, enforced by the code that serves it: who may ask for it
(a staff-only type) and which result fields are secret (shown to the task's creator only, never
kept for an idempotent replay)."""

from typing import Any
from uuid import UUID

import pytest

from nuage.db.models import InstanceTask
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.catalogue import CATALOGUE
from nuage.domain.enums import Role, TaskStatus, TaskType
from nuage.domain.permissions import Permission
from tests.support import Stack, Tenant, TenantFactory, make_staff

pytestmark = pytest.mark.anyio
SESSION = {
    "id": "s1",
    "url": "wss://console.example/v1/console/s1",
    "token": "s3cret",
    "expires_at": "soon",
}


async def console_task(stack: Stack, tenant: Tenant, instance_id: str, status: TaskStatus) -> str:
    """A `get_vnc_url` task row of `tenant`'s user holding a console session in its result."""
    async with transaction(stack.runtime.sessions) as session:
        task = InstanceTask(
            organization_id=tenant.organization_id,
            project_id=tenant.project_id,
            instance_id=UUID(instance_id),
            task_type=TaskType.GET_VNC_URL.value,
            status=status.value,
            parameters={},
            result=SESSION,
            max_retries=3,
            created_by_id=tenant.user_id,
            run_after=utcnow(),
        )
        session.add(task)
        await session.flush()
        return str(task.id)


async def test_a_staff_only_type_is_refused_to_a_project_owner(
    stack: Stack, tenants: TenantFactory
) -> None:
    """apply_config is staff only: an owner who is not an operator gets a 403 through the
    generic endpoint too, and nothing is queued; the same owner made an operator gets the task."""
    assert CATALOGUE[TaskType.APPLY_CONFIG].permission is Permission.STAFF
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    parameters = {"config": {"cpu_model": "qemu64"}}
    body = {"instance_id": instance["id"], "task_type": "apply_config", "parameters": parameters}

    refused = await tenant.post("/tasks", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "permission_denied"
    listed = (await tenant.get("/tasks")).json()
    assert [t["task_type"] for t in listed["results"]] == ["create_vps"]

    await make_staff(stack, tenant.user_id)
    accepted = await tenant.post("/tasks", json=body)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["task_type"] == "apply_config"


async def test_a_console_token_is_shown_to_the_tasks_creator_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    owner = await tenants()
    editor = await tenants.member(owner, Role.EDITOR)
    instance, _ = await owner.create_instance()
    task_id = await console_task(stack, owner, instance["id"], TaskStatus.COMPLETED)

    mine = (await owner.get(f"/tasks/{task_id}")).json()
    assert mine["result"] == SESSION
    theirs = (await editor.get(f"/tasks/{task_id}")).json()
    assert theirs["result"] == {**SESSION, "token": None}
    nested = (await editor.get(f"/instances/{instance['id']}/tasks/{task_id}")).json()
    assert nested["result"]["token"] is None
    listed: list[dict[str, Any]] = (await editor.get("/tasks")).json()["results"]
    assert [t["result"] for t in listed if t["id"] == task_id] == [{**SESSION, "token": None}]


async def test_a_console_token_is_never_kept_for_a_replay(
    stack: Stack, tenants: TenantFactory
) -> None:
    owner = await tenants()
    instance, _ = await owner.create_instance()
    task_id = await console_task(stack, owner, instance["id"], TaskStatus.RUNNING)
    key = {"Idempotency-Key": "cancel-console"}

    first = await owner.post(f"/tasks/{task_id}/cancel", headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["result"]["token"] == "s3cret"  # its creator, answered at once
    replay = await owner.post(f"/tasks/{task_id}/cancel", headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["result"] == {**SESSION, "token": None}
    assert replay.json()["cancel_requested"] is True
