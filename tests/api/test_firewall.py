"""`GET/PUT P/instances/{id}/firewall` (`apply_firewall`): the whole rule list replaced by a
task, shown as the machine has it and, while a change is queued, as asked for; refusals change
nothing; faults leave the database saying what the simulated machine has."""

from typing import Any

import httpx
import pytest

from nuage.domain.firewall import MAX_RULES, FirewallRule
from tests.support import Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio

SSH = {
    "priority": 20,
    "direction": "INPUT",
    "action": "ACCEPT",
    "protocol": "TCP",
    "source_address": "203.0.113.0/24",
    "destination_ports": {"start": 22},
}
PING = {"priority": 10, "direction": "INPUT", "action": "ACCEPT", "protocol": "ICMP"}
NO_DNS = {
    "priority": 30,
    "direction": "OUTPUT",
    "action": "DROP",
    "protocol": "UDP",
    "destination_address": "2001:DB8::1",
    "destination_ports": {"start": 53, "end": 53},
}


def firewall_of(instance: dict[str, Any]) -> str:
    return f"/instances/{instance['id']}/firewall"


async def put(
    tenant: Tenant, instance: dict[str, Any], rules: Any, **headers: str
) -> httpx.Response:
    return await tenant.client.put(
        tenant.base + firewall_of(instance),
        json={"rules": rules},
        headers={**tenant.headers, **headers},
    )


async def shown(tenant: Tenant, instance: dict[str, Any]) -> dict[str, Any]:
    response = await tenant.get(firewall_of(instance))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def task_types(tenant: Tenant) -> list[str]:
    listed: list[dict[str, Any]] = (await tenant.get("/tasks")).json()["results"]
    return sorted(t["task_type"] for t in listed)


def as_stored(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as the API shows it back: every field, one port as a range, addresses normal."""
    out: dict[str, Any] = {
        "source_address": None,
        "source_ports": None,
        "destination_address": None,
        "destination_ports": None,
        **rule,
    }
    for side in ("source_ports", "destination_ports"):
        if out[side] is not None:
            out[side] = {"end": out[side]["start"], **out[side]}
    if out["destination_address"] == "2001:DB8::1":
        out["destination_address"] = "2001:db8::1/128"
    return out


async def test_rules_are_applied_in_priority_order_and_an_empty_list_turns_it_off(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert await shown(tenant, instance) == {
        "instance_id": instance["id"],
        "enabled": False,
        "default_action": "ACCEPT",
        "rules": [],
        "pending": None,
    }

    queued = await put(tenant, instance, [NO_DNS, SSH, PING])
    assert queued.status_code == 202, queued.text
    assert queued.headers["Location"].endswith(f"/tasks/{queued.json()['id']}")
    done = await tenant.wait(queued.json()["id"])

    ordered = [as_stored(PING), as_stored(SSH), as_stored(NO_DNS)]
    assert done["status"] == "completed", done
    assert done["task_type"] == "apply_firewall"
    assert done["result"] == {"enabled": True, "rules": ordered}
    firewall = await shown(tenant, instance)
    assert (firewall["enabled"], firewall["default_action"]) == (True, "DROP")
    assert firewall["rules"] == ordered and firewall["pending"] is None
    machine = await stack.driver.firewall_rules(instance["id"])
    assert [r.model_dump(mode="json") for r in machine] == ordered

    off = await tenant.wait((await put(tenant, instance, [])).json()["id"])
    assert off["result"] == {"enabled": False, "rules": []}
    assert (await shown(tenant, instance))["rules"] == []
    assert await stack.driver.firewall_rules(instance["id"]) == ()


async def test_a_queued_change_is_shown_beside_the_rules_the_machine_has(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()  # no worker: its tasks stay queued

    first = (await put(tenant, instance, [SSH])).json()
    last = (await put(tenant, instance, [PING, SSH])).json()
    firewall = await shown(tenant, instance)

    assert (firewall["enabled"], firewall["rules"]) == (False, [])
    assert firewall["pending"] == {
        "task_id": last["id"],
        "status": "pending",
        "rules": [as_stored(PING), as_stored(SSH)],
    }
    cancelled = await tenant.post(f"/tasks/{last['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (await shown(tenant, instance))["pending"]["task_id"] == first["id"]


def _rule(**changes: Any) -> dict[str, Any]:
    return {**SSH, **changes}


BAD_RULES: list[tuple[str, list[dict[str, Any]]]] = [
    ("port out of range", [_rule(destination_ports={"start": 0})]),
    ("port above 65535", [_rule(destination_ports={"start": 22, "end": 65536})]),
    ("end below start", [_rule(destination_ports={"start": 443, "end": 80})]),
    ("bad CIDR", [_rule(source_address="203.0.113.300/24")]),
    ("host bits set", [_rule(source_address="203.0.113.7/24")]),
    ("a name, not an address", [_rule(source_address="example.com")]),
    ("mixed IP versions", [_rule(destination_address="2001:db8::/32")]),
    ("ICMP with ports", [{**PING, "destination_ports": {"start": 1}}]),
    ("priority below 10", [_rule(priority=9)]),
    ("priority above 100", [_rule(priority=101)]),
    ("priority given twice", [SSH, {**PING, "priority": SSH["priority"]}]),
    ("unknown protocol", [_rule(protocol="SCTP")]),
    ("unknown direction", [_rule(direction="FORWARD")]),
    ("unknown action", [_rule(action="REJECT")]),
    ("lowercase enum", [_rule(action="accept")]),
    ("unknown field", [_rule(comment="ssh")]),
    ("missing field", [{k: v for k, v in SSH.items() if k != "direction"}]),
    ("too many rules", [_rule(priority=10 + n) for n in range(MAX_RULES + 1)]),
]


@pytest.mark.parametrize(("case", "rules"), BAD_RULES, ids=[case for case, _ in BAD_RULES])
async def test_a_bad_rule_is_a_400_naming_it_and_changes_nothing(
    tenants: TenantFactory, case: str, rules: list[dict[str, Any]]
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()

    refused = await put(tenant, instance, rules)

    assert refused.status_code == 400, (case, refused.text)
    assert list(refused.json()) == ["rules"], refused.json()
    assert await task_types(tenant) == ["create_vps"]
    assert (await shown(tenant, instance))["pending"] is None


@pytest.mark.parametrize("body", [{}, {"rules": None}, {"rules": {}}, [], {"rules": [], "x": 1}])
async def test_a_body_without_a_rule_list_is_a_400(tenants: TenantFactory, body: Any) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    url = tenant.base + firewall_of(instance)

    refused = await tenant.client.put(url, json=body, headers=tenant.headers)

    assert refused.status_code == 400, refused.text
    assert await task_types(tenant) == ["create_vps"]


async def test_another_tenants_instance_is_the_same_404_as_none(tenants: TenantFactory) -> None:
    owner, stranger = await tenants(), await tenants()
    instance, _ = await owner.create_instance()
    nobody = {"id": "00000000-0000-4000-8000-000000000000"}

    for target in (instance, nobody):
        seen = await stranger.get(firewall_of(target))
        changed = await put(stranger, target, [SSH])
        assert (seen.status_code, changed.status_code) == (404, 404)
        assert seen.content == changed.content == b'{"detail":"Not found.","code":"not_found"}'
    assert await task_types(owner) == ["create_vps"]


async def test_a_put_replays_with_its_idempotency_key(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()

    first = await put(tenant, instance, [SSH], **{"Idempotency-Key": "fw-once"})
    again = await put(tenant, instance, [SSH], **{"Idempotency-Key": "fw-once"})
    other = await put(tenant, instance, [PING], **{"Idempotency-Key": "fw-once"})

    assert first.status_code == again.status_code == 202, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert await task_types(tenant) == ["apply_firewall", "create_vps"]


async def test_faults_leave_the_recorded_rules_what_the_machine_has(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stack.driver.inject_fault(instance["id"], operation="apply_firewall", kind="transient")

    retried = await tenant.wait((await put(tenant, instance, [SSH])).json()["id"])
    assert (retried["status"], retried["retry_count"]) == ("completed", 1), retried

    stack.driver.inject_fault(instance["id"], operation="apply_firewall", kind="permanent")
    failed = await tenant.wait((await put(tenant, instance, [PING])).json()["id"])

    assert failed["status"] == "failed" and failed["error"]["code"] == "sim_permanent_fault"
    assert (await shown(tenant, instance))["rules"] == [as_stored(SSH)]
    machine = await stack.driver.firewall_rules(instance["id"])
    assert [r.model_dump(mode="json") for r in machine] == [as_stored(SSH)]
    again = await tenant.post(f"/tasks/{failed['id']}/retry")
    assert (await tenant.wait(again.json()["id"]))["status"] == "completed"
    assert (await shown(tenant, instance))["rules"] == [as_stored(PING)]


async def test_a_failed_attempt_records_what_the_machine_has(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    """The rules changed behind nuage's back, then a failed apply: the instance records the
    machine's rules as read back, not its stale record nor the rules asked for."""
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert (await tenant.wait((await put(tenant, instance, [SSH])).json()["id"]))["result"]
    behind = await stack.driver.apply_firewall(instance["id"], [FirewallRule.model_validate(PING)])
    stack.driver.inject_fault(instance["id"], operation="apply_firewall", kind="permanent")

    failed = await tenant.wait((await put(tenant, instance, [NO_DNS])).json()["id"])

    assert failed["status"] == "failed", failed
    assert (await shown(tenant, instance))["rules"] == [r.model_dump(mode="json") for r in behind]
    events = (await tenant.get(f"/tasks/{failed['id']}/events")).json()["results"]
    steps = [e["step"] for e in events]
    assert "read_back" in steps


async def test_the_generic_task_endpoint_takes_the_same_rules(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    body = {"instance_id": instance["id"], "task_type": "apply_firewall"}

    bad = await tenant.post("/tasks", json={**body, "parameters": {"rules": [_rule(priority=5)]}})
    good = await tenant.post("/tasks", json={**body, "parameters": {"rules": [NO_DNS, PING]}})

    assert bad.status_code == 400 and list(bad.json()) == ["parameters"], bad.text
    assert good.status_code == 202, good.text
    assert good.json()["parameters"] == {"rules": [as_stored(PING), as_stored(NO_DNS)]}
