"""What every cloud command shares: its options, the client of the chosen profile, and one
place that turns the SDK's exceptions into a message on stderr and an exit status
(1: the API refused or the task failed, 2: the CLI lacks something, e.g. a login)."""

import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import httpx
import typer

from nuage.cli.cloud import config
from nuage.cli.cloud.output import Mode
from nuage.client import Client
from nuage.client.errors import (
    ApiError,
    ConfigurationError,
    StreamClosed,
    TaskFailed,
    ValidationFailed,
    WaitTimeout,
)

P = ParamSpec("P")
R = TypeVar("R")

ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", envvar="NUAGE_PROFILE", help="The login profile to use."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print ids only.")]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait", help="Follow the task with a live display; exit 1 if it fails or is cancelled."
    ),
]
TimeoutOption = Annotated[float, typer.Option(help="Seconds --wait waits at most.")]


def mode(as_json: bool, quiet: bool) -> Mode:
    return Mode(json=as_json, quiet=quiet)


def connect(profile: str | None) -> Client:
    found = config.load(profile)
    return Client(
        found.url,
        api_key=found.api_key,
        organization_id=found.organization_id,
        project_id=found.project_id,
    )


def fail(message: str, status: int) -> typer.Exit:
    typer.echo(f"nuage: {message}", err=True)
    return typer.Exit(status)


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Run `command`, with the SDK's errors said in one line (no traceback)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TaskFailed as failed:
            raise fail(
                f"task {failed.task.id} {failed.task.status}: {failed.code}: {failed.message}", 1
            ) from failed
        except ValidationFailed as refused:
            raise fail(f"refused ({refused.status}): {refused.message}", 1) from refused
        except ApiError as refused:
            raise fail(f"{refused.code} ({refused.status}): {refused.message}", 1) from refused
        except StreamClosed as closed:
            raise fail(f"the event stream ended: {closed.code}: {closed.message}", 1) from closed
        except WaitTimeout as late:
            raise fail(str(late), 1) from late
        except ConfigurationError as missing:
            raise fail(str(missing), 2) from missing
        except httpx.TransportError as lost:
            raise fail(f"cannot reach the API: {lost}", 2) from lost
        except KeyboardInterrupt:
            sys.exit(130)

    return run
