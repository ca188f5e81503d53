"""`nuage software …`, `nuage backups …`, `nuage images …` and `nuage console open`: each action
queues a task and prints it (`--wait` follows it); lists print tables."""

import json
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
from nuage.cli.cloud.output import Column, field, show_many
from nuage.cli.cloud.storage import SNAPSHOT_COLUMNS, Id, Instance, report

software = typer.Typer(no_args_is_help=True, help="The software catalogue, installed on instances.")
backups = typer.Typer(no_args_is_help=True, help="Backups of an instance.")
images = typer.Typer(no_args_is_help=True, help="The catalogue's images and the project's own.")
console = typer.Typer(no_args_is_help=True, help="An instance's console (VNC over WebSocket).")
SoftwareArg = Annotated[str, typer.Argument(help="The software entry's id.")]
SOFTWARE_COLUMNS: list[Column] = [
    field("id"),
    field("slug"),
    field("name"),
    field("is_active"),
    field("description"),
]
IMAGE_COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("visibility"),
    field("status"),
    field("min_disk_gb"),
    field("created"),
]


@software.command("list")
@handled
def list_software(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.software.list(), SOFTWARE_COLUMNS, mode(as_json, quiet))


@software.command("install")
@handled
def install_software(
    instance: Instance,
    entry: SoftwareArg,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue install_software (a running guest restarts to apply it)."""
    with connect(profile) as client:
        report(client, client.software.install(instance, entry), wait, timeout, as_json, quiet)


@software.command("uninstall")
@handled
def uninstall_software(
    instance: Instance,
    entry: SoftwareArg,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        report(client, client.software.uninstall(instance, entry), wait, timeout, as_json, quiet)


@backups.command("list")
@handled
def list_backups(
    instance: Instance,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_many(client.backups.list(instance), SNAPSHOT_COLUMNS, mode(as_json, quiet))


@backups.command("create")
@handled
def create_backup(
    instance: Instance,
    name: Annotated[str, typer.Argument(help="The backup's name.")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        report(client, client.backups.create(instance, name), wait, timeout, as_json, quiet)


@backups.command("restore")
@handled
def restore_backup(
    instance: Instance,
    backup: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        task = client.backups.restore(instance, backup)
        report(client, task, wait, timeout, as_json, quiet)


@backups.command("delete")
@handled
def delete_backup(
    instance: Instance,
    backup: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        task = client.backups.delete(instance, backup)
        report(client, task, wait, timeout, as_json, quiet)


@images.command("list")
@handled
def list_images(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.images.list(), IMAGE_COLUMNS, mode(as_json, quiet))


@images.command("delete")
@handled
def delete_image(
    image: Id,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue the deletion of one of the project's custom images."""
    with connect(profile) as client:
        report(client, client.images.delete(image), wait, timeout, as_json, quiet)


@console.command("open")
@handled
def open_console(
    instance: Instance,
    timeout: TimeoutOption = 60,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a console session (the instance must be running) and print its one-time URL."""
    with connect(profile) as client:
        session = client.console.open(instance).wait(timeout).result or {}
    if as_json:
        print(json.dumps(session, indent=2))
    else:
        print(f"{session['url']}?token={session['token']}")
