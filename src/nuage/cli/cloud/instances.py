"""`nuage instances …`: list, create, show, the power actions and delete."""

from collections.abc import Callable, Iterable
from typing import Annotated, Any

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
from nuage.cli.cloud.tasks import TASK_COLUMNS, finish_task
from nuage.client import Client, Task
from nuage.client.errors import ConfigurationError
from nuage.client.models import Instance

app = typer.Typer(no_args_is_help=True, help="Instances: list, create, show, act, delete.")
ACTIONS = ("start", "stop", "reboot", "shutdown", "reset")
COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("status"),
    ("power", lambda i: i.power_state),
    ("ipv4", lambda i: i.ipv4),
    ("location", lambda i: i.location.slug),
    ("size", lambda i: i.size.slug),
]
DETAIL: list[Column] = [
    *COLUMNS,
    ("image", lambda i: i.image.slug),
    field("hostname"),
    ("ipv6", lambda i: i.ipv6),
    field("tags"),
    field("created"),
]
InstanceArg = Annotated[str, typer.Argument(help="The instance's id.")]
RejectOption = Annotated[
    bool, typer.Option("--reject", help="Refuse (409) if the instance is busy, do not queue.")
]


def pick(kind: str, items: Iterable[Any], wanted: str) -> str:
    """The id of the catalogue item whose id, slug or name is `wanted` (any case)."""
    for item in items:
        if wanted.lower() in (str(item.id), item.slug.lower(), item.name.lower()):
            return str(item.id)
    raise ConfigurationError(f"no {kind} {wanted!r} (give its id, slug or name)")


@app.command("list")
@handled
def list_instances(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    """Every instance of the project."""
    with connect(profile) as client:
        show_many(client.instances.list(), COLUMNS, mode(as_json, quiet))


@app.command("show")
@handled
def show(
    instance_id: InstanceArg,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_one(client.instances.get(instance_id), DETAIL, mode(as_json, quiet))


@app.command("create")
@handled
def create(
    name: Annotated[str, typer.Option(help="The instance's name.")],
    size: Annotated[str, typer.Option(help="A size: its name (nano, small, …), slug or id.")],
    location: Annotated[str, typer.Option(help="A location: its slug (par1, …), name or id.")],
    image: Annotated[str, typer.Option(help="An image's slug (debian-12, …) or id.")],
    hostname: Annotated[str | None, typer.Option(help="Defaults to the name.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more).")] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Create an instance; with --wait, until its create_vps task ended."""
    with connect(profile) as client:
        catalogue = client.catalogue
        created = client.instances.create(
            name=name,
            size_id=pick("size", catalogue.sizes(), size),
            location_id=pick("location", catalogue.locations(), location),
            image_id=pick("image", catalogue.images(), image),
            hostname=hostname,
            tags=tag or (),
        )
        instance: Instance = created
        if wait and created.task_id is not None:
            finish_task(client, client.tasks.get(created.task_id), wait=True, timeout=timeout)
            instance = client.instances.get(created.id)
        show_one(instance, DETAIL, mode(as_json, quiet))


def _action(name: str) -> Callable[..., None]:
    @handled
    def act(
        instance_id: InstanceArg,
        wait: WaitOption = False,
        timeout: TimeoutOption = 300,
        reject: RejectOption = False,
        profile: ProfileOption = None,
        as_json: JsonOption = False,
        quiet: QuietOption = False,
    ) -> None:
        with connect(profile) as client:
            conflict = "reject" if reject else "queue"
            task = client.instances.action(instance_id, name, on_conflict=conflict)
            _report(client, task, wait, timeout, as_json, quiet)

    act.__doc__ = f"Queue {name}_vps on the instance (its task is printed)."
    return act


def _report(
    client: Client, task: Task, wait: bool, timeout: float, as_json: bool, quiet: bool
) -> None:
    done = finish_task(client, task, wait=wait, timeout=timeout)
    show_one(done, TASK_COLUMNS, mode(as_json, quiet))


for _name in ACTIONS:
    app.command(_name)(_action(_name))


@app.command("delete")
@handled
def delete(
    instance_id: InstanceArg,
    delete_volumes: Annotated[bool, typer.Option(help="Delete its volumes too.")] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue delete_vps (its volumes are detached and kept unless --delete-volumes)."""
    with connect(profile) as client:
        task = client.instances.delete(instance_id, delete_volumes=delete_volumes)
        _report(client, task, wait, timeout, as_json, quiet)
