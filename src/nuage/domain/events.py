"""The events a project's stream and webhooks carry: what changed, named once.

Every entry of a task's step log (`TaskEvent`) is also an event: its lifecycle steps (`queued`,
`completed`, `failed`, `cancelled`) under their own type, every other step as `task.step`, and
`task.progress` beside it when the step moved the progress. A claim (`task.started`) writes no
step, so it is recorded where it happens; an instance's status change likewise.
"""

from enum import StrEnum


class EventType(StrEnum):
    TASK_CREATED = "task.created"
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_STEP = "task.step"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_CANCELLED = "task.cancelled"
    INSTANCE_STATUS_CHANGED = "instance.status_changed"


# The step log's lifecycle entries (written by the services and the engine, never by a handler).
LIFECYCLE_STEPS: dict[str, EventType] = {
    "queued": EventType.TASK_CREATED,
    "completed": EventType.TASK_COMPLETED,
    "failed": EventType.TASK_FAILED,
    "cancelled": EventType.TASK_CANCELLED,
}


def step_event_types(step: str, progress: int | None) -> tuple[EventType, ...]:
    """The events one step-log entry stands for."""
    lifecycle = LIFECYCLE_STEPS.get(step)
    if lifecycle is not None:
        return (lifecycle,)
    if progress is None:
        return (EventType.TASK_STEP,)
    return (EventType.TASK_STEP, EventType.TASK_PROGRESS)
