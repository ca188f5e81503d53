"""`nuage snapshots …`, `nuage volumes …` and `nuage ips …`: each action queues a task and
prints it (`--wait` follows it); lists print tables."""

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
from nuage.cli.cloud.tasks import TASK_COLUMNS, finish_task
from nuage.client import Client, Task

snapshots = typer.Typer(no_args_is_help=True, help="Snapshots of an instance.")
volumes = typer.Typer(no_args_is_help=True, help="Volumes: disks of their own.")
ips = typer.Typer(no_args_is_help=True, help="An instance's IP addresses.")
Instance = Annotated[str, typer.Argument(help="The instance's id.")]
Id = Annotated[str, typer.Argument(help="Its id.")]
SNAPSHOT_COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("status"),
    field("size_gb"),
    field("created"),
]
VOLUME_COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("status"),
    field("size_gb"),
    field("instance_id"),
    field("device"),
]
IP_COLUMNS: list[Column] = [
    field("id"),
    field("address"),
    field("version"),
    field("is_primary"),
    field("ptr"),
    field("status"),
]


def report(
    client: Client, task: Task, wait: bool, timeout: float, as_json: bool, quiet: bool
) -> None:
    done = finish_task(client, task, wait=wait, timeout=timeout)
    show_one(done, TASK_COLUMNS, mode(as_json, quiet))


@snapshots.command("list")
@handled
def list_snapshots(
    instance: Instance,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_many(client.snapshots.list(instance), SNAPSHOT_COLUMNS, mode(as_json, quiet))


@snapshots.command("create")
@handled
def create_snapshot(
    instance: Instance,
    name: Annotated[str, typer.Argument(help="The snapshot's name.")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue create_snapshot (the snapshot's id is the task's parameters.snapshot_id)."""
    with connect(profile) as client:
        report(client, client.snapshots.create(instance, name), wait, timeout, as_json, quiet)


@snapshots.command("restore")
@handled
def restore_snapshot(
    instance: Instance,
    snapshot: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue restore_snapshot (the instance must be stopped by then)."""
    with connect(profile) as client:
        task = client.snapshots.restore(instance, snapshot)
        report(client, task, wait, timeout, as_json, quiet)


@snapshots.command("delete")
@handled
def delete_snapshot(
    instance: Instance,
    snapshot: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        task = client.snapshots.delete(instance, snapshot)
        report(client, task, wait, timeout, as_json, quiet)


@volumes.command("list")
@handled
def list_volumes(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.volumes.list(), VOLUME_COLUMNS, mode(as_json, quiet))


@volumes.command("show")
@handled
def show_volume(
    volume: Id,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_one(client.volumes.get(volume), VOLUME_COLUMNS, mode(as_json, quiet))


@volumes.command("create")
@handled
def create_volume(
    instance: Instance,
    name: Annotated[str, typer.Argument(help="The volume's name.")],
    size_gb: Annotated[int, typer.Argument(help="Its size in GiB.")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue create_volume: a volume attached to the instance."""
    with connect(profile) as client:
        task = client.volumes.create(instance, name, size_gb)
        report(client, task, wait, timeout, as_json, quiet)


@volumes.command("attach")
@handled
def attach_volume(
    volume: Id,
    instance: Instance,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        task = client.volumes.attach(volume, instance)
        report(client, task, wait, timeout, as_json, quiet)


@volumes.command("detach")
@handled
def detach_volume(
    volume: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        report(client, client.volumes.detach(volume), wait, timeout, as_json, quiet)


@volumes.command("delete")
@handled
def delete_volume(
    volume: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        report(client, client.volumes.delete(volume), wait, timeout, as_json, quiet)


@ips.command("list")
@handled
def list_ips(
    instance: Instance,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_many(client.ips.list(instance), IP_COLUMNS, mode(as_json, quiet))


@ips.command("assign")
@handled
def assign_ip(
    instance: Instance,
    version: Annotated[int, typer.Option(help="4 or 6.")] = 4,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue assign_ip (the address's id is the task's parameters.ip_id)."""
    with connect(profile) as client:
        report(client, client.ips.assign(instance, version), wait, timeout, as_json, quiet)


@ips.command("remove")
@handled
def remove_ip(
    instance: Instance,
    ip: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        report(client, client.ips.remove(instance, ip), wait, timeout, as_json, quiet)


@ips.command("reverse-dns")
@handled
def reverse_dns(
    instance: Instance,
    ip: Id,
    ptr: Annotated[str, typer.Argument(help="The name, e.g. mail.example.com.")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        task = client.ips.set_reverse_dns(instance, ip, ptr)
        report(client, task, wait, timeout, as_json, quiet)
