"""Task shapes. `TaskOut` is the seed's Instance Task, field for field, plus our additions."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body, optional_in_contract
from nuage.db.models import InstanceTask, TaskEvent
from nuage.domain.catalogue import MAX_RETRIES_LIMIT
from nuage.domain.enums import TaskStatus, TaskType
from nuage.services.task_reads import TaskView
from nuage.services.tasks import result_for, visible_result


class InstanceRef(BaseModel):
    id: UUID
    name: str


class UserRef(BaseModel):
    id: UUID
    email: str
    first_name: str
    last_name: str


class TaskErrorOut(BaseModel):
    code: str
    message: str
    retryable: bool


class TaskOut(BaseModel):
    # The seed requires its first twelve fields; `parameters`, `max_retries` and ours are optional.
    model_config = optional_in_contract(
        "parameters", "max_retries", "progress", "error", "cancel_requested"
    )

    id: UUID
    instance_id: UUID
    instance: InstanceRef
    task_type: TaskType
    status: TaskStatus
    result: Any = Field(description="Résultat de l'exécution")
    started_at: datetime | None
    completed_at: datetime | None
    retry_count: int
    created: datetime
    modified: datetime
    created_by: UserRef
    parameters: Any = Field(description="Paramètres spécifiques à la tâche")
    max_retries: int = Field(ge=0, le=MAX_RETRIES_LIMIT)
    # nuage additions (optional in the contract)
    progress: int = Field(ge=0, le=100)
    error: TaskErrorOut | None
    cancel_requested: bool

    @classmethod
    def of(cls, task: InstanceTask, *, viewer: UUID | None) -> "TaskOut":
        """The task as `viewer` sees it: the result's secrets (e.g. a console password) are
        shown to the task's creator only; None is nobody (what an idempotent replay stores)."""
        user = task.created_by
        return cls(
            id=task.id,
            instance_id=task.instance_id,
            instance=InstanceRef(id=task.instance.id, name=task.instance.name),
            task_type=TaskType(task.task_type),
            status=TaskStatus(task.status),
            result=visible_result(task, viewer),
            started_at=task.started_at,
            completed_at=task.completed_at,
            retry_count=task.retry_count,
            created=task.created,
            modified=task.modified,
            created_by=UserRef(
                id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name
            ),
            parameters=task.parameters,
            max_retries=task.max_retries,
            progress=task.progress,
            error=TaskErrorOut(**task.error) if task.error else None,
            cancel_requested=task.cancel_requested,
        )

    @classmethod
    def of_view(cls, view: TaskView) -> "TaskOut":
        """The same object from the one-statement read (`services/task_reads.py`)."""
        return cls(
            id=view.id,
            instance_id=view.instance_id,
            instance=InstanceRef(id=view.instance_id, name=view.instance_name),
            task_type=TaskType(view.task_type),
            status=TaskStatus(view.status),
            result=result_for(
                view.task_type, view.result, creator=view.created_by_id, viewer=view.viewer
            ),
            started_at=view.started_at,
            completed_at=view.completed_at,
            retry_count=view.retry_count,
            created=view.created,
            modified=view.modified,
            created_by=UserRef(
                id=view.created_by_id,
                email=view.creator_email,
                first_name=view.creator_first_name,
                last_name=view.creator_last_name,
            ),
            parameters=view.parameters,
            max_retries=view.max_retries,
            progress=view.progress,
            error=TaskErrorOut(**view.error) if view.error else None,
            cancel_requested=view.cancel_requested,
        )


class TaskCreate(Body):
    instance_id: UUID
    task_type: TaskType
    parameters: dict[str, Any] | None = None
    max_retries: int | None = Field(default=None, ge=0, le=MAX_RETRIES_LIMIT)


class TaskEventOut(BaseModel):
    id: int
    created: datetime
    attempt: int
    step: str
    message: str
    level: str
    progress: int | None

    @classmethod
    def of(cls, event: TaskEvent) -> "TaskEventOut":
        return cls(
            id=event.id,
            created=event.created,
            attempt=event.attempt,
            step=event.step,
            message=event.message,
            level=event.level,
            progress=event.progress,
        )
