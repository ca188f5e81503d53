"""Running a use case from a command: one transaction, and errors as one line on stderr."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.config import load_settings
from nuage.domain.errors import NuageError, ValidationFailed

T = TypeVar("T")


def run_use_case(command: str, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """The use case's result; on a domain error, its message on stderr and exit status 2."""
    from nuage.cli.runtime import run_in_session  # the server's stack, loaded when used

    try:
        return asyncio.run(run_in_session(load_settings(), use_case))
    except ValidationFailed as error:
        typer.echo(f"nuage {command}: {json.dumps(error.fields)}", err=True)
        raise typer.Exit(2) from error
    except NuageError as error:
        typer.echo(f"nuage {command}: {error.message}", err=True)
        raise typer.Exit(2) from error
