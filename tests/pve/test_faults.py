"""The faults the driver's tests inject, as a client sees them from the served fake: a held
config lock (a real one, waited for, not an injected answer), a task ending in error, an
offline node and a dropped connection. The driver's mapping of each is tested with the driver
(tests/drivers/test_proxmox_driver.py); these check the fake gives what Proxmox gives."""

import time

import pytest
import requests
from proxmoxer import ProxmoxAPI, ResourceException

from tests.pve.served import NODE, TEMPLATES, Served


def _vm(api: ProxmoxAPI) -> ProxmoxAPI:
    api.nodes(NODE).qemu(TEMPLATES["debian-12"]).clone.post(newid=101, name="web-1", full=1)
    return api.nodes(NODE).qemu(101)


def test_a_held_config_lock_times_out_then_frees(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _vm(pve_api)
    pve.pve.time_scale = 0.005  # Proxmox waits 10 s for the lock: 50 ms here
    pve.call(pve.pve.hold_config_lock(101, None))
    began = time.monotonic()
    with pytest.raises(ResourceException) as refused:
        vm.config.put(cores=2)
    assert refused.value.status_code == 500
    assert "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout" in str(
        refused.value
    )
    assert time.monotonic() - began >= 0.05
    pve.pve.release_config_lock(101)
    vm.config.put(cores=2)
    assert str(vm.config.get()["cores"]) == "2"


def test_a_task_ending_in_error_says_why_in_status_and_log(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    vm = _vm(pve_api)
    pve.pve.vm(101).start_error = "start failed: QEMU exited with code 1"
    upid = vm.status.start.post()
    status = pve_api.nodes(NODE).tasks(upid).status.get()
    assert (status["status"], status["exitstatus"]) == (
        "stopped",
        "start failed: QEMU exited with code 1",
    )
    log = pve_api.nodes(NODE).tasks(upid).log.get()
    assert log[-1]["t"] == "TASK ERROR: start failed: QEMU exited with code 1"
    assert vm.status.current.get()["status"] == "stopped"


def test_an_offline_node_and_a_dropped_connection(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _vm(pve_api)
    pve.pve.set_node_offline(NODE)
    with pytest.raises(ResourceException) as refused:
        vm.status.current.get()
    assert refused.value.status_code == 595
    pve.pve.set_node_offline(NODE, offline=False)
    pve.pve.flaky_network(drop_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        vm.status.current.get()
    pve.pve.flaky_network(drop_rate=0.0)
    assert vm.status.current.get()["status"] == "stopped"
