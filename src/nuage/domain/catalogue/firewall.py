"""An instance's firewall: `apply_firewall` replaces its whole rule list (domain/firewall.py)."""

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Facts, Params, Resource, Route, TaskSpec
from nuage.domain.enums import TaskType
from nuage.domain.firewall import RuleList, in_order


class FirewallParams(Params):
    # The whole list, kept in the order it is evaluated; empty: the firewall is off.
    rules: RuleList


def evaluation_order(params: FirewallParams, _facts: Facts) -> FirewallParams:
    return FirewallParams(rules=list(in_order(params.rules)))


FIREWALL_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        TaskType.APPLY_FIREWALL,
        "Apply Firewall Rules",
        supported=True,
        params=FirewallParams,
        check=evaluation_order,
        resource=Resource.FIREWALL,
        capability=Capability.FIREWALL,
        route=Route(
            "/instances/{instance_id}/firewall",
            "replace_firewall_rules",
            "replaces the instance's whole rule list (the first rule turns the firewall on "
            "with a default deny; an empty list turns it off).",
            method="PUT",
            body=True,
        ),
    ),
)
