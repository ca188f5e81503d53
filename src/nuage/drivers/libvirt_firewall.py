"""A machine's firewall on libvirt: one `nwfilter` per machine, `nuage-fw-<machine_id>`, bound to
the machine's interfaces with `<filterref>` (libvirt_domain).

The filter's rules, in libvirt's evaluation order (its `priority` attribute, lowest first):
- priority -900: traffic of connections already allowed passes (`state='ESTABLISHED,RELATED'`),
  both ways, IPv4 and IPv6: the firewall is stateful, as users of security groups expect;
- priority -800: IPv6 neighbour discovery (ICMPv6 types 133 to 136) passes, both ways, without
  which no IPv6 peer can be reached; ARP is not filtered at all (the rules are IP rules);
- priority 10 to 100: the user's rules, each at its own priority. A rule that names no address
  becomes two libvirt rules at its priority, one per IP version (`tcp` and `tcp-ipv6`, …);
- priority 1000: the default deny, everything else dropped, both ways, both versions.

`INPUT` is libvirt's `in` (traffic to the guest) and `OUTPUT` its `out`; source and destination
are the packet's, so an `INPUT` rule's destination port is the guest's port.

`filter_xml` writes it and `parse_rules` reads the user's rules back from the filter alone;
`define`, `read` and `remove` are the blocking calls on a connection (the driver runs them in a
thread and translates libvirt's errors).
"""

import ipaddress
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from nuage.domain.errors import PermanentError
from nuage.domain.firewall import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    Action,
    Direction,
    FirewallRule,
    PortRange,
    Protocol,
    in_order,
)

FILTER_PREFIX = "nuage-fw-"
_NAMESPACE = uuid.UUID("5b0c6f0e-4f7a-4d7e-9a51-6e2c1f3d7a10")  # the filters' uuid5 namespace
ESTABLISHED_PRIORITY, NEIGHBOUR_PRIORITY, DEFAULT_DENY_PRIORITY = -900, -800, 1000
_DIRECTIONS = {Direction.INPUT: "in", Direction.OUTPUT: "out"}
_ELEMENTS = {
    (Protocol.TCP, 4): "tcp",
    (Protocol.UDP, 4): "udp",
    (Protocol.ICMP, 4): "icmp",
    (Protocol.TCP, 6): "tcp-ipv6",
    (Protocol.UDP, 6): "udp-ipv6",
    (Protocol.ICMP, 6): "icmpv6",
}
_PROTOCOLS = {element: key for key, element in _ELEMENTS.items()}
_NEIGHBOUR_TYPES = (133, 134, 135, 136)  # router and neighbour solicitation / advertisement


def filter_name(machine_id: str) -> str:
    return f"{FILTER_PREFIX}{machine_id}"


def is_bound(domain_xml: str, machine_id: str) -> bool:
    """Whether the domain's interfaces are filtered by the machine's filter (all of them: a
    binding made by nuage never covers only some)."""
    refs = [
        interface.find("filterref")
        for interface in ET.fromstring(domain_xml).iterfind("devices/interface")
    ]
    name = filter_name(machine_id)
    return bool(refs) and all(ref is not None and ref.get("filter") == name for ref in refs)


def rebind_live(domain_xml: str, machine_id: str, *, bound: bool) -> list[str]:
    """The running domain's interfaces (from its live XML) with the machine's filter bound or
    unbound, each to hand to `updateDeviceFlags`; only those that need the change."""
    name, changed = filter_name(machine_id), []
    for interface in ET.fromstring(domain_xml).iterfind("devices/interface"):
        ref = interface.find("filterref")
        if (ref is not None and ref.get("filter") == name) == bound:
            continue
        if ref is not None:
            interface.remove(ref)
        if bound:
            ET.SubElement(interface, "filterref", {"filter": name})
        changed.append(ET.tostring(interface, encoding="unicode"))
    return changed


def filter_uuid(machine_id: str) -> str:
    """Stable, so that redefining the filter updates it instead of clashing with it."""
    return str(uuid.uuid5(_NAMESPACE, filter_name(machine_id)))


def define(lv: Any, conn: Any, machine_id: str, rules: Sequence[FirewallRule]) -> None:
    """Define (or update: libvirt re-applies a bound filter's new rules at once) the filter.
    A connection without an nwfilter driver (`qemu:///embed`): PermanentError
    `capability_not_supported`."""
    try:
        conn.nwfilterDefineXML(filter_xml(machine_id, rules))
    except lv.libvirtError as exc:
        if exc.get_error_code() != lv.VIR_ERR_NO_SUPPORT:
            raise
        message = "This libvirt connection has no nwfilter driver (e.g. qemu:///embed)."
        raise PermanentError(message, code="capability_not_supported") from exc


def read(lv: Any, conn: Any, machine_id: str) -> tuple[FirewallRule, ...]:
    """The rules of the machine's filter; () when it has none."""
    found = _lookup(lv, conn, machine_id)
    return () if found is None else parse_rules(found.XMLDesc(0))


def remove(lv: Any, conn: Any, machine_id: str) -> None:
    """Undefine the machine's filter if it has one (unbound first: libvirt keeps one in use)."""
    found = _lookup(lv, conn, machine_id)
    if found is not None:
        found.undefine()


def _lookup(lv: Any, conn: Any, machine_id: str) -> Any:
    """The machine's filter; None without one (a connection without an nwfilter driver, as
    `qemu:///embed`, has none)."""
    try:
        return conn.nwfilterLookupByName(filter_name(machine_id))
    except lv.libvirtError as exc:
        if exc.get_error_code() in (lv.VIR_ERR_NO_NWFILTER, lv.VIR_ERR_NO_SUPPORT):
            return None
        raise


def filter_xml(machine_id: str, rules: Sequence[FirewallRule]) -> str:
    """The machine's filter holding `rules` (at least one) and the scaffolding around them."""
    body = [_scaffold_before(), *(_rule_xml(rule) for rule in in_order(rules)), _default_deny()]
    return (
        f"<filter name={_q(filter_name(machine_id))} chain='root'>"
        f"<uuid>{filter_uuid(machine_id)}</uuid>{''.join(body)}</filter>"
    )


def parse_rules(xml: str) -> tuple[FirewallRule, ...]:
    """The user's rules of a filter `filter_xml` wrote, in evaluation order: the libvirt rules
    at priorities 10 to 100, the two halves of a rule that names no address made one again."""
    found: list[FirewallRule] = []
    for element in ET.fromstring(xml).iterfind("rule"):
        priority = int(element.get("priority", "500"))
        if PRIORITY_MIN <= priority <= PRIORITY_MAX:
            found.append(_parse_rule(element, priority))
    merged: dict[int, FirewallRule] = {}
    for rule in found:
        twin = merged.get(rule.priority)
        if twin is None:
            merged[rule.priority] = rule
        elif twin != rule:
            raise PermanentError(
                f"The machine's filter holds two rules at priority {rule.priority}.",
                code="libvirt_error",
            )
    return in_order(list(merged.values()))


def _scaffold_before() -> str:
    established = "".join(
        f"<rule action='accept' direction='inout' priority='{ESTABLISHED_PRIORITY}'>"
        f"<{element} state='ESTABLISHED,RELATED'/></rule>"
        for element in ("all", "all-ipv6")
    )
    neighbours = "".join(
        f"<rule action='accept' direction='inout' priority='{NEIGHBOUR_PRIORITY}'>"
        f"<icmpv6 type='{kind}'/></rule>"
        for kind in _NEIGHBOUR_TYPES
    )
    return established + neighbours


def _default_deny() -> str:
    return "".join(
        f"<rule action='drop' direction='inout' priority='{DEFAULT_DENY_PRIORITY}'>"
        f"<{element}/></rule>"
        for element in ("all", "all-ipv6")
    )


def _rule_xml(rule: FirewallRule) -> str:
    head = (
        f"<rule action={_q(rule.action.value.lower())} "
        f"direction={_q(_DIRECTIONS[rule.direction])} priority='{rule.priority}'>"
    )
    return "".join(
        f"{head}<{_ELEMENTS[rule.protocol, version]}{_match(rule)}/></rule>"
        for version in rule.versions
    )


def _match(rule: FirewallRule) -> str:
    attrs: dict[str, str] = {}
    for side, cidr, ports in (
        ("src", rule.source_address, rule.source_ports),
        ("dst", rule.destination_address, rule.destination_ports),
    ):
        if cidr is not None:
            network = ipaddress.ip_network(cidr)
            attrs[f"{side}ipaddr"] = str(network.network_address)
            attrs[f"{side}ipmask"] = str(network.prefixlen)
        if ports is not None:
            attrs[f"{side}portstart"] = str(ports.start)
            attrs[f"{side}portend"] = str(ports.end)
    return "".join(f" {name}={_q(value)}" for name, value in attrs.items())


def _parse_rule(element: ET.Element, priority: int) -> FirewallRule:
    match = next(iter(element))
    protocol, _version = _PROTOCOLS[match.tag]
    direction = {v: k for k, v in _DIRECTIONS.items()}[element.get("direction", "")]
    return FirewallRule(
        priority=priority,
        direction=direction,
        action=Action(element.get("action", "").upper()),
        protocol=protocol,
        source_address=_cidr(match, "src"),
        source_ports=_ports(match, "src"),
        destination_address=_cidr(match, "dst"),
        destination_ports=_ports(match, "dst"),
    )


def _cidr(match: ET.Element, side: str) -> str | None:
    address = match.get(f"{side}ipaddr")
    if address is None:
        return None
    return str(ipaddress.ip_network(f"{address}/{match.get(f'{side}ipmask')}"))


def _ports(match: ET.Element, side: str) -> PortRange | None:
    start = match.get(f"{side}portstart")
    if start is None:
        return None
    return PortRange(start=int(start), end=int(match.get(f"{side}portend", start)))


def _q(value: str) -> str:
    return quoteattr(value)
