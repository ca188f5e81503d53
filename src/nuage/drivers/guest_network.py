"""What a guest is told about its addresses, and what it says back.

`network_config` is the cloud-init network configuration (version 2) the libvirt driver puts in
the NoCloud seed: the addresses on `eth0`, the primary IPv4 first, and a default route per
version through its network's gateway. Real cloud images apply it at every boot because the
seed's user-data asks for it (`updates: network: when: [boot]`), so a restart that re-reads the
seed applies a change.

`network_line` is the line the nuage test guest prints at each boot after reading that file,
and the simulator prints at each of its boots: `NUAGE-NET eth0 192.0.2.2/24 2001:db8:0:1::2/64`
(no address: `NUAGE-NET eth0`). The contract suite reads it from the console of both.
Before it, both print the interfaces the guest has: `interfaces_line`, `NUAGE-IFACES eth0`.

A machine in a VPC has a second interface, `eth1`, on the VPC's network: `network-config` lists
its address (no route: a VPC routes nowhere), and both print `NUAGE-NET eth1 10.0.0.2/24`
(`private_line`) after the `eth0` line.
"""

from collections.abc import Sequence

from .base import GuestAddress, PrivateNetwork

INTERFACE = "eth0"
PRIVATE_INTERFACE = "eth1"
NET_LINE = "NUAGE-NET"
IFACES_LINE = "NUAGE-IFACES"


def ordered(addresses: Sequence[GuestAddress]) -> list[GuestAddress]:
    """Primary first, then IPv4 before IPv6, each in the order given."""
    return sorted(addresses, key=lambda a: (not a.primary, a.version))


def interfaces_line(names: Sequence[str]) -> str:
    return " ".join([IFACES_LINE, *sorted(names)])


def interfaces_of(private: PrivateNetwork | None) -> list[str]:
    return [INTERFACE] if private is None else [INTERFACE, PRIVATE_INTERFACE]


def network_line(addresses: Sequence[GuestAddress]) -> str:
    return " ".join([NET_LINE, INTERFACE, *(a.cidr for a in ordered(addresses))])


def private_line(private: PrivateNetwork) -> str:
    return f"{NET_LINE} {PRIVATE_INTERFACE} {private.cidr}"


def guest_lines(addresses: Sequence[GuestAddress], private: PrivateNetwork | None) -> list[str]:
    """What the guest prints about its network at each boot."""
    lines = [interfaces_line(interfaces_of(private)), network_line(addresses)]
    return lines if private is None else [*lines, private_line(private)]


def network_config(addresses: Sequence[GuestAddress], private: PrivateNetwork | None = None) -> str:
    """The `network-config` file of the seed (YAML, written by hand: one fixed shape)."""
    eth1 = [] if private is None else [f"  {PRIVATE_INTERFACE}:", "    addresses:"]
    eth1 += [] if private is None else [f"      - {private.cidr}"]
    lines = ["version: 2", "ethernets:", f"  {INTERFACE}:"]
    listed = ordered(addresses)
    if not listed:
        return "\n".join([*lines, "    dhcp4: false", "    dhcp6: false", *eth1, ""])
    lines += ["    addresses:", *(f"      - {a.cidr}" for a in listed)]
    gateways = {a.version: a.gateway for a in reversed(listed) if a.gateway}
    if gateways:
        lines.append("    routes:")
        for version in sorted(gateways):
            default = "0.0.0.0/0" if version == 4 else "::/0"
            lines += [f"      - to: {default}", f"        via: {gateways[version]}"]
    return "\n".join([*lines, *eth1, ""])
