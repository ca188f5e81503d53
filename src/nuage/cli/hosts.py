"""`nuage hosts …`: the host registry from the command line (operators)."""

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.cli.use_cases import run_use_case
from nuage.domain.enums import HostState
from nuage.services import hosts

app = typer.Typer(no_args_is_help=True, help="Hypervisor hosts: list, add, change, drain.")


def _show(view: hosts.HostView) -> dict[str, object]:
    host, load = view.host, view.load
    return {
        "id": str(host.id),
        "name": host.name,
        "location_id": str(host.location_id),
        "driver": host.driver,
        "uri": host.uri,
        "state": host.state,
        "capacity": {"vcpu": host.vcpu, "ram_mb": host.ram_mb, "disk_gb": host.disk_gb},
        "free": {"vcpu": load.free.vcpu, "ram_mb": load.free.ram_mb, "disk_gb": load.free.disk_gb},
    }


@app.command("list")
def list_hosts() -> None:
    """Print every host with its capacity and free room, as JSON lines."""

    async def use_case(session: AsyncSession) -> list[dict[str, object]]:
        return [_show(view) for view in await hosts.list_hosts(session)]

    for row in run_use_case("hosts", use_case):
        typer.echo(json.dumps(row))


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="Unique host name.")],
    location: Annotated[str, typer.Option(help="Location slug (e.g. par1) or id.")],
    driver: Annotated[str, typer.Option(help="sim or libvirt.")],
    uri: Annotated[str, typer.Option(help="Driver URI, e.g. qemu+ssh://host/system.")],
    vcpu: Annotated[int, typer.Option(help="vCPUs to sell on this host.")],
    ram_mb: Annotated[int, typer.Option(help="Memory to sell, MiB.")],
    disk_gb: Annotated[int, typer.Option(help="Disk to sell, GiB.")],
    state: Annotated[HostState, typer.Option(help="Initial state.")] = HostState.ENABLED,
) -> None:
    """Register a host."""
    spec = hosts.HostSpec(name, location, driver, uri, vcpu, ram_mb, disk_gb, state)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        host = await hosts.add_host(session, spec)
        return _show(await hosts.get_host(session, host.id))

    typer.echo(json.dumps(run_use_case("hosts", use_case)))


@app.command("set")
def change(
    name: Annotated[str, typer.Argument(help="The host's name.")],
    state: Annotated[HostState | None, typer.Option(help="enabled, disabled or draining.")] = None,
    uri: Annotated[str | None, typer.Option()] = None,
    vcpu: Annotated[int | None, typer.Option()] = None,
    ram_mb: Annotated[int | None, typer.Option()] = None,
    disk_gb: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Change a host's state or capacity (draining: take no new instances)."""
    changes = hosts.HostChanges(state, uri, vcpu, ram_mb, disk_gb)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        host = await hosts.host_by_name(session, name)
        await hosts.change_host(session, host.id, changes)
        return _show(await hosts.get_host(session, host.id))

    typer.echo(json.dumps(run_use_case("hosts", use_case)))
