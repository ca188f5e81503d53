"""`nuage hosts …`: the host registry from the command line (operators)."""

import json
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.cli.use_cases import run_use_case
from nuage.config import load_settings
from nuage.domain.drivers import DESCRIPTIONS
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
        "config": host.config,
        "secret_ref": host.secret_ref,
        "capabilities": sorted(view.capabilities),
        "state": host.state,
        "capacity": {"vcpu": host.vcpu, "ram_mb": host.ram_mb, "disk_gb": host.disk_gb},
        "free": {"vcpu": load.free.vcpu, "ram_mb": load.free.ram_mb, "disk_gb": load.free.disk_gb},
    }


ConfigOption = Annotated[
    str | None,
    typer.Option(help="The driver's settings as a JSON object, e.g. '{\"latency_ms\": 50}'."),
]
SecretRefOption = Annotated[
    str | None,
    typer.Option(help="Where the host's secret is: env:NAME or file:/path (never the secret)."),
]


def _config(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--config") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("a JSON object, e.g. {}", param_hint="--config")
    return value


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
    driver: Annotated[str, typer.Option(help=f"One of: {', '.join(DESCRIPTIONS)}.")],
    uri: Annotated[str, typer.Option(help="Driver URI, e.g. qemu+ssh://host/system.")],
    vcpu: Annotated[int, typer.Option(help="vCPUs to sell on this host.")],
    ram_mb: Annotated[int, typer.Option(help="Memory to sell, MiB.")],
    disk_gb: Annotated[int, typer.Option(help="Disk to sell, GiB.")],
    state: Annotated[HostState, typer.Option(help="Initial state.")] = HostState.ENABLED,
    config: ConfigOption = None,
    secret_ref: SecretRefOption = None,
) -> None:
    """Register a host."""
    spec = hosts.HostSpec(
        name, location, driver, uri, vcpu, ram_mb, disk_gb, state, _config(config) or {}, secret_ref
    )

    async def use_case(session: AsyncSession) -> dict[str, object]:
        from nuage.cli.runtime import host_check  # the server's stack, loaded when used

        host = await hosts.add_host(session, spec, check=host_check(load_settings()))
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
    config: ConfigOption = None,
    secret_ref: SecretRefOption = None,
) -> None:
    """Change a host's state, capacity, configuration (replaced whole) or secret reference
    (empty: none). Draining: take no new instances."""
    changes = hosts.HostChanges(state, uri, vcpu, ram_mb, disk_gb, _config(config), secret_ref)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        host = await hosts.host_by_name(session, name)
        await hosts.change_host(session, host.id, changes)
        return _show(await hosts.get_host(session, host.id))

    typer.echo(json.dumps(run_use_case("hosts", use_case)))
