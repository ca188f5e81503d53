"""The SDK's VPCs and software, and the CLI's vpcs, firewall, software, backups, images and
console groups, end to end against a real server (`nuage serve`, its worker, a simulated host):
each change is a task followed to its end, then read back as the user reads it."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from nuage.client import AsyncClient, Client
from nuage.client.enums import TaskStatus
from tests.contract.live import LiveServer
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = pytest.mark.slow  # a real server, and the CLI's processes

WHERE = {"size_id": SIZES["nano"], "location_id": LOCATION, "image_id": IMAGES["debian"]}
CREATE = ["--size", "nano", "--location", "par1", "--image", "debian-12"]
SSH_IN = {"priority": 10, "direction": "INPUT", "action": "ACCEPT", "protocol": "TCP",
          "destination_ports": {"start": 22}}  # fmt: skip


def running_instance(client: Client, name: str) -> str:
    created = client.instances.create(name=name, **WHERE)
    assert created.task_id is not None
    client.tasks.wait(created.task_id, timeout=60, raise_on_failure=True)
    return str(created.id)


def test_the_sdk_joins_a_vpc_and_installs_software(server: LiveServer) -> None:
    with Client(server.base, api_key=server.api_key) as client:
        instance = running_instance(client, "sdk-vpc")
        vpc = client.vpcs.create(name="sdk-net", cidr_block="10.44.0.0/24", location_id=LOCATION)
        assert vpc.id in [v.id for v in client.vpcs.list()]
        renamed = client.vpcs.update(vpc.id, name="sdk-net-2")
        assert (renamed.name, renamed.cidr_block) == ("sdk-net-2", "10.44.0.0/24")

        joined = client.vpcs.join(instance, vpc.id).wait(timeout=60)
        member = client.instances.get(instance)
        assert joined.task_type == "update_vpc" and joined.status is TaskStatus.COMPLETED
        assert member.vpc is not None and member.vpc.id == vpc.id
        assert member.vpc.private_address == "10.44.0.2"

        nginx = next(s for s in client.software.list() if s.slug == "nginx")
        installed = client.software.install(instance, nginx.id).wait(timeout=60)
        assert installed.task_type == "install_software"
        assert client.instances.get(instance).software == ["nginx"]
        client.software.uninstall(instance, nginx.id).wait(timeout=60)
        client.vpcs.leave(instance).wait(timeout=60)
        after = client.instances.get(instance)
        assert after.software == [] and after.vpc is None
        client.vpcs.delete(vpc.id)
        assert vpc.id not in [v.id for v in client.vpcs.list()]


def test_the_async_client_lists_vpcs_and_software(server: LiveServer) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with AsyncClient(server.base, api_key=server.api_key) as client:
            vpc = await client.vpcs.create(
                name="async-net", cidr_block="10.45.0.0/24", location_id=LOCATION
            )
            names = [v.name async for v in client.vpcs.list()]
            slugs = [s.slug async for s in client.software.list()]
            await client.vpcs.delete(vpc.id)
            return names, slugs

    names, slugs = asyncio.run(scenario())
    assert "async-net" in names and "nginx" in slugs


def as_json(done: Any) -> Any:
    return json.loads(done.stdout)


def test_the_cli_round_trips(server: LiveServer, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("login", "--url", server.base, "--api-key", server.api_key)
    instance = as_json(cli("instances", "create", "--name", "cli-net", *CREATE, "--wait", "--json"))
    iid = instance["id"]

    vpc = as_json(cli("vpcs", "create", "cli-net", "--cidr", "10.46.0.0/24", "--location", LOCATION,
                      "--json"))  # fmt: skip
    assert as_json(cli("vpcs", "show", vpc["id"], "--json"))["cidr_block"] == "10.46.0.0/24"
    assert vpc["id"] in cli("vpcs", "list", "--quiet").stdout.split()
    joined = as_json(cli("vpcs", "join", iid, vpc["id"], "--wait", "--json"))
    assert (joined["task_type"], joined["status"]) == ("update_vpc", "completed")
    assert as_json(cli("instances", "show", iid, "--json"))["vpc"]["id"] == vpc["id"]
    refused = cli("vpcs", "delete", vpc["id"], status=1)
    assert "vpc_has_members (409)" in refused.stderr
    cli("vpcs", "leave", iid, "--wait", "--quiet")
    cli("vpcs", "delete", vpc["id"])

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([SSH_IN]))
    applied = as_json(cli("firewall", "set", iid, "--file", str(rules), "--wait", "--json"))
    assert (applied["task_type"], applied["status"]) == ("apply_firewall", "completed")
    shown = as_json(cli("firewall", "show", iid, "--json"))
    assert shown["enabled"] and [r["destination_ports"] for r in shown["rules"]] == [
        {"start": 22, "end": 22}
    ]
    assert "give either --file or" in cli("firewall", "set", iid, status=2).stderr
    bad = cli("firewall", "set", iid, "--rule", json.dumps(SSH_IN | {"priority": 5}), status=1)
    assert "refused (400)" in bad.stderr
    cli("firewall", "set", iid, "--rule", json.dumps(SSH_IN | {"priority": 20}), "--wait")
    assert [r["priority"] for r in as_json(cli("firewall", "show", iid, "--json"))["rules"]] == [20]

    catalogue = as_json(cli("software", "list", "--json"))
    nginx = next(entry["id"] for entry in catalogue if entry["slug"] == "nginx")
    installed = as_json(cli("software", "install", iid, nginx, "--wait", "--json"))
    assert (installed["task_type"], installed["status"]) == ("install_software", "completed")
    assert as_json(cli("instances", "show", iid, "--json"))["software"] == ["nginx"]
    again = cli("software", "install", iid, nginx, status=1)
    assert "software_installed (409)" in again.stderr

    made = as_json(cli("backups", "create", iid, "nightly", "--wait", "--json"))
    assert made["status"] == "completed"
    backups = as_json(cli("backups", "list", iid, "--json"))
    assert [b["name"] for b in backups] == ["nightly"]
    cli("backups", "delete", iid, backups[0]["id"], "--wait", "--quiet")
    assert as_json(cli("backups", "list", iid, "--json")) == []
    assert any(i["id"] == IMAGES["debian"] for i in as_json(cli("images", "list", "--json")))

    url = cli("console", "open", iid).stdout.strip()
    assert url.startswith("ws") and "/v1/console/" in url and "?token=" in url
    session = as_json(cli("console", "open", iid, "--json"))
    assert session["token"] and session["url"].endswith(session["id"])
