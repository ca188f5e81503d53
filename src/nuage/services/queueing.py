"""What a queued task is, and when an instance takes one: the rules and the rows shared by the
task route (`services/tasks.enqueue`) and the plain action's fast path
(`services/action_writes`)."""

from typing import Any
from uuid import UUID

from nuage.db.types import utcnow
from nuage.domain.catalogue import TaskSpec
from nuage.domain.enums import InstanceStatus, TaskStatus
from nuage.domain.errors import (
    InstanceBusy,
    InstanceDeleting,
    InstanceNotReady,
    NotFound,
    NuageError,
)
from nuage.domain.instances import NOT_LIVE


def queued_task(
    spec: TaskSpec,
    *,
    organization_id: UUID,
    project_id: UUID,
    instance_id: UUID,
    parameters: dict[str, Any],
    max_retries: int,
    created_by_id: UUID,
) -> dict[str, Any]:
    """The columns of a task queued now; the others take their defaults (`InstanceTask`)."""
    return {
        "organization_id": organization_id,
        "project_id": project_id,
        "instance_id": instance_id,
        "task_type": spec.task_type.value,
        "status": TaskStatus.PENDING.value,
        "parameters": parameters,
        "max_retries": max_retries,
        "created_by_id": created_by_id,
        "run_after": utcnow(),
    }


def queued_step(spec: TaskSpec, task_id: UUID) -> dict[str, Any]:
    """The columns of a queued task's first step-log entry (`TaskEvent`)."""
    return {"task_id": task_id, "step": "queued", "message": f"{spec.label} queued."}


def queueing_refusal(
    spec: TaskSpec, *, status: str, active: int, deleting: bool, reject_if_busy: bool
) -> NuageError | None:
    """Why an instance in `status`, with `active` tasks pending or running (`deleting`: one is
    its delete), does not take a task of `spec`'s type now, or None: it is queued."""
    # A deleted instance's leftovers (backups, images, detached volumes) still take the tasks
    # recorded against it: the types that allow `deleted` among their preconditions.
    if status == NOT_LIVE and InstanceStatus.DELETED not in spec.requires:
        return NotFound()
    if deleting:
        return InstanceDeleting()
    if reject_if_busy and active:
        return InstanceBusy(f"The instance has {active} task(s) pending or running.")
    if spec.refuse_unmet_when_idle and not active and status not in spec.requires:
        needs = " or ".join(sorted(spec.requires))
        return InstanceNotReady(
            f"`{spec.task_type}` needs the instance to be {needs}; it is {status}."
        )
    return None
