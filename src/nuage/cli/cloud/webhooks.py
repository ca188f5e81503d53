"""`nuage webhooks …`: list, create, show, delete, ping, deliveries, rotate-secret. The secret
is printed by `create` and `rotate-secret` only, once (so they have no `--quiet`)."""

from typing import Annotated

import typer

from nuage.cli.cloud.common import JsonOption, ProfileOption, QuietOption, connect, handled, mode
from nuage.cli.cloud.output import Column, field, show_many, show_one

app = typer.Typer(no_args_is_help=True, help="Webhooks: the project's events, posted and signed.")
WebhookArg = Annotated[str, typer.Argument(help="The webhook's id.")]
WEBHOOK_COLUMNS: list[Column] = [
    field("id"),
    field("url"),
    field("event_types"),
    field("is_active"),
    field("created"),
]
WITH_SECRET_COLUMNS: list[Column] = [*WEBHOOK_COLUMNS, field("secret")]
DELIVERY_COLUMNS: list[Column] = [
    field("id"),
    field("event_type"),
    field("status"),
    field("attempt"),
    field("status_code"),
    field("duration_ms"),
    field("error"),
    field("created"),
]
SECRET_ONCE = "nuage: the secret is shown this once: keep it to verify the deliveries."


@app.command("list")
@handled
def list_webhooks(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.webhooks.list(), WEBHOOK_COLUMNS, mode(as_json, quiet))


@app.command("create")
@handled
def create(
    url: Annotated[str, typer.Argument(help="Where to post (http or https).")],
    types: Annotated[
        str, typer.Option(help="Comma-separated event types, e.g. task.completed,task.failed.")
    ],
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it paused.")] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a webhook and print its signing secret (this once)."""
    event_types = [t.strip() for t in types.split(",") if t.strip()]
    with connect(profile) as client:
        made = client.webhooks.create(url, event_types, is_active=not inactive)
    show_one(made, WITH_SECRET_COLUMNS, mode(as_json, False))
    typer.echo(SECRET_ONCE, err=True)


@app.command("show")
@handled
def show(
    webhook_id: WebhookArg,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        show_one(client.webhooks.get(webhook_id), WEBHOOK_COLUMNS, mode(as_json, quiet))


@app.command("delete")
@handled
def delete(webhook_id: WebhookArg, profile: ProfileOption = None) -> None:
    """Delete the webhook and its delivery log."""
    with connect(profile) as client:
        client.webhooks.delete(webhook_id)


@app.command("rotate-secret")
@handled
def rotate_secret(
    webhook_id: WebhookArg, profile: ProfileOption = None, as_json: JsonOption = False
) -> None:
    """Give the webhook a new secret (printed this once); it signs from now on."""
    with connect(profile) as client:
        rotated = client.webhooks.rotate_secret(webhook_id)
    show_one(rotated, WITH_SECRET_COLUMNS, mode(as_json, False))
    typer.echo(SECRET_ONCE, err=True)


@app.command("ping")
@handled
def ping(
    webhook_id: WebhookArg,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue a signed `ping` delivery; `deliveries` shows how it went."""
    with connect(profile) as client:
        show_one(client.webhooks.ping(webhook_id), DELIVERY_COLUMNS, mode(as_json, quiet))


@app.command("deliveries")
@handled
def deliveries(
    webhook_id: WebhookArg,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The delivery log: each delivery's status, attempts, last HTTP status and error."""
    with connect(profile) as client:
        found = client.webhooks.deliveries(webhook_id)
        shown = [delivery for delivery, _ in zip(found, range(limit), strict=False)]
        show_many(shown, DELIVERY_COLUMNS, mode(as_json, quiet))
