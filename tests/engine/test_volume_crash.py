"""A worker killed in the middle of a volume attach: its task is taken over once its lease has
expired, and the result is one attached volume on one device, not two.

The worker runs as a process of its own and is killed with SIGKILL after the hot-plug landed on
the (simulated) hypervisor but before the task could record it: the worst moment, since the
attach that runs again finds the volume already plugged in."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nuage.config import Settings
from tests.drivers.guest_lines import disks
from tests.support import Stack, TenantFactory, poll, start_worker

pytestmark = pytest.mark.anyio

NUAGE = str(Path(sys.executable).with_name("nuage"))
LATENCY_MS = 1500  # per simulated operation, slept again after a hot-plug: the window to kill in


def spawn_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    env |= {
        "NUAGE_DATABASE_URL": settings.database_url,
        "NUAGE_DATA_DIR": str(settings.data_dir),
        "NUAGE_SECRET_KEY": settings.secret_key,
        "NUAGE_SIM_LATENCY_MS": str(LATENCY_MS),
        "NUAGE_LEASE_SECONDS": "2",
        "NUAGE_POLL_SECONDS": "0.2",
    }
    out = log.open("wb")
    return subprocess.Popen([NUAGE, "worker"], env=env, stdout=out, stderr=out)


async def test_a_worker_killed_mid_attach_leaves_one_attached_volume(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object, tmp_path: Path
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    response = await tenant.post(
        f"/instances/{instance['id']}/volumes", json={"name": "data", "size_gb": 1}
    )
    assert response.status_code == 202, response.text
    task_id, volume_id = response.json()["id"], response.json()["parameters"]["volume_id"]

    doomed = spawn_worker(settings, tmp_path / "worker.log")
    try:

        async def plugged() -> bool:
            found = await stack.driver.inspect_volume(volume_id)
            return found is not None and found.machine_id == instance["id"]

        await poll(plugged, within=60, every=0.05)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    assert (await tenant.get(f"/tasks/{task_id}")).json()["status"] == "running"

    start_worker(stack, settings)
    task = await tenant.wait(task_id, timeout=60)

    assert task["status"] == "completed", task
    events = (await tenant.get(f"/tasks/{task_id}/events", params={"page_size": 100})).json()
    attempts = {e["attempt"] for e in events["results"] if e["step"] == "attach"}
    assert len(attempts) == 2, events  # the attach ran again, on the second worker
    got = (await tenant.get(f"/volumes/{volume_id}")).json()
    assert (got["status"], got["instance_id"], got["device"]) == ("in-use", instance["id"], "vdc")
    console = await stack.driver.console(instance["id"])
    assert disks(console) == {"vda": disks(console)["vda"], "vdc": "1G"}  # one device, not two
    assert [line for line in console.splitlines() if "vdd" in line] == []
