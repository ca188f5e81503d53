"""VPCs: a project's private IPv4 networks in one location. Pure rules, no I/O.

A VPC's `cidr_block` is an IPv4 network inside one of the RFC 1918 private ranges, written as its
network address (host bits zero), with a prefix between `MIN_PREFIX` and `MAX_PREFIX`; the VPCs
of one project never overlap. A member gets the lowest free address of the block, its first host
address kept back (a gateway's place, as clouds do) and neither the network nor the broadcast
address handed out.

A membership row is `joining` while the `update_vpc` task that reserved its address runs, and
`joined` once the machine has the interface; leaving deletes it. A `joining` row whose task gave
up is free at once (the machine never had the address).
"""

import ipaddress
from collections.abc import Iterable
from enum import StrEnum

from nuage.domain.errors import ValidationFailed

PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
MIN_PREFIX = 16  # at most 65,534 members' addresses
MAX_PREFIX = 28  # at least 13 members' addresses
NAME_MAX = 100


class MemberState(StrEnum):
    JOINING = "joining"
    JOINED = "joined"


def parse_cidr_block(text: str, field: str = "cidr_block") -> ipaddress.IPv4Network:
    """The checked block; ValidationFailed naming `field` otherwise."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        message = f"{text!r} is not a network in CIDR notation with its host bits zero ({exc})."
        raise ValidationFailed.on(field, message) from exc
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValidationFailed.on(field, "A VPC's block is an IPv4 network.")
    if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
        allowed = ", ".join(map(str, PRIVATE_RANGES))
        raise ValidationFailed.on(field, f"{network} is not inside a private range ({allowed}).")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        message = f"The prefix length must be between /{MIN_PREFIX} and /{MAX_PREFIX}."
        raise ValidationFailed.on(field, message)
    return network


def overlapping(
    block: ipaddress.IPv4Network, others: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (name, cidr_block) pairs of `others` whose block overlaps `block`."""
    return [(name, cidr) for name, cidr in others if block.overlaps(ipaddress.IPv4Network(cidr))]


def first_free(block: ipaddress.IPv4Network, taken: Iterable[str]) -> ipaddress.IPv4Address | None:
    """The lowest address a member may have that is not taken; None: the block is full."""
    used = {ipaddress.IPv4Address(a) for a in taken}
    first, last = int(block.network_address) + 2, int(block.broadcast_address) - 1
    for candidate in range(first, last + 1):
        address = ipaddress.IPv4Address(candidate)
        if address not in used:
            return address
    return None
