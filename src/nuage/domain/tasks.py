"""The task state machine (its data is `states.TASKS`) under the names the rest of the code uses.

pending ──▶ running ──▶ completed
   │           │ ├────▶ failed
   │           │ └────▶ cancelled   (a cancel was requested; the handler stopped at a safe step)
   │           └──────▶ pending     (transient failure with retries left, or an expired lease)
   └──────────────────▶ cancelled
"""

from collections.abc import Mapping

from nuage.domain.enums import TaskStatus
from nuage.domain.errors import InvalidTaskState
from nuage.domain.states import TASKS, IllegalTransition

__all__ = [
    "ACTIVE",
    "RETRYABLE_BY_USER",
    "TASK_TRANSITIONS",
    "TERMINAL",
    "IllegalTransition",
    "cancels_at_once",
    "is_terminal",
    "transition",
]

TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = TASKS.transitions
TERMINAL: frozenset[TaskStatus] = TASKS.terminal
ACTIVE: frozenset[TaskStatus] = frozenset(TaskStatus) - TERMINAL
RETRYABLE_BY_USER: frozenset[TaskStatus] = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})


def transition(current: TaskStatus, target: TaskStatus) -> TaskStatus:
    """Return `target` if a task may move there from `current`; refuse otherwise."""
    return TASKS.transition(current, target)


def is_terminal(status: TaskStatus) -> bool:
    return status in TERMINAL


def cancels_at_once(
    status: TaskStatus, *, task_type: str, cancellable: bool, started: bool
) -> bool:
    """How a cancel of a task in `status` goes: at once (True: it never ran, so nothing was
    done), or at the handler's next safe step (False: it ran — running, or pending again after a
    failed attempt — and its worker undoes or reads back what it did). Refuses a task that is
    over, or that cannot be cancelled once started.

    A task that ran is not cancelled from outside: its worker owns what it did, so the cancel is
    a request that the worker honours (running → cancelled is the worker's transition).
    """
    if not TASKS.allows(status, TaskStatus.CANCELLED):
        raise InvalidTaskState(f"The task is already {status}.")
    if status is TaskStatus.PENDING and not started:
        return True
    if not cancellable:
        raise InvalidTaskState(f"A started {task_type} task cannot be cancelled.")
    return False
