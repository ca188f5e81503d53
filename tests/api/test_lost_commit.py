"""A database lost in the middle of a request, as every route answers it: lost before the commit,
a 503 `database_unavailable` and nothing changed; lost once the COMMIT of a change was sent, a
503 `write_outcome_unknown`, because the database may have made the change (and here did), and
the same `Idempotency-Key` then replays the change instead of making it twice."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.db.models import InstanceTask
from nuage.db.session import transaction
from nuage.domain.errors import DatabaseUnavailable
from nuage.engine.worker import Worker
from tests.support import Stack, TenantFactory, instance_at_rest, task_ids

pytestmark = pytest.mark.anyio


@contextmanager
def connection_lost(stack: Stack, *, after: str) -> Iterator[None]:
    """The next commits (`after="commit"`: once the database made them) or statements that
    write (`after="nothing"`: before the database saw them) lose their connection, as the
    driver reports it."""
    dialect = stack.runtime.sessions.kw["bind"].sync_engine.dialect
    lost = dialect.loaded_dbapi.OperationalError
    real_commit, real_execute = dialect.do_commit, dialect.do_execute

    def commit_then_lose(dbapi_connection: Any) -> None:
        real_commit(dbapi_connection)
        raise lost("connection lost after the commit")

    def lose_writes(cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT"):
            raise lost("connection lost")
        real_execute(cursor, statement, *args)

    with pytest.MonkeyPatch.context() as patch:
        if after == "commit":
            patch.setattr(dialect, "do_commit", commit_then_lose)
        else:
            patch.setattr(dialect, "do_execute", lose_writes)
        yield


async def test_a_commit_lost_after_the_change_says_it_may_have_been_made(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)
    key = {"Idempotency-Key": "reboot-once"}  # a request the route answers, not the fast path

    with connection_lost(stack, after="commit"):
        answer = await tenant.post(f"/instances/{instance['id']}/reboot", headers=key)

    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "write_outcome_unknown"
    assert "may have been made" in answer.json()["detail"]
    assert answer.headers["retry-after"]
    made = await task_ids(stack, instance["id"], "reboot_vps")
    assert len(made) == 1  # the database did make it
    again = await tenant.post(f"/instances/{instance['id']}/reboot", headers=key)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == made[0]  # the retry replays it
    assert await task_ids(stack, instance["id"], "reboot_vps") == made


async def test_a_connection_lost_before_the_commit_changed_nothing(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)
    key = {"Idempotency-Key": "reboot-once"}

    with connection_lost(stack, after="nothing"):
        answer = await tenant.post(f"/instances/{instance['id']}/reboot", headers=key)

    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "database_unavailable"
    assert "nothing was changed" in answer.json()["detail"]
    assert await task_ids(stack, instance["id"], "reboot_vps") == []
    again = await tenant.post(f"/instances/{instance['id']}/reboot", headers=key)
    assert again.status_code == 202, again.text
    assert len(await task_ids(stack, instance["id"], "reboot_vps")) == 1


async def test_a_transaction_that_only_read_is_not_a_change_of_unknown_outcome(
    stack: Stack, tenants: TenantFactory
) -> None:
    await tenants()
    with connection_lost(stack, after="commit"), pytest.raises(DatabaseUnavailable) as caught:
        async with transaction(stack.runtime.sessions) as session:
            await session.execute(sa.select(InstanceTask.id).limit(1))
    assert type(caught.value) is DatabaseUnavailable
