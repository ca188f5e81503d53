"""`--wait` and `nuage tasks watch`: a live display of a task's progress and steps, on stderr
(stdout keeps the result for scripts). Each round is a long poll of one second that answers at
once when the task ends, then the step log's new entries: no busy loop, and the end is shown
the moment it happens."""

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn

from nuage.client import Client, Task
from nuage.client.errors import WaitTimeout
from nuage.client.waiting import Deadline, checked

ROUND_SECONDS = 1.0


def _label(task: Task) -> str:
    return f"{task.task_type} {task.status.value}"


def follow(client: Client, task: Task, *, timeout: float) -> Task:
    """The task once it ended; `TaskFailed` (with its code) if it failed or was cancelled."""
    deadline = Deadline(timeout)
    seen = 0
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as display:
        bar = display.add_task(_label(task), total=100, completed=task.progress)
        while True:
            for event in client.tasks.events(task.id):
                if event.id > seen:
                    seen = event.id
                    display.console.print(f"  {event.step}: {event.message}", highlight=False)
            display.update(bar, description=_label(task), completed=task.progress)
            if task.status.terminal:
                break
            if deadline.passed:
                raise WaitTimeout(task, timeout)
            task = client.tasks.get(task.id, wait=min(ROUND_SECONDS, deadline.left))
    return checked(task)
