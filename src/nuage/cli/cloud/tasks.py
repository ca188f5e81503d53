"""`nuage tasks …`: list, show, cancel, retry, watch."""

from typing import Annotated

import typer

from nuage.cli.cloud.common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    TimeoutOption,
    WaitOption,
    connect,
    handled,
    mode,
)
from nuage.cli.cloud.output import Column, field, show_many, show_one
from nuage.cli.cloud.progress import follow
from nuage.client import Client, Task

app = typer.Typer(no_args_is_help=True, help="Tasks: list, show, cancel, retry, watch.")
TASK_COLUMNS: list[Column] = [
    field("id"),
    field("task_type"),
    field("status"),
    field("progress"),
    ("instance", lambda t: t.instance.name),
    ("error", lambda t: f"{t.error.code}: {t.error.message}" if t.error else None),
    field("created"),
]
TaskArg = Annotated[str, typer.Argument(help="The task's id.")]


def finish_task(client: Client, task: Task, *, wait: bool, timeout: float) -> Task:
    """The task as queued, or with `wait` as it ended (its failure raised)."""
    return follow(client, task, timeout=timeout) if wait else task


@app.command("list")
@handled
def list_tasks(
    instance: Annotated[str | None, typer.Option(help="Only this instance's tasks.")] = None,
    status: Annotated[str | None, typer.Option(help="Comma-separated statuses.")] = None,
    task_type: Annotated[str | None, typer.Option("--type", help="Comma-separated types.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        found = client.tasks.list(instance_id=instance, status=status, task_type=task_type)
        shown = [task for task, _ in zip(found, range(limit), strict=False)]
        show_many(shown, TASK_COLUMNS, mode(as_json, quiet))


@app.command("show")
@handled
def show(
    task_id: TaskArg,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_one(client.tasks.get(task_id), TASK_COLUMNS, mode(as_json, quiet))


@app.command("cancel")
@handled
def cancel(
    task_id: TaskArg,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Cancel a pending task at once, a running one at its next safe step."""
    with connect(profile) as client:
        show_one(client.tasks.cancel(task_id), TASK_COLUMNS, mode(as_json, quiet))


@app.command("retry")
@handled
def retry(
    task_id: TaskArg,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue a new task copying a failed or cancelled one."""
    with connect(profile) as client:
        task = finish_task(client, client.tasks.retry(task_id), wait=wait, timeout=timeout)
        show_one(task, TASK_COLUMNS, mode(as_json, quiet))


@app.command("watch")
@handled
def watch(
    task_id: TaskArg,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Follow a task to its end (exit 1 if it fails)."""
    with connect(profile) as client:
        done = follow(client, client.tasks.get(task_id), timeout=timeout)
        show_one(done, TASK_COLUMNS, mode(as_json, quiet))
