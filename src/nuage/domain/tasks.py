"""The task state machine, as data, and the one function that moves a task along it.

pending ──▶ running ──▶ completed
   │           │ ├────▶ failed
   │           │ └────▶ cancelled   (a cancel was requested; the handler stopped at a safe step)
   │           └──────▶ pending     (transient failure with retries left, or an expired lease)
   └──────────────────▶ cancelled
"""

from collections.abc import Mapping

from nuage.domain.enums import TaskStatus

TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.CANCELLED}),
    TaskStatus.RUNNING: frozenset(
        {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.PENDING}
    ),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}

TERMINAL: frozenset[TaskStatus] = frozenset(s for s, nxt in TASK_TRANSITIONS.items() if not nxt)
ACTIVE: frozenset[TaskStatus] = frozenset(TaskStatus) - TERMINAL
RETRYABLE_BY_USER: frozenset[TaskStatus] = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})


class IllegalTransition(ValueError):
    pass


def transition(current: TaskStatus, target: TaskStatus) -> TaskStatus:
    """Return `target` if a task may move there from `current`; refuse otherwise."""
    if target not in TASK_TRANSITIONS[current]:
        raise IllegalTransition(f"A {current} task cannot become {target}.")
    return target


def is_terminal(status: TaskStatus) -> bool:
    return status in TERMINAL
