"""Handlers register themselves per task type: `@handles(TaskType.START_VPS)` on the coroutine
that carries a task of that type out through the driver.

Handlers are idempotent because drivers are: after a crash the task runs again from the start
and each driver call converges. A handler returns the task's `result` and the instance's changes;
the worker writes both with the task's terminal state in one transaction.
"""

from collections.abc import Awaitable, Callable, Mapping

from nuage.domain.enums import TaskType
from nuage.engine.context import TaskContext
from nuage.engine.records import Outcome

Handler = Callable[[TaskContext], Awaitable[Outcome]]
_HANDLERS: dict[TaskType, Handler] = {}
HANDLERS: Mapping[TaskType, Handler] = _HANDLERS  # read-only view, filled by `handles`


def handles(task_type: TaskType) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of `task_type` (one handler per type)."""

    def register(handler: Handler) -> Handler:
        if task_type in _HANDLERS:
            raise ValueError(f"{task_type} already has a handler: {_HANDLERS[task_type]!r}")
        _HANDLERS[task_type] = handler
        return handler

    return register


def handler_for(task_type: TaskType) -> Handler:
    return _HANDLERS[task_type]
