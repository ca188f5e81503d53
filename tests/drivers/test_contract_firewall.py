"""The firewall (`apply_firewall`), asserted alike on every driver.

What a driver applied is read back from the hypervisor's own record, not from the driver: the
simulator's state file, libvirt's nwfilter XML (`nwfilterLookupByName(...).XMLDesc()`, as
`virsh nwfilter-dumpxml` shows it) and the domain's interface binding. No traffic is sent.
"""

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.firewall import FirewallRule
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import FIREWALL, POWER, capable
from nuage.drivers.libvirt_network import nic_device

from .conftest import LIBVIRT_URI
from .test_driver_contract import SpecFactory, create, markers

pytestmark = pytest.mark.anyio

RULES = [
    FirewallRule.model_validate(rule)
    for rule in (
        {
            "priority": 50,
            "direction": "OUTPUT",
            "action": "DROP",
            "protocol": "UDP",
            "destination_address": "198.51.100.0/24",
            "destination_ports": {"start": 1000, "end": 2000},
        },
        {
            "priority": 20,
            "direction": "INPUT",
            "action": "ACCEPT",
            "protocol": "TCP",
            "destination_ports": {"start": 22},
        },
        {
            "priority": 10,
            "direction": "INPUT",
            "action": "ACCEPT",
            "protocol": "ICMP",
            "source_address": "2001:db8::/32",
        },
    )
]
IN_ORDER = sorted(RULES, key=lambda rule: rule.priority)


def virsh(*args: str) -> str:
    done = subprocess.run(
        ["virsh", "-c", LIBVIRT_URI, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def filter_names() -> list[str]:
    return virsh("nwfilter-list").split()


def held(driver: Driver, state_dir: Path, machine_id: str) -> list[dict[str, Any]] | None:
    """The firewall as the hypervisor holds it: the sim's rule list; libvirt's nwfilter rules as
    (priority, action, direction, match element, its attributes). None: no firewall at all."""
    if driver.name == "sim":
        state = json.loads((state_dir / "machines" / f"{machine_id}.json").read_text())
        return list(state["firewall"]) or None
    if driver.name == "proxmox":
        return pve_held(driver, machine_id)
    name = f"nuage-fw-{machine_id}"
    if name not in filter_names():
        return None
    root = ET.fromstring(virsh("nwfilter-dumpxml", name))
    return [
        {
            "priority": int(rule.get("priority", "500")),
            "action": rule.get("action"),
            "direction": rule.get("direction"),
            "match": match.tag,
            **match.attrib,
        }
        for rule in root.iterfind("rule")
        for match in rule
    ]


def pve_held(driver: Driver, machine_id: str) -> list[dict[str, Any]] | None:
    """The VM's firewall in the fake: its rules, in order, with the options that make them a
    default deny appended as a last pseudo-rule. None: firewall off and no rule."""
    from .test_contract_config import pve_vm

    vm = pve_vm(driver, machine_id)
    conf = driver.served.pve.firewall_config("vm", vm.node, vm.vmid)  # type: ignore[attr-defined]
    options = conf.get("options", {})
    rules = [
        {
            k: str(v)
            for k, v in rule.items()
            if k in {"type", "action", "proto", "source", "dest", "dport", "enable"}
        }
        for rule in conf.get("rules", [])
    ]
    if not rules and not int(options.get("enable", 0)):
        return None
    policies = {"enable": str(options.get("enable")), "policy_in": options.get("policy_in"),
                "policy_out": options.get("policy_out")}  # fmt: skip
    return [*rules, policies]


EXPECTED_PVE = [
    {"type": "in", "action": "ACCEPT", "proto": "ipv6-icmp", "source": "2001:db8::/32",
     "enable": "1"},
    {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "enable": "1"},
    {"type": "out", "action": "DROP", "proto": "udp", "dest": "198.51.100.0/24",
     "dport": "1000:2000", "enable": "1"},
    {"enable": "1", "policy_in": "DROP", "policy_out": "DROP"},  # the default deny
]  # fmt: skip


def bindings(machine_id: str, *, live: bool) -> list[str | None]:
    """The nwfilter each interface of the libvirt domain names (None: unfiltered), as its
    running (`live`) or persistent definition has it."""
    args = ["dumpxml", f"nuage-{machine_id}"] + ([] if live else ["--inactive"])
    root = ET.fromstring(virsh(*args))
    refs = [iface.find("filterref") for iface in root.iterfind("devices/interface")]
    return [None if ref is None else ref.get("filter") for ref in refs]


def instantiated(machine_id: str) -> list[str]:
    """The filters libvirt has instantiated on the guest's eth0 tap (`nwfilter-binding-list`)."""
    device = nic_device(machine_id, 0)
    lines = [line.split() for line in virsh("nwfilter-binding-list").splitlines()]
    return [parts[1] for parts in lines if len(parts) == 2 and parts[0] == device]


def user_rules(driver: Driver, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hypervisor's rules that are the user's (libvirt: priorities 10 to 100)."""
    if driver.name == "sim":
        return found
    if driver.name == "proxmox":
        return [rule for rule in found if "type" in rule]
    return [rule for rule in found if 10 <= rule["priority"] <= 100]


EXPECTED_LIBVIRT = [
    {"priority": 10, "action": "accept", "direction": "in", "match": "icmpv6",
     "srcipaddr": "2001:db8::", "srcipmask": "32"},
    {"priority": 20, "action": "accept", "direction": "in", "match": "tcp",
     "dstportstart": "22", "dstportend": "22"},
    {"priority": 20, "action": "accept", "direction": "in", "match": "tcp-ipv6",
     "dstportstart": "22", "dstportend": "22"},
    {"priority": 50, "action": "drop", "direction": "out", "match": "udp",
     "dstipaddr": "198.51.100.0", "dstipmask": "24", "dstportstart": "1000", "dstportend": "2000"},
]  # fmt: skip


async def test_rules_are_applied_in_priority_order_with_a_default_deny(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    firewall = capable(driver, FIREWALL)
    assert await firewall.firewall_rules(spec.machine_id) == ()
    assert held(driver, state_dir, spec.machine_id) is None

    applied = await firewall.apply_firewall(spec.machine_id, RULES)

    assert list(applied) == IN_ORDER
    assert list(await firewall.firewall_rules(spec.machine_id)) == IN_ORDER
    found = held(driver, state_dir, spec.machine_id)
    assert found is not None
    if driver.name == "sim":
        assert found == [rule.model_dump(mode="json") for rule in IN_ORDER]
    elif driver.name == "proxmox":
        assert found == EXPECTED_PVE  # first match decides, top down; then the policies
    else:
        assert user_rules(driver, found) == EXPECTED_LIBVIRT
        priorities = [rule["priority"] for rule in found]
        assert priorities == sorted(priorities)
        deny = [r for r in found if r["action"] == "drop" and r["priority"] == 1000]
        assert [(r["match"], r["direction"]) for r in deny] == [
            ("all", "inout"),
            ("all-ipv6", "inout"),
        ]
        assert found[-2:] == deny  # evaluated last
    assert list(await firewall.apply_firewall(spec.machine_id, RULES)) == IN_ORDER  # converges
    if driver.name == "libvirt":
        assert bindings(spec.machine_id, live=False) == [f"nuage-fw-{spec.machine_id}"]


async def test_a_new_list_replaces_the_old_and_an_empty_one_removes_the_firewall(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    firewall = capable(driver, FIREWALL)
    await firewall.apply_firewall(spec.machine_id, RULES)

    replaced = await firewall.apply_firewall(spec.machine_id, RULES[:1])
    assert list(replaced) == RULES[:1]
    found = held(driver, state_dir, spec.machine_id)
    assert found is not None and len(user_rules(driver, found)) == 1

    assert await firewall.apply_firewall(spec.machine_id, []) == ()
    assert held(driver, state_dir, spec.machine_id) is None
    assert await firewall.apply_firewall(spec.machine_id, []) == ()  # converges


async def test_deleting_the_machine_leaves_no_firewall_behind(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    await capable(driver, FIREWALL).apply_firewall(spec.machine_id, RULES)

    await driver.delete(spec.machine_id)

    assert await driver.inspect(spec.machine_id) is None
    if driver.name == "libvirt":
        assert f"nuage-fw-{spec.machine_id}" not in filter_names()
    else:
        assert not (state_dir / "machines" / f"{spec.machine_id}.json").exists()


async def test_a_running_machine_is_filtered_at_once_without_a_restart(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await driver.create(spec)
    firewall = capable(driver, FIREWALL)
    boots = len(markers(await driver.console(spec.machine_id)))

    await firewall.apply_firewall(spec.machine_id, RULES)

    if driver.name == "libvirt":
        name = f"nuage-fw-{spec.machine_id}"
        assert bindings(spec.machine_id, live=True) == [name]  # eth0, in the running guest
        assert bindings(spec.machine_id, live=False) == [name]  # and at its next boot
        assert instantiated(spec.machine_id) == [name]  # libvirt filters the tap device
    assert list(await firewall.firewall_rules(spec.machine_id)) == IN_ORDER
    await firewall.apply_firewall(spec.machine_id, [])
    if driver.name == "libvirt":
        assert bindings(spec.machine_id, live=True) == [None]
        assert bindings(spec.machine_id, live=False) == [None]
        assert instantiated(spec.machine_id) == []
    assert held(driver, state_dir, spec.machine_id) is None
    info = await driver.inspect(spec.machine_id)
    assert info is not None and info.power is PowerState.ON
    assert len(markers(await driver.console(spec.machine_id))) == boots


async def test_a_stopped_machine_is_filtered_from_its_next_boot(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    await capable(driver, FIREWALL).apply_firewall(spec.machine_id, RULES)

    info = await capable(driver, POWER).start(spec.machine_id)

    assert info.power is PowerState.ON
    assert list(await capable(driver, FIREWALL).firewall_rules(spec.machine_id)) == IN_ORDER
    if driver.name == "libvirt":
        name = f"nuage-fw-{spec.machine_id}"
        assert bindings(spec.machine_id, live=True) == [name]
        assert instantiated(spec.machine_id) == [name]
