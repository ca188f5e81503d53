"""`nuage login`: check credentials against the API and keep them in a profile."""

import socket
from typing import Annotated

import typer

from nuage.cli.cloud import config
from nuage.cli.cloud.common import handled
from nuage.client import Client

UrlOption = Annotated[str, typer.Option("--url", envvar="NUAGE_URL", help="The API's base URL.")]
KeyOption = Annotated[
    str | None, typer.Option("--api-key", help="An API key (sk-onetsolutions-…).")
]
EmailOption = Annotated[
    str | None, typer.Option("--email", help="Log in with a password instead of a key.")
]
PasswordOption = Annotated[
    str | None, typer.Option("--password", help="Asked for when --email is given without it.")
]
NameOption = Annotated[str, typer.Option("--profile", help="The profile to save.")]
IdOption = Annotated[
    str | None, typer.Option(help="Needed only when the key sees several of them.")
]


def _key_from_password(url: str, email: str, password: str | None) -> str:
    """Log in, then mint an API key for this CLI: a login token expires within minutes."""
    password = password or typer.prompt("Password", hide_input=True)
    with Client.login(url, email=email, password=password) as session:
        minted = session.account.create_api_key(f"nuage CLI on {socket.gethostname()}")
    assert minted.key is not None  # shown once, at creation
    return minted.key


@handled
def login(
    url: UrlOption,
    api_key: KeyOption = None,
    email: EmailOption = None,
    password: PasswordOption = None,
    profile: NameOption = config.DEFAULT_PROFILE,
    organization: IdOption = None,
    project: IdOption = None,
) -> None:
    """Save a profile (URL, API key, organization, project) after checking it works."""
    if (api_key is None) == (email is None):
        raise typer.BadParameter("give --api-key, or --email (and --password)")
    key = api_key or _key_from_password(url, email or "", password)
    with Client(url, api_key=key, organization_id=organization, project_id=project) as client:
        client.scope()  # the key works and names one project
        saved = config.Profile(url, key, client.organization_id, client.project_id)
    path = config.save(profile, saved, make_default=True)
    typer.echo(
        f"Logged in to {url} (organization {saved.organization_id}, project "
        f"{saved.project_id}); profile {profile!r} saved in {path}",
        err=True,
    )
