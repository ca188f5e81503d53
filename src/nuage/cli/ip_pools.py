"""`nuage ip-pools …`: a location's address pools from the command line (operators)."""

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.cli.use_cases import run_use_case
from nuage.domain.ipam import DEFAULT_PTR_DOMAIN
from nuage.services import ip_pools

app = typer.Typer(no_args_is_help=True, help="Address pools: list, add, activate, deactivate.")


def _show(view: ip_pools.PoolView) -> dict[str, object]:
    pool = view.pool
    return {
        "id": str(pool.id),
        "name": pool.name,
        "location_id": str(pool.location_id),
        "version": pool.version,
        "cidr": pool.cidr,
        "gateway": pool.gateway,
        "first": pool.first,
        "last": pool.last,
        "ptr_domain": pool.ptr_domain,
        "is_active": pool.is_active,
        "size": view.size,
        "used": view.used,
    }


@app.command("list")
def list_pools() -> None:
    """Print every pool with its size and use, as JSON lines."""

    async def use_case(session: AsyncSession) -> list[dict[str, object]]:
        return [_show(view) for view in await ip_pools.list_pools(session)]

    for row in run_use_case("ip-pools", use_case):
        typer.echo(json.dumps(row))


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="Unique pool name, e.g. par1-v4.")],
    location: Annotated[str, typer.Option(help="Location slug (e.g. par1) or id.")],
    cidr: Annotated[str, typer.Option(help="IPv4 network or IPv6 prefix, e.g. 192.0.2.0/24.")],
    gateway: Annotated[str | None, typer.Option(help="Default: the network's first host.")] = None,
    first: Annotated[str | None, typer.Option(help="First address handed out.")] = None,
    last: Annotated[str | None, typer.Option(help="Last address handed out.")] = None,
    ptr_domain: Annotated[
        str, typer.Option(help="Domain of the default reverse DNS names.")
    ] = DEFAULT_PTR_DOMAIN,
    inactive: Annotated[bool, typer.Option(help="Add it without handing out from it.")] = False,
) -> None:
    """Add a pool (it must overlap no other)."""
    spec = ip_pools.PoolSpec(name, location, cidr, gateway, first, last, ptr_domain)

    async def use_case(session: AsyncSession) -> dict[str, object]:
        pool = await ip_pools.add_pool(session, spec, is_active=not inactive)
        return _show(await ip_pools.get_pool(session, pool.id))

    typer.echo(json.dumps(run_use_case("ip-pools", use_case)))


@app.command("set")
def change(
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    active: Annotated[bool, typer.Option("--active/--inactive", help="Hand out from it?")],
) -> None:
    """Activate or deactivate a pool: an inactive one hands out nothing new."""

    async def use_case(session: AsyncSession) -> dict[str, object]:
        pool = await ip_pools.pool_by_name(session, name)
        await ip_pools.set_pool_active(session, pool.id, active)
        return _show(await ip_pools.get_pool(session, pool.id))

    typer.echo(json.dumps(run_use_case("ip-pools", use_case)))
