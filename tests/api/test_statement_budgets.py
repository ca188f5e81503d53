"""The SQL budget of each hot path: statements and transactions, counted with SQLAlchemy's
events while production code runs. A change that adds a round trip to one of these fails here
and has to raise the number on purpose (docs/benchmarks.md says what each costs).
"""

import pytest

from nuage.engine.worker import Worker
from tests.sql_counter import Counted, counting
from tests.support import Stack, TenantFactory, worker_settings

pytestmark = pytest.mark.anyio

# (statements, transactions) per request or step, as measured; PostgreSQL's extra statements
# are its NOTIFYs and row locks (FOR UPDATE), which SQLite's single writer does not need.
BUDGETS = {
    "sqlite": {
        "GET task": (1, 1),  # the key, membership, project and task in one read
        "GET task, full route": (3, 1),  # ?wait= and every refusal take it
        "GET task list": (3, 1),  # the page and its bounded count in one statement
        # a plain action (api/fast_actions.py): the key, membership, project, instance, host
        # and active tasks in one read; the task, its step, its audit-log row and its event,
        # in the same transaction
        "POST action": (5, 1),
        "claim": (6, 1),  # with the `started` step (engine/start.py)
        "run and finish": (7, 1),  # the handler's short step waits for the finish (step_log.py)
        # a sync of an instance with no volume reads none (engine/claimed_rows.py)
        "run and finish, a sync": (7, 1),
    },
    "postgresql": {
        "GET task": (1, 1),
        "GET task, full route": (3, 1),
        "GET task list": (3, 1),
        "POST action": (2, 1),  # the read, then every row, the outbox lock and NOTIFY in one
        # the outbox's INSERT takes its lock and sends every NOTIFY; the claim's UPDATE returns
        # what the `task.started` event shows (engine/shown_rows.py) and logs the `started` step;
        # a reboot marks its instance
        "claim": (4, 1),
        # the finish's one statement: the task, its steps, its instance (the status before) and
        # its snapshots (engine/finish_statements.py); then the outbox's INSERT
        "run and finish": (2, 1),
        "run and finish, a sync": (2, 1),
    },
}


def within(stack: Stack, name: str, counted: Counted) -> None:
    database = (
        "sqlite" if stack.runtime.settings.database_url.startswith("sqlite") else "postgresql"
    )
    statements, transactions = BUDGETS[database][name]
    assert len(counted.statements) <= statements, (name, counted.statements)
    assert counted.transactions <= transactions, (name, counted.transactions)


async def test_hot_paths_stay_within_their_budgets(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()  # from here on, only the code under test talks to the database
    task = await tenant.act(instance["id"], "reboot")
    await tenant.get(f"/tasks/{task['id']}")  # the key's `last_used` is now recorded
    with counting() as counted:
        assert (await tenant.get(f"/tasks/{task['id']}")).status_code == 200
    within(stack, "GET task", counted)
    with counting() as counted:
        assert (await tenant.get(f"/tasks/{task['id']}", params={"wait": 0})).status_code == 200
    within(stack, "GET task, full route", counted)
    with counting() as counted:
        listed = await tenant.get("/tasks", params={"status": "failed", "page_size": 20})
        assert listed.status_code == 200
    within(stack, "GET task list", counted)
    with counting() as counted:
        await tenant.act(instance["id"], "reboot")
    within(stack, "POST action", counted)

    runner = Worker(
        stack.runtime.sessions,
        stack.driver,
        stack.notifier,
        worker_settings(stack.runtime.settings),
    )
    with counting() as counted:
        record = await runner.claim()
    assert record is not None and str(record.id) == task["id"]
    within(stack, "claim", counted)
    with counting() as counted:
        await runner.execute(record)
    within(stack, "run and finish", counted)
    assert (await tenant.get(f"/tasks/{task['id']}")).json()["status"] == "completed"

    record = await runner.claim()  # the reboot of "POST action"
    assert record is not None
    await runner.execute(record)
    sync = await tenant.act(instance["id"], "sync")
    record = await runner.claim()
    assert record is not None and str(record.id) == sync["id"]
    with counting() as counted:
        await runner.execute(record)
    within(stack, "run and finish, a sync", counted)
    assert (await tenant.get(f"/tasks/{sync['id']}")).json()["status"] == "completed"
