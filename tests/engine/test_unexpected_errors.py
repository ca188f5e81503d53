"""An exception a handler did not expect (a driver letting an OSError escape) fails the task once
with a permanent `internal_error`; it is never taken for a lost database."""

import logging

import pytest

from nuage.config import Settings
from nuage.drivers.base import MachineInfo
from nuage.drivers.sim import SimDriver, SimSettings
from tests.engine.helpers import events, steps
from tests.support import Stack, TenantFactory, start_worker

pytestmark = pytest.mark.anyio

SECRET_PATH = "/var/lib/hypervisor/private/machine.lock"


class LeakyDriver(SimDriver):
    """A driver whose stop lets a bare PermissionError escape its boundary."""

    async def stop(self, machine_id: str) -> MachineInfo:
        raise PermissionError(13, "Permission denied", SECRET_PATH)


async def test_an_escaped_os_error_fails_the_task_once_with_internal_error(
    stack: Stack, tenants: TenantFactory, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    start_worker(stack, settings, LeakyDriver(SimSettings(state_dir=settings.sim_state_dir)))
    tenant = await tenants()
    instance = await tenant.running_instance()

    with caplog.at_level(logging.ERROR, logger="nuage.worker"):
        task = await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])

    assert task["status"] == "failed", task
    assert task["retry_count"] == 0
    assert task["error"] == {
        "code": "internal_error",
        "message": "Internal error (PermissionError); the operators were told.",
        "retryable": False,
    }
    assert SECRET_PATH not in str(task)
    names = steps(await events(tenant, task["id"]))
    assert names.count("started") == 1
    assert "lease_expired" not in names and "retry_scheduled" not in names
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is PermissionError]
    assert logged, "the traceback is logged for the operators"
