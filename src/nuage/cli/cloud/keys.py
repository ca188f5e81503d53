"""`nuage keys …`: the caller's API keys and project tokens — list, create, revoke. The key is
printed by `create` only, once (so it has no `--quiet`)."""

from typing import Annotated

import typer

from nuage.cli.cloud.common import JsonOption, ProfileOption, QuietOption, connect, handled, mode
from nuage.cli.cloud.output import Column, field, show_many, show_one

app = typer.Typer(no_args_is_help=True, help="API keys and project tokens.")
KEY_COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("prefix"),
    field("scopes"),
    field("project_id"),
    field("expires_at"),
    field("last_used"),
]
KEY_ONCE = "nuage: the key is shown this once: keep it now."


@app.command("list")
@handled
def list_keys(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.account.api_keys(), KEY_COLUMNS, mode(as_json, quiet))


@app.command("create")
@handled
def create(
    name: Annotated[str, typer.Argument(help="A name to recognise the key by.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="compute:read, compute:write or admin; repeat for several."),
    ] = None,
    project_token: Annotated[
        bool,
        typer.Option(
            "--project-token", help="Confine the key to this profile's project (a project token)."
        ),
    ] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key (or a project token) and print it (this once)."""
    with connect(profile) as client:
        if project_token:
            client.scope()  # the profile's project, found from its key if it was not saved
        project = client.project_id if project_token else None
        made = client.account.create_api_key(name, scopes=scope or None, project_id=project)
    show_one(made, [*KEY_COLUMNS, field("key")], mode(as_json, False))
    typer.echo(KEY_ONCE, err=True)


@app.command("revoke")
@handled
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id.")], profile: ProfileOption = None
) -> None:
    """Revoke the key at once."""
    with connect(profile) as client:
        client.account.revoke_api_key(key_id)
