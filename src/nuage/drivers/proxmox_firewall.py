"""A machine's firewall as Proxmox VE's VM firewall (`qemu/{vmid}/firewall/rules`, `options`).

Each nuage rule is one PVE rule (two for an ICMP rule of both IP versions: `icmp` and
`ipv6-icmp`), in priority order from position 0, commented `nuage:<priority>`; PVE evaluates a
VM's rules top down and the first match decides, as nuage's rules do. Rules turn the VM's
firewall on (`enable=1`) with `policy_in` and `policy_out` DROP; PVE's firewall is stateful and
lets ARP and neighbour discovery through. No rules: the rules are deleted and the firewall is
turned off, its policies back to PVE's defaults. `net0` is created with `firewall=1`, so the
VM's firewall applies to it.
"""

from collections.abc import Sequence
from typing import Any

from nuage.domain.firewall import (
    Action,
    Direction,
    FirewallRule,
    PortRange,
    Protocol,
    in_order,
)

from .proxmox_client import PveClient
from .proxmox_values import as_int

_COMMENT = "nuage:"


def pve_rules(rules: Sequence[FirewallRule]) -> list[dict[str, Any]]:
    out = []
    for rule in in_order(rules):
        base: dict[str, Any] = {
            "type": "in" if rule.direction is Direction.INPUT else "out",
            "action": rule.action.value,
            "enable": 1,
            "comment": f"{_COMMENT}{rule.priority}",
            "source": rule.source_address,
            "dest": rule.destination_address,
            "sport": _ports(rule.source_ports),
            "dport": _ports(rule.destination_ports),
        }
        if rule.protocol is Protocol.ICMP:
            for version in rule.versions:
                out.append({**base, "proto": "icmp" if version == 4 else "ipv6-icmp"})
        else:
            out.append({**base, "proto": rule.protocol.value.lower()})
    return [{k: v for k, v in r.items() if v is not None} for r in out]


def nuage_rules(listed: Sequence[dict[str, Any]]) -> tuple[FirewallRule, ...]:
    """The rules nuage wrote, read back from PVE's list (one per priority)."""
    found: dict[int, FirewallRule] = {}
    for item in sorted(listed, key=lambda r: as_int(r.get("pos"))):
        comment = str(item.get("comment") or "")
        if not comment.startswith(_COMMENT):
            continue
        priority = as_int(comment[len(_COMMENT) :])
        if priority in found:
            continue
        proto = str(item.get("proto", "")).lower()
        found[priority] = FirewallRule(
            priority=priority,
            direction=Direction.INPUT if item.get("type") == "in" else Direction.OUTPUT,
            action=Action(str(item.get("action"))),
            protocol=Protocol.ICMP if "icmp" in proto else Protocol(proto.upper()),
            source_address=item.get("source") or None,
            destination_address=item.get("dest") or None,
            source_ports=_range(item.get("sport")),
            destination_ports=_range(item.get("dport")),
        )
    return in_order(list(found.values()))


async def replace_rules(
    client: PveClient, vm_path: str, rules: Sequence[dict[str, Any]], enabled: bool
) -> None:
    """The VM's PVE rule list becomes `rules`, and its firewall on (`enabled`) or off."""
    path = f"{vm_path}/firewall"
    current = await client.get(f"{path}/rules")
    for pos in sorted((as_int(r.get("pos")) for r in current), reverse=True):
        await client.delete(f"{path}/rules/{pos}")
    for rule in reversed(rules):  # PVE puts a new rule first: the last goes in first
        await client.post(f"{path}/rules", **rule)
    if enabled:
        await client.put(f"{path}/options", enable=1, policy_in="DROP", policy_out="DROP")
    else:
        await client.put(f"{path}/options", enable=0, delete="policy_in,policy_out")


def _ports(ports: PortRange | None) -> str | None:
    if ports is None:
        return None
    return str(ports.start) if ports.start == ports.end else f"{ports.start}:{ports.end}"


def _range(text: object) -> PortRange | None:
    if not text:
        return None
    start, _, end = str(text).partition(":")
    return PortRange(start=int(start), end=int(end or start))
