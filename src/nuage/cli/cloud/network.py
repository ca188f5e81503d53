"""`nuage vpcs …` and `nuage firewall …`: VPCs are written at once; joining, leaving and a
firewall change queue a task and print it (`--wait` follows it)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from nuage.cli.cloud.common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    TimeoutOption,
    WaitOption,
    connect,
    fail,
    handled,
    mode,
)
from nuage.cli.cloud.output import Column, field, show_many, show_one
from nuage.cli.cloud.storage import Id, Instance, report

vpcs = typer.Typer(no_args_is_help=True, help="VPCs: private networks of the project.")
firewall = typer.Typer(no_args_is_help=True, help="An instance's firewall.")
VPC_COLUMNS: list[Column] = [
    field("id"),
    field("name"),
    field("cidr_block"),
    ("location", lambda v: v.location.slug),
    field("created"),
]
RULE_COLUMNS: list[Column] = [
    field("priority"),
    field("direction"),
    field("action"),
    field("protocol"),
    field("source_address"),
    ("source_ports", lambda r: r.source_ports and f"{r.source_ports.start}-{r.source_ports.end}"),
    field("destination_address"),
    (
        "destination_ports",
        lambda r: r.destination_ports and f"{r.destination_ports.start}-{r.destination_ports.end}",
    ),
]


@vpcs.command("list")
@handled
def list_vpcs(
    profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_many(client.vpcs.list(), VPC_COLUMNS, mode(as_json, quiet))


@vpcs.command("create")
@handled
def create_vpc(
    name: Annotated[str, typer.Argument(help="The VPC's name.")],
    cidr_block: Annotated[str, typer.Option("--cidr", help="Its private block, e.g. 10.0.0.0/24.")],
    location: Annotated[str, typer.Option(help="The location's id.")],
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    with connect(profile) as client:
        made = client.vpcs.create(name=name, cidr_block=cidr_block, location_id=location)
        show_one(made, VPC_COLUMNS, mode(as_json, quiet))


@vpcs.command("show")
@handled
def show_vpc(
    vpc: Id, profile: ProfileOption = None, as_json: JsonOption = False, quiet: QuietOption = False
) -> None:
    with connect(profile) as client:
        show_one(client.vpcs.get(vpc), VPC_COLUMNS, mode(as_json, quiet))


@vpcs.command("delete")
@handled
def delete_vpc(vpc: Id, profile: ProfileOption = None) -> None:
    """Delete a VPC without members."""
    with connect(profile) as client:
        client.vpcs.delete(vpc)


@vpcs.command("join")
@handled
def join_vpc(
    instance: Instance,
    vpc: Annotated[str, typer.Argument(help="The VPC's id.")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue update_vpc: put the instance in the VPC, or move it there."""
    with connect(profile) as client:
        report(client, client.vpcs.join(instance, vpc), wait, timeout, as_json, quiet)


@vpcs.command("leave")
@handled
def leave_vpc(
    instance: Instance,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue update_vpc taking the instance out of its VPC."""
    with connect(profile) as client:
        report(client, client.vpcs.leave(instance), wait, timeout, as_json, quiet)


@firewall.command("show")
@handled
def show_firewall(
    instance: Instance, profile: ProfileOption = None, as_json: JsonOption = False
) -> None:
    """The rules the machine has (a queued change is in --json's `pending`)."""
    with connect(profile) as client:
        found = client.firewalls.get(instance)
    if as_json:
        print(found.model_dump_json(indent=2))
    else:
        print(f"enabled: {found.enabled}, default: {found.default_action.value}")
        show_many(found.rules, RULE_COLUMNS, mode(False, False))


def rules_given(file: Path | None, rules: list[str]) -> list[dict[str, Any]]:
    """The rule list from a JSON file (a list, or `{"rules": [...]}`) or from --rule objects."""
    if (file is None) == (not rules):
        raise fail("give either --file or one --rule per rule (--file with [] clears)", 2)
    try:
        if file is not None:
            loaded = json.loads(file.read_text())
            return list(loaded["rules"] if isinstance(loaded, dict) else loaded)
        return [json.loads(rule) for rule in rules]
    except (OSError, ValueError, KeyError, TypeError) as bad:
        raise fail(f"cannot read the rules: {bad}", 2) from bad


@firewall.command("set")
@handled
def set_firewall(
    instance: Instance,
    file: Annotated[Path | None, typer.Option(help="A JSON file: the rule list.")] = None,
    rule: Annotated[
        list[str] | None, typer.Option(help="One rule as a JSON object; repeat for more.")
    ] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue apply_firewall replacing the whole rule list."""
    given = rules_given(file, rule or [])
    with connect(profile) as client:
        report(client, client.firewalls.replace(instance, given), wait, timeout, as_json, quiet)
