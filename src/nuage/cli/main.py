"""`nuage`: run the API and workers, migrate the database, bootstrap accounts; and, after
`nuage login`, use a nuage cloud: instances, tasks, events, snapshots, backups, volumes, IPs,
VPCs, firewalls, software, images, the console, webhooks, API keys and project tokens."""

import asyncio
import json
from typing import Annotated

import typer

from nuage.cli import hosts, ip_pools
from nuage.cli.cloud import (
    events,
    guest,
    instances,
    keys,
    login,
    network,
    storage,
    tasks,
    webhooks,
)
from nuage.cli.use_cases import run_use_case
from nuage.config import DEFAULT_HOST, DEFAULT_PORT, load_settings
from nuage.domain.errors import NuageError

# The server's commands import its stack (uvicorn, FastAPI, the engine) when they run, so the
# client commands (`nuage instances …`) start quickly.

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
app.add_typer(hosts.app, name="hosts")
app.add_typer(ip_pools.app, name="ip-pools")
# Commands that use a nuage API over HTTP (after `nuage login`), through the SDK.
app.command("login")(login.login)
app.add_typer(instances.app, name="instances")
app.add_typer(tasks.app, name="tasks")
app.command("events")(events.events)
app.add_typer(storage.snapshots, name="snapshots")
app.add_typer(storage.volumes, name="volumes")
app.add_typer(storage.ips, name="ips")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(keys.app, name="keys")
app.add_typer(network.vpcs, name="vpcs")
app.add_typer(network.firewall, name="firewall")
app.add_typer(guest.software, name="software")
app.add_typer(guest.backups, name="backups")
app.add_typer(guest.images, name="images")
app.add_typer(guest.console, name="console")

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration up to the latest (safe to run again)."""
    from nuage.cli import runtime

    settings = load_settings()
    before, after = asyncio.run(runtime.migrate(settings))
    where = runtime.database_location(settings)
    if before == after:
        done = f"database {where} is already at revision {after}: nothing to do"
    elif before is None:
        done = f"database {where} created at revision {after}"
    else:
        done = f"database {where} migrated from revision {before} to {after}"
    typer.echo(f"{done} (data directory: {settings.data_dir})", err=True)


@app.command()
def serve(
    host: Host = DEFAULT_HOST,
    port: Port = DEFAULT_PORT,
    worker: Annotated[bool, typer.Option(help="Run a worker in the same process.")] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="API processes on this port (PostgreSQL; SQLite keeps one process)."
        ),
    ] = 1,
) -> None:
    """Run the API (and, by default, a worker in the same process)."""
    from nuage.cli import runtime, serving

    settings = load_settings()
    runtime.configure_logging(settings.log_format)
    count = serving.process_count(settings, workers)
    if count > 1:
        serving.serve_processes(settings, host=host, port=port, workers=count, with_worker=worker)
        return
    with asyncio.Runner(loop_factory=serving.loop_factory()) as runner:
        runner.run(serving.serve(settings, host=host, port=port, with_worker=worker))


@app.command("worker")
def worker_command() -> None:
    """Run a worker only: claims tasks from the database and executes them."""
    from nuage.cli import runtime

    settings = load_settings()
    runtime.configure_logging(settings.log_format)
    asyncio.run(runtime.work(settings))


@app.command()
def bootstrap(
    email: Annotated[str, typer.Option(help="The user's email.")],
    password: Annotated[str, typer.Option(help="The user's password (8 characters or more).")],
    organization: Annotated[str, typer.Option(help="Organization name.")] = "Default",
    project: Annotated[str, typer.Option(help="Project name.")] = "default",
    instance_quota: Annotated[
        int | None, typer.Option(help="Set the organization's instance quota.")
    ] = None,
    staff: Annotated[bool, typer.Option(help="Make the user an operator (admin API).")] = False,
) -> None:
    """Create or reuse a user, organization and project; print them with a new API key as JSON."""
    from nuage.cli import demo
    from nuage.services.accounts import bootstrap as bootstrap_account

    result = run_use_case(
        "bootstrap",
        lambda session: bootstrap_account(
            session,
            email=email,
            password=password,
            organization=organization,
            project=project,
            instance_quota=instance_quota,
            staff=staff,
        ),
    )
    typer.echo(json.dumps(demo.bootstrap_json(result)))


@app.command("demo", hidden=True)
def demo_command(host: Host = DEFAULT_HOST, port: Port = DEFAULT_PORT) -> None:
    """What `make run` runs: bootstrap the demo account once, print how to call the API, serve."""
    from nuage.cli import demo, runtime, serving

    settings = load_settings()
    asyncio.run(demo.ensure_demo_hosts(settings))
    credentials = asyncio.run(demo.ensure_demo_account(settings))
    demo.print_welcome(credentials, host=host, port=port)
    runtime.configure_logging(settings.log_format)
    asyncio.run(serving.serve(settings, host=host, port=port, with_worker=True))


def main() -> None:
    try:
        app()
    except NuageError as error:  # e.g. the database is not set up: one line, no traceback
        typer.echo(f"nuage: {error.message}", err=True)
        raise SystemExit(2) from error
