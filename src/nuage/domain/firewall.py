"""An instance's firewall: its rule list, validated once for the API and every driver.

The seed's product: rules have a priority (10 to 100; lower is evaluated first and the first rule
that matches decides), a direction (`INPUT` reaches the instance, `OUTPUT` leaves it), an action
(`ACCEPT`/`DROP`), a protocol (`TCP`/`UDP`/`ICMP`), and optional source and destination addresses
(CIDR, IPv4 or IPv6; absent: any address of either version) and port ranges (TCP and UDP only).
The first rule turns the firewall on with a default deny in both directions; replies to allowed
traffic pass (the firewall is stateful), and so do ARP and IPv6 neighbour discovery, so that an
allowed peer can be reached at all. No rules: no firewall, everything passes.

Priorities are unique within a list, so the order is never ambiguous; a list holds at most
`MAX_RULES` rules. A rule's addresses are normalised (`10.0.0.1` is `10.0.0.1/32`); an address
with host bits set below its prefix is refused rather than guessed at.
"""

import ipaddress
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

PRIORITY_MIN, PRIORITY_MAX = 10, 100
MAX_RULES = 50
PORT_MIN, PORT_MAX = 1, 65535


class Direction(StrEnum):
    INPUT = "INPUT"  # traffic that reaches the instance
    OUTPUT = "OUTPUT"  # traffic the instance sends


class Action(StrEnum):
    ACCEPT = "ACCEPT"
    DROP = "DROP"


class Protocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    ICMP = "ICMP"  # ICMPv6 for IPv6 addresses


def normalised_cidr(value: str) -> str:
    """The network in its canonical form (`2001:DB8::/32` → `2001:db8::/32`, an address alone
    → its /32 or /128); ValueError saying what is wrong."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as error:
        raise ValueError(f"`{value}` is not a CIDR block (e.g. 203.0.113.0/24): {error}") from None


Cidr = Annotated[str, Field(min_length=1, max_length=49), AfterValidator(normalised_cidr)]


def _end_may_be_left_out(schema: dict[str, Any]) -> None:
    schema["required"] = ["start"]  # `_one_port` fills it in


class PortRange(BaseModel):
    """Ports `start` to `end`, both included; `end` defaults to `start` (one port)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_end_may_be_left_out)

    start: int = Field(ge=PORT_MIN, le=PORT_MAX)
    end: int = Field(ge=PORT_MIN, le=PORT_MAX)

    @model_validator(mode="before")
    @classmethod
    def _one_port(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("end") is None and "start" in data:
            return {**data, "end": data["start"]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"`end` ({self.end}) is below `start` ({self.start}).")
        return self


class FirewallRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: int = Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)
    direction: Direction
    action: Action
    protocol: Protocol
    source_address: Cidr | None = None
    source_ports: PortRange | None = None
    destination_address: Cidr | None = None
    destination_ports: PortRange | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.protocol is Protocol.ICMP and (self.source_ports or self.destination_ports):
            raise ValueError("ICMP has no ports: leave out `source_ports` and `destination_ports`.")
        if len(self.versions) > 1 and self.source_address and self.destination_address:
            raise ValueError(
                "`source_address` and `destination_address` are of different IP versions."
            )
        return self

    @property
    def versions(self) -> tuple[int, ...]:
        """The IP versions the rule matches: its addresses', both when it names none."""
        addresses = (self.source_address, self.destination_address)
        named = {ipaddress.ip_network(a).version for a in addresses if a is not None}
        return tuple(sorted(named)) if named else (4, 6)


def check_unique_priorities(rules: Sequence[FirewallRule]) -> Sequence[FirewallRule]:
    seen: set[int] = set()
    for rule in rules:
        if rule.priority in seen:
            raise ValueError(f"Priority {rule.priority} is given twice: priorities are unique.")
        seen.add(rule.priority)
    return rules


def in_order(rules: Sequence[FirewallRule]) -> tuple[FirewallRule, ...]:
    """The rules as they are evaluated: by priority, lowest first."""
    return tuple(sorted(rules, key=lambda rule: rule.priority))


RuleList = Annotated[
    list[FirewallRule], Field(max_length=MAX_RULES), AfterValidator(check_unique_priorities)
]
