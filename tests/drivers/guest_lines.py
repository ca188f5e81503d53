"""What the guest says about its disk and its block devices, read from its console: the lines
the test guest prints (scripts/README.md) and the simulator prints alike."""

import re

_BOOTS = re.compile(r"^NUAGE-BOOTED .*\bdisk=(\w+) boots=(\d+)\s*$")


def boots(console: str) -> int:
    """The disk's boot counter at the latest boot (1 on a fresh disk)."""
    found = [m for line in console.splitlines() if (m := _BOOTS.match(line))]
    assert found, f"no boot marker with a boot counter in:\n{console}"
    return int(found[-1][2])


def disks(console: str) -> dict[str, str]:
    """The guest's block devices as it reported them last: {"vda": "10G", "vdc": "5G"}."""
    lines = [line.split()[1:] for line in console.splitlines() if line.startswith("NUAGE-DISKS")]
    assert lines, f"no NUAGE-DISKS line in:\n{console}"
    return dict(field.split("=", 1) for field in lines[-1])


def interfaces(console: str) -> list[str]:
    """The network interfaces the guest reported at its latest boot: ["eth0", "eth1"]."""
    lines = [line.split()[1:] for line in console.splitlines() if line.startswith("NUAGE-IFACES")]
    assert lines, f"no NUAGE-IFACES line in:\n{console}"
    return lines[-1]


def software(console: str) -> list[str]:
    """The packages the guest reported at its latest boot (`NUAGE-SOFTWARE nginx …`)."""
    lines = [
        line.split()[1:] for line in console.splitlines() if line.split()[:1] == ["NUAGE-SOFTWARE"]
    ]
    assert lines, f"no NUAGE-SOFTWARE line in:\n{console}"
    return lines[-1]
