"""`nuage events`: follow the project's event stream (one line per event; `--json` prints
each event as a JSON line)."""

from typing import Annotated

import typer

from nuage.cli.cloud.common import JsonOption, ProfileOption, QuietOption, connect, handled, mode
from nuage.cli.cloud.output import show_event
from nuage.client import Resync


@handled
def events(
    instance: Annotated[str | None, typer.Option(help="Only this instance's events.")] = None,
    types: Annotated[
        str | None, typer.Option(help="Comma-separated types, e.g. task.completed,task.failed.")
    ] = None,
    last_event_id: Annotated[int | None, typer.Option(help="Resume after this event id.")] = None,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Follow the project's events as they happen (Ctrl-C stops)."""
    with connect(profile) as client:
        for event in client.events.stream(
            instance_id=instance, types=types, last_event_id=last_event_id
        ):
            if isinstance(event, Resync):
                typer.echo(f"resync: {event.reason} (oldest kept: {event.oldest_id})", err=True)
                continue
            data = event.data if isinstance(event.data, dict) else {}
            what = data.get("task_type") or data.get("name") or ""
            status = data.get("status", "")
            line = f"{event.id} {event.created:%H:%M:%S} {event.type} {what} {status}".rstrip()
            show_event(event.model_dump(mode="json"), line, mode(as_json, quiet))
