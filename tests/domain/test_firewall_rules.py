"""The firewall's rule model (domain.firewall) and its nwfilter form (drivers.libvirt_firewall),
without a hypervisor: what a rule list accepts and refuses, and that the filter libvirt is given
reads back as the same rules."""

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from nuage.domain.catalogue.firewall import FirewallParams
from nuage.domain.firewall import MAX_RULES, FirewallRule, RuleList
from nuage.drivers.libvirt_firewall import (
    filter_name,
    filter_xml,
    is_bound,
    parse_rules,
    rebind_live,
)

RULES = TypeAdapter(RuleList)


def rule(**changes: Any) -> dict[str, Any]:
    return {
        "priority": 10,
        "direction": "INPUT",
        "action": "ACCEPT",
        "protocol": "TCP",
        **changes,
    }


def test_a_rule_is_normalised() -> None:
    parsed = FirewallRule.model_validate(
        rule(source_address=" 2001:DB8:0::/48", destination_address=None,
             destination_ports={"start": 443})
    )  # fmt: skip
    assert parsed.source_address == "2001:db8::/48"
    assert parsed.destination_ports is not None and parsed.destination_ports.end == 443
    assert parsed.versions == (6,)
    assert FirewallRule.model_validate(rule(source_address="192.0.2.1")).source_address == (
        "192.0.2.1/32"
    )
    assert FirewallRule.model_validate(rule()).versions == (4, 6)


@pytest.mark.parametrize(
    "bad",
    [
        rule(priority=9),
        rule(priority=101),
        rule(source_address="192.0.2.1/24"),
        rule(source_address="192.0.2.0/33"),
        rule(source_address=""),
        rule(source_address="192.0.2.0/24", destination_address="2001:db8::/32"),
        rule(destination_ports={"start": 0}),
        rule(destination_ports={"start": 10, "end": 9}),
        rule(source_ports={"start": 1, "end": 65536}),
        rule(protocol="ICMP", source_ports={"start": 1}),
        rule(protocol="icmp"),
        rule(direction="FORWARD"),
        rule(extra=True),
    ],
)
def test_a_bad_rule_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FirewallRule.model_validate(bad)


def test_a_list_has_unique_priorities_and_a_maximum() -> None:
    with pytest.raises(ValidationError, match="given twice"):
        RULES.validate_python([rule(), rule(protocol="UDP")])
    with pytest.raises(ValidationError):
        RULES.validate_python([rule(priority=10 + n) for n in range(MAX_RULES + 1)])
    assert len(RULES.validate_python([rule(priority=10 + n) for n in range(MAX_RULES)])) == 50


def test_the_task_keeps_the_rules_in_evaluation_order() -> None:
    from nuage.domain.catalogue.firewall import evaluation_order

    params = FirewallParams.model_validate({"rules": [rule(priority=30), rule(priority=20)]})
    ordered = evaluation_order(params, None)  # type: ignore[arg-type]
    assert [r.priority for r in ordered.rules] == [20, 30]


LIST = [
    FirewallRule.model_validate(r)
    for r in (
        rule(priority=40, direction="OUTPUT", action="DROP", protocol="UDP",
             source_ports={"start": 5000, "end": 6000}, destination_address="10.0.0.0/8"),
        rule(priority=20, protocol="ICMP"),
        rule(priority=30, source_address="2001:db8::/32", destination_ports={"start": 80}),
    )
]  # fmt: skip


def test_the_filter_reads_back_as_the_same_rules_in_order() -> None:
    xml = filter_xml("m-1", LIST)
    assert parse_rules(xml) == tuple(sorted(LIST, key=lambda r: r.priority))


def test_the_filter_surrounds_the_rules_with_the_stateful_part_and_the_default_deny() -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(filter_xml("m-1", LIST))
    assert root.get("name") == filter_name("m-1") == "nuage-fw-m-1"
    rules = [(int(r.get("priority", "0")), r.get("action"), r[0].tag) for r in root.iter("rule")]
    assert rules[0] == (-900, "accept", "all") and rules[1] == (-900, "accept", "all-ipv6")
    assert rules[-2:] == [(1000, "drop", "all"), (1000, "drop", "all-ipv6")]
    users = [entry for entry in rules if 10 <= entry[0] <= 100]
    # A rule without an address is one libvirt rule per IP version.
    assert users == [
        (20, "accept", "icmp"),
        (20, "accept", "icmpv6"),
        (30, "accept", "tcp-ipv6"),
        (40, "drop", "udp"),
    ]
    assert [entry[0] for entry in rules] == sorted(entry[0] for entry in rules)


DOMAIN = """<domain><devices>
<interface type='network'><mac address='52:54:00:00:00:01'/><alias name='ua-eth0'/></interface>
</devices></domain>"""


def test_binding_a_running_domains_interfaces() -> None:
    assert not is_bound(DOMAIN, "m-1")
    changed = rebind_live(DOMAIN, "m-1", bound=True)
    assert len(changed) == 1 and '<filterref filter="nuage-fw-m-1" />' in changed[0]
    bound = DOMAIN.replace("</interface>", "<filterref filter='nuage-fw-m-1'/></interface>")
    assert is_bound(bound, "m-1")
    assert rebind_live(bound, "m-1", bound=True) == []  # nothing to change
    (unbound,) = rebind_live(bound, "m-1", bound=False)
    assert "filterref" not in unbound
    assert not is_bound("<domain><devices/></domain>", "m-1")  # no interface: nothing filtered
