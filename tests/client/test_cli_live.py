"""The `nuage` CLI's client commands end to end, as a user runs them (subprocesses) against a
real server: login stores a 0600 profile, `--wait` follows a task and exits 1 with a failed
task's code, `--json` output parses back, `--quiet` prints ids only."""

import json
import stat
from uuid import UUID

import pytest

from nuage.client import Client
from nuage.client.errors import AuthenticationFailed, PermissionDenied
from tests.contract.live import LiveServer
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = pytest.mark.slow  # a real server, and the CLI's processes

CREATE = ["--size", "nano", "--location", "par1", "--image", "debian-12"]
WHERE = {"size_id": SIZES["nano"], "location_id": LOCATION, "image_id": IMAGES["debian"]}


def test_login_create_wait_and_json(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    cli("login", "--url", server.base, "--api-key", server.api_key)
    config = cli.config
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    profile = json.loads(config.read_text())["profiles"]["default"]
    assert profile["api_key"] == server.api_key and profile["project_id"] == server.project_id

    made = cli("instances", "create", "--name", "cli-wait", *CREATE, "--wait", "--json")
    instance = json.loads(made.stdout)
    assert instance["status"] == "running" and instance["power_state"] == "on"
    assert "create_vps completed" in made.stderr and "booted" in made.stderr  # the live steps

    listed = json.loads(cli("instances", "list", "--json").stdout)
    assert instance["id"] in [i["id"] for i in listed]
    ids = cli("instances", "list", "--quiet").stdout.split()
    assert instance["id"] in ids and all(UUID(i) for i in ids)

    stopped = json.loads(cli("instances", "stop", instance["id"], "--wait", "--json").stdout)
    assert (stopped["task_type"], stopped["status"]) == ("stop_vps", "completed")
    tasks = json.loads(cli("tasks", "list", "--instance", instance["id"], "--json").stdout)
    assert [t["task_type"] for t in tasks] == ["stop_vps", "create_vps"]


def test_a_failed_task_exits_1_with_its_code(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    cli(
        "login",
        "--url",
        server.base,
        "--email",
        "contract@example.com",
        "--password",
        "contract-password",
        "--profile",
        "pw",
    )
    profile = json.loads(cli.config.read_text())["profiles"]["pw"]
    assert profile["api_key"].startswith("sk-onetsolutions-")
    assert profile["api_key"] != server.api_key  # a key minted for the CLI

    failed = cli(
        "instances",
        "create",
        "--name",
        "cli-fails",
        *CREATE,
        "--tag",
        "sim:fail=create:permanent",
        "--wait",
        "--quiet",
        "--profile",
        "pw",
        status=1,
    )
    assert "failed: sim_permanent_fault: Injected permanent fault" in failed.stderr
    assert failed.stdout == ""
    task_id = failed.stderr.split("nuage: task ", 1)[1].split()[0]
    shown = json.loads(cli("tasks", "show", task_id, "--json", "--profile", "pw").stdout)
    assert shown["error"]["code"] == "sim_permanent_fault"
    missing = cli("instances", "show", "00000000-0000-4000-8000-000000000000", status=1)
    assert "not_found (404): Not found." in missing.stderr


def test_cancel_retry_and_watch(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    """A reboot that fails 6 times (backing off 1-2, 2-4, 4-8, 8-16 s…) is still unfinished when
    the CLI cancels it; watching it then exits 1, and its retry meets the faults left and
    completes, its failed attempts shown live."""
    with Client(server.base, api_key=server.api_key) as client:
        made = client.instances.create(
            name="cli-flaky", tags=["sim:fail=reboot:transient:6"], **WHERE
        )
        assert made.task_id is not None
        client.tasks.wait(made.task_id, timeout=30)
        reboot = client.tasks.create(made.id, "reboot_vps", max_retries=10)
    cli("login", "--url", server.base, "--api-key", server.api_key)
    asked = json.loads(cli("tasks", "cancel", str(reboot.id), "--json").stdout)
    assert asked["id"] == str(reboot.id)  # it ran once: cancelled by the worker, at once
    assert asked["status"] == "cancelled" or asked["cancel_requested"] is True
    ended = cli("tasks", "watch", str(reboot.id), status=1)
    assert f"task {reboot.id} cancelled" in ended.stderr
    again = cli("tasks", "retry", str(reboot.id), "--wait", "--json")
    retried = json.loads(again.stdout)
    assert (retried["task_type"], retried["status"]) == ("reboot_vps", "completed")
    assert retried["id"] != str(reboot.id) and retried["retry_count"] >= 1
    assert "sim_transient_fault" in again.stderr  # the step log, shown as it was read


def test_a_refused_login_saves_nothing(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    refused = cli("login", "--url", server.base, "--api-key", "sk-onetsolutions-nope", status=1)
    assert "api_key_invalid (401): Invalid API key." in refused.stderr
    assert not cli.config.exists()


def test_snapshots_volumes_ips_and_delete(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    with Client(server.base, api_key=server.api_key) as client:
        made = client.instances.create(name="cli-storage", **WHERE)
        assert made.task_id is not None
        client.tasks.wait(made.task_id, timeout=30)
    instance = str(made.id)
    cli("login", "--url", server.base, "--api-key", server.api_key)
    snap = json.loads(cli("snapshots", "create", instance, "before", "--wait", "--json").stdout)
    assert (snap["task_type"], snap["status"]) == ("create_snapshot", "completed")
    snapshots = json.loads(cli("snapshots", "list", instance, "--json").stdout)
    assert [(s["id"], s["status"]) for s in snapshots] == [
        (snap["parameters"]["snapshot_id"], "available")
    ]
    volume = json.loads(cli("volumes", "create", instance, "data", "5", "--wait", "--json").stdout)
    assert volume["status"] == "completed"
    shown = json.loads(cli("volumes", "show", volume["parameters"]["volume_id"], "--json").stdout)
    assert (shown["status"], shown["size_gb"], shown["instance_id"]) == ("in-use", 5, instance)
    assert json.loads(cli("ips", "list", instance, "--json").stdout) == []  # no pools here
    refused = cli("ips", "assign", instance, "--version", "4", status=1)
    assert "address_pool_exhausted (409)" in refused.stderr
    gone = json.loads(cli("instances", "delete", instance, "--wait", "--json").stdout)
    assert (gone["task_type"], gone["status"]) == ("delete_vps", "completed")
    with Client(server.base, api_key=server.api_key) as client:
        assert client.volumes.get(shown["id"]).status == "available"  # detached and kept


def test_project_tokens_from_the_cli_and_the_sdk(server: LiveServer, cli) -> None:  # type: ignore[no-untyped-def]
    """A read-only project token made by `nuage keys create --project-token`: the SDK finds its
    one organization and project from it, reads, is refused writes, and stops at revocation."""
    cli("login", "--url", server.base, "--api-key", server.api_key)
    made = cli("keys", "create", "ci", "--project-token", "--scope", "compute:read", "--json")
    token = json.loads(made.stdout)
    assert token["project_id"] == server.project_id and token["scopes"] == ["compute:read"]
    assert token["key"] and "shown this once" in made.stderr
    listed = json.loads(cli("keys", "list", "--json").stdout)
    assert token["id"] in [k["id"] for k in listed] and all("key" not in k for k in listed)

    with Client(server.base, api_key=token["key"]) as client:
        assert isinstance(list(client.instances.list()), list)
        assert client.project_id == server.project_id
        with pytest.raises(PermissionDenied):
            client.instances.create(name="by-token", size_id=SIZES["nano"], location_id=LOCATION)
        with pytest.raises(PermissionDenied):
            client.account.create_api_key("more")
        cli("keys", "revoke", token["id"])
        with pytest.raises(AuthenticationFailed):
            list(client.instances.list())
