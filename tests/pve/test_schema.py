"""The schema check refuses what a real Proxmox VE node refuses, and lets through what it takes.

The refusals are the mistakes a driver makes (raw SSH keys, Python booleans, dates as snapshot
names, VLAN tags out of range, keys Proxmox does not know); the acceptances are the requests
nuage's driver sends, so a check too strict would fail the driver's suite for nothing.
"""

import contextlib
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from proxmoxer import ProxmoxAPI

from tests.pve import recording, schema
from tests.pve.schema import check, check_returns
from tests.pve.served import NODE, TEMPLATES, Served

VM = f"/nodes/{NODE}/qemu/101"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB nuage@example\n"

REFUSED = [
    ("raw ssh keys", "PUT", f"{VM}/config", [("sshkeys", KEY)], "urlencoded"),
    ("Python True", "POST", f"{VM}/clone", [("newid", "102"), ("full", "True")], "boolean"),
    ("true word", "PUT", f"{VM}/config", [("onboot", "true")], "boolean"),
    ("yes on an action", "POST", f"{VM}/status/start", [("skiplock", "yes")], "boolean"),
    ("date as configid", "POST", f"{VM}/snapshot", [("snapname", "2026-01-01")], "pve-configid"),
    ("long snapname", "POST", f"{VM}/snapshot", [("snapname", "s" * 41)], "40 characters"),
    ("underscore name", "PUT", f"{VM}/config", [("name", "web_1")], "dns-name"),
    ("net tag 5000", "PUT", f"{VM}/config", [("net1", "virtio,bridge=vmbr1,tag=5000")], "4094"),
    ("unknown key", "PUT", f"{VM}/config", [("colour", "blue")], "not defined"),
    ("net32", "PUT", f"{VM}/config", [("net32", "virtio,bridge=vmbr0")], "not defined"),
    ("scsi31", "PUT", f"{VM}/config", [("scsi31", "local-lvm:1")], "not defined"),
    ("gw without ip", "PUT", f"{VM}/config", [("ipconfig0", "gw=10.0.0.1")], "requires"),
    ("bad gateway", "PUT", f"{VM}/config", [("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.256")], "ipv4"),
    ("ip without prefix", "PUT", f"{VM}/config", [("ipconfig0", "ip=10.0.0.5")], "ipv4-config"),
    ("bad mac", "PUT", f"{VM}/config", [("net0", "virtio=01:00:00:00:00:01")], "mac-addr"),
    ("unknown net key", "PUT", f"{VM}/config", [("net0", "virtio,colour=red")], "invalid key"),
    ("cores zero", "PUT", f"{VM}/config", [("cores", "0")], "minimum"),
    ("cores text", "PUT", f"{VM}/config", [("cores", "two")], "integer"),
    ("shrink size", "PUT", f"{VM}/resize", [("disk", "scsi0"), ("size", "-1G")], "regex"),
    ("missing size", "PUT", f"{VM}/resize", [("disk", "scsi0")], "size: property is missing"),
    ("unknown action", "POST", f"{VM}/status/explode", [], "no such path"),
    ("wrong method", "DELETE", f"{VM}/status/current", [], "method DELETE"),
    ("vmid too small", "GET", f"/nodes/{NODE}/qemu/99/config", [], "minimum"),
    ("node name", "GET", "/nodes/pve_1/qemu", [], "pve-node"),
    ("zst", "POST", f"/nodes/{NODE}/vzdump", [("vmid", "101"), ("compress", "zst")], "enum"),
    (
        "port 99999",
        "POST",
        f"{VM}/firewall/rules",
        [("type", "in"), ("action", "ACCEPT"), ("dport", "99999")],
        "dport-spec",
    ),
    (
        "enable true",
        "POST",
        f"{VM}/firewall/rules",
        [("type", "in"), ("action", "DROP"), ("enable", "true")],
        "integer",
    ),
    ("repeated", "PUT", f"{VM}/config", [("cores", "1"), ("cores", "2")], "more than once"),
    ("nested flag", "PUT", f"{VM}/config", [("cpu", "cputype=host,flags=+vmx")], "subset of"),
    ("unknown cpu", "PUT", f"{VM}/config", [("cpu", "cputype=pentium9000x")], "not defined"),
    ("websocket yes", "POST", f"{VM}/vncproxy", [("websocket", "yes")], "boolean"),
]

ACCEPTED = [
    (
        "clone",
        "POST",
        f"/nodes/{NODE}/qemu/9000/clone",
        [("newid", "101"), ("name", "web-1"), ("full", "1"), ("storage", "local-lvm")],
    ),
    (
        "cloud-init",
        "PUT",
        f"{VM}/config",
        [
            ("ciuser", "nuage"),
            ("sshkeys", quote(KEY, safe="")),
            ("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"),
            ("ipconfig1", "ip=dhcp,ip6=auto"),
            ("nameserver", "1.1.1.1 9.9.9.9"),
            ("searchdomain", "example.com"),
        ],
    ),
    ("resize", "PUT", f"{VM}/config", [("cores", "2"), ("memory", "2048"), ("digest", "a" * 40)]),
    ("disk", "PUT", f"{VM}/resize", [("disk", "scsi0"), ("size", "+10G")]),
    (
        "private net",
        "PUT",
        f"{VM}/config",
        [("net1", "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=42,firewall=1")],
    ),
    ("attach", "PUT", f"{VM}/config", [("scsi1", "local-lvm:vm-101-disk-1,size=10G,discard=on")]),
    ("detach", "PUT", f"{VM}/config", [("delete", "scsi1,ipconfig1")]),
    ("snapshot", "POST", f"{VM}/snapshot", [("snapname", "before-upgrade"), ("vmstate", "0")]),
    ("rollback", "POST", f"{VM}/snapshot/before-upgrade/rollback", [("start", "1")]),
    (
        "backup",
        "POST",
        f"/nodes/{NODE}/vzdump",
        [("vmid", "101"), ("storage", "local"), ("mode", "snapshot"), ("compress", "zstd")],
    ),
    (
        "restore",
        "POST",
        f"/nodes/{NODE}/qemu",
        [
            ("vmid", "101"),
            ("archive", "local:backup/vzdump-qemu-101-2026_12_02-20_00_00.vma.zst"),
            ("force", "1"),
            ("storage", "local-lvm"),
        ],
    ),
    (
        "volume with slash",
        "DELETE",
        f"/nodes/{NODE}/storage/local/content/local:backup/vzdump-qemu-101.vma.zst",
        [],
    ),
    (
        "allocate",
        "POST",
        f"/nodes/{NODE}/storage/local-lvm/content",
        [("vmid", "101"), ("filename", "vm-101-disk-1"), ("size", "10G")],
    ),
    (
        "task status",
        "GET",
        f"/nodes/{NODE}/tasks/UPID:{NODE}:000003E8:00001B58:6750A3C1:qmclone:9000:root@pam!nuage:/status",
        [],
    ),
    (
        "firewall rule",
        "POST",
        f"{VM}/firewall/rules",
        [
            ("type", "in"),
            ("action", "ACCEPT"),
            ("proto", "tcp"),
            ("dport", "22,80:90"),
            ("source", "10.0.0.0/8"),
            ("enable", "1"),
            ("pos", "0"),
        ],
    ),
    ("firewall options", "PUT", f"{VM}/firewall/options", [("enable", "1"), ("policy_in", "DROP")]),
    ("console", "POST", f"{VM}/vncproxy", [("websocket", "1")]),
    ("nextid", "GET", "/cluster/nextid", []),
    ("cpu", "PUT", f"{VM}/config", [("cpu", "cputype=host,flags=+aes;-pcid")]),
    ("cpu model", "PUT", f"{VM}/config", [("cpu", "x86-64-v2-AES")]),
    ("current config", "GET", f"{VM}/config", [("current", "1")]),
    ("stop", "POST", f"{VM}/status/stop", [("overrule-shutdown", "1")]),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "why"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_requests_proxmox_refuses_are_refused(
    method: str, path: str, params: list[tuple[str, str]], why: str
) -> None:
    problems = check(method, path, params)
    assert problems, f"{method} {path} {params} passed"
    assert why in " ".join(problems)


@pytest.mark.parametrize(
    ("method", "path", "params"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_requests_proxmox_accepts_pass(
    method: str, path: str, params: list[tuple[str, str]]
) -> None:
    assert check(method, path, params) == []


def test_every_method_of_the_published_schema_is_indexed() -> None:
    assert schema.load().count == 649


def test_a_missing_schema_file_is_an_error_not_a_pass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(schema, "SCHEMA_PATH", tmp_path / "nothing.json")
    schema.load.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="shared/proxmox"):
            check("GET", "/version")
    finally:
        monkeypatch.undo()
        schema.load.cache_clear()


def test_a_format_without_a_rule_is_reported() -> None:
    problems = check("PUT", f"{VM}/config", [("startup", "order=1")])
    assert problems == [
        "startup: format 'pve-startup-order' has no rule in tests/pve/formats.py (add one)"
    ]


def test_answers_are_checked_against_returns() -> None:
    assert check_returns("POST", f"{VM}/vncproxy", {"port": "5900", "ticket": "x"}) == [
        "port: expected integer, got str '5900'"
    ]
    assert check_returns("POST", f"{VM}/vncproxy", {"port": 5900, "ticket": "x"}) == []


def test_a_bad_request_on_the_wire_is_raised_and_fails_the_test(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    """proxmoxer turns Python True into 'True': the request never leaves, and the violation is
    kept for the autouse fixture even if the caller swallowed the exception."""
    before = len(pve.pve.requests)
    with pytest.raises(recording.SchemaViolation, match="full: type check"):
        pve_api.nodes(NODE).qemu(TEMPLATES["debian-12"]).clone.post(newid=101, full=True)
    assert len(pve.pve.requests) == before
    assert [v.split(": ", 1)[0] for v in recording.take_violations()] == [
        f"POST /nodes/{NODE}/qemu/9000/clone [newid=101&full=True]"
    ]


def test_only_requests_to_a_served_fake_are_checked(pve: Served) -> None:
    bad = f"{pve.url}/api2/json/nodes/{NODE}/qemu/101/status/explode"
    with pytest.raises(recording.SchemaViolation, match="no such path"):
        requests.post(bad, verify=pve.cafile, timeout=5)
    assert len(recording.take_violations()) == 1
    recording.unwatch(pve.url)
    try:
        assert requests.post(bad, verify=pve.cafile, timeout=5).status_code == 401
        assert recording.take_violations() == []
    finally:
        recording.watch(pve.url)


def test_a_violation_the_caller_swallowed_still_fails_the_test(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    refused = pytest.raises(pytest.fail.Exception, match="skiplock: type check")
    # A driver that catches every exception still fails the test.
    with refused, recording.violations_fail_the_test(), contextlib.suppress(Exception):
        pve_api.nodes(NODE).qemu(TEMPLATES["debian-12"]).status.start.post(skiplock="yes")
    with recording.violations_fail_the_test():
        pve_api.nodes(NODE).qemu(TEMPLATES["debian-12"]).config.get()
