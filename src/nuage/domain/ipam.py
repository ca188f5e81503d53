"""Address pools and the addresses handed out from them: pure rules, no I/O.

A pool belongs to a location and holds one IP version: an IPv4 range or an IPv6 prefix
(`network`), its gateway, and the part of it nuage hands out (`first`..`last`, the gateway
excluded). Allocation takes the lowest free address of the range (`first_free`); the database's
unique constraint on the address is what makes "never one address twice" hold across processes
(see services/ipam.py for the lock and the constraint).

An address row is `assigning` while the `assign_ip` task that reserved it runs, `assigned` once
the machine has it, `released` when it left its instance: it returns to the pool after the
quarantine. An `assigning` row whose task failed or was cancelled is free at once (the machine
never had it).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nuage.domain.errors import ValidationFailed
from nuage.domain.instances import validate_hostname
from nuage.domain.machines import is_hostname
from nuage.domain.tasks import RETRYABLE_BY_USER

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PTR_DOMAIN = "static.nuage.example"  # RFC 2606: operators set their own per pool
FINISHED_UNSUCCESSFULLY = RETRYABLE_BY_USER  # the task statuses of an assign that gave up


class AddressState(StrEnum):
    ASSIGNING = "assigning"
    ASSIGNED = "assigned"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class PoolRange:
    """What a pool hands out: `first`..`last` of `network`, never the gateway."""

    network: IPNetwork
    gateway: IPAddress | None
    first: IPAddress
    last: IPAddress

    @property
    def version(self) -> int:
        return self.network.version

    def overlaps(self, other: "PoolRange") -> bool:
        if self.version != other.version:
            return False
        return int(self.first) <= int(other.last) and int(other.first) <= int(self.last)

    def __contains__(self, address: IPAddress) -> bool:
        return address.version == self.version and self.first <= address <= self.last  # type: ignore[operator]

    def size(self) -> int:
        """How many addresses it can hand out."""
        inside = self.gateway is not None and self.first <= self.gateway <= self.last  # type: ignore[operator]
        return int(self.last) - int(self.first) + 1 - int(inside)


def parse_range(
    cidr: str, *, gateway: str | None = None, first: str | None = None, last: str | None = None
) -> PoolRange:
    """A pool's range from its operator's words; ValidationFailed names the bad field.

    Defaults: the gateway is the network's first host (`.1`, `::1`); the range runs from the
    address after it to the last host (an IPv4 broadcast address is never handed out)."""
    network = _network(cidr)
    hosts_end = network.broadcast_address - 1 if network.version == 4 else network[-1]
    if network.num_addresses < 4:
        raise ValidationFailed.on("cidr", "The network is too small: a /30 (or /126) at least.")
    gw = _address(gateway, "gateway", network) if gateway else network.network_address + 1
    start = _address(first, "first", network) if first else network.network_address + 2
    end = _address(last, "last", network) if last else hosts_end
    if start > end:  # type: ignore[operator]
        raise ValidationFailed.on("last", f"The range ends ({end}) before it starts ({start}).")
    if start == network.network_address or (network.version == 4 and end > hosts_end):  # type: ignore[operator]
        raise ValidationFailed.on("first", "The network and broadcast addresses are not hosts.")
    return PoolRange(network=network, gateway=gw, first=start, last=end)


def first_free(pool: PoolRange, taken: Iterable[IPAddress]) -> IPAddress | None:
    """The lowest address of the range that is neither taken nor the gateway; None: exhausted.
    Cost grows with the taken addresses, not with the range (an IPv6 /64 is fine)."""
    used = {int(a) for a in taken}
    if pool.gateway is not None:
        used.add(int(pool.gateway))
    candidate = int(pool.first)
    while candidate <= int(pool.last):
        if candidate not in used:
            return ipaddress.ip_address(candidate)
        candidate += 1
    return None


def is_free_again(
    state: AddressState,
    *,
    released_at: datetime | None,
    task_status: str | None,
    now: datetime,
    quarantine: timedelta,
) -> bool:
    """May a row's address be handed out again? A released one after the quarantine; one
    reserved by an assign that failed or was cancelled at once."""
    if state is AddressState.RELEASED:
        return released_at is not None and released_at + quarantine <= now
    if state is AddressState.ASSIGNING:
        return task_status in FINISHED_UNSUCCESSFULLY
    return False


def default_ptr(address: IPAddress, domain: str) -> str:
    """The PTR name an address has until its owner sets one: `192-0-2-10.<domain>`,
    `2001-db8-0-0-0-0-0-10.<domain>` (IPv6 exploded without leading zeros)."""
    if address.version == 4:
        label = str(address).replace(".", "-")
    else:
        label = "-".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))
    return f"{label}.{domain}"


def validate_ptr(ptr: str) -> str:
    """A PTR name: a fully qualified host name (at least two labels), one trailing dot allowed
    and dropped, stored lowercased."""
    name = validate_hostname(ptr.strip().removesuffix("."), field="ptr")
    if "." not in name:
        raise ValidationFailed.on("ptr", "Enter a fully qualified name, e.g. mail.example.com.")
    return name


def validate_ptr_domain(domain: str) -> str:
    name = domain.strip().removesuffix(".").lower()
    if not is_hostname(name):
        raise ValidationFailed.on("ptr_domain", "Enter a DNS domain, e.g. static.example.net.")
    return name


def _network(cidr: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError as exc:
        raise ValidationFailed.on("cidr", f"Enter a network in CIDR notation: {exc}.") from exc


def _address(raw: str, field: str, network: IPNetwork) -> IPAddress:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError as exc:
        raise ValidationFailed.on(field, f"Enter an IP address: {exc}.") from exc
    if address not in network:
        raise ValidationFailed.on(field, f"{address} is not in {network}.")
    return address
