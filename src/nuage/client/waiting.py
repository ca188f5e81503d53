"""What both clients' `wait` share: a deadline on the monotonic clock and the end of a task
seen as an outcome (completed) or an exception (failed, cancelled)."""

import time
from typing import TypeVar

from nuage.client.enums import TaskStatus
from nuage.client.errors import TaskCancelled, TaskFailed
from nuage.client.models import TaskData

TaskT = TypeVar("TaskT", bound=TaskData)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    @property
    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def passed(self) -> bool:
        return self.left <= 0


def checked(task: TaskT) -> TaskT:
    """The task if it completed; else its failure raised with the task's error code."""
    if task.status is TaskStatus.FAILED:
        raise TaskFailed(task)
    if task.status is TaskStatus.CANCELLED:
        raise TaskCancelled(task)
    return task
