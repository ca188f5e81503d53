"""Hypervisor configuration (`apply_config`) and drift, asserted alike on every driver.

What a driver applied is read back from the hypervisor's own record of the machine, not from the
driver: the simulator's state file, libvirt's domain XML (its <cpu>, <os> and <memballoon>
elements). Drift is made behind the driver's back the way an operator would: the simulator's
state edited, `virsh setvcpus --config` and `virsh destroy` on the host.
"""

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import CONFIG, POWER, RESIZE, capable

from .conftest import LIBVIRT_URI
from .guest_lines import disks
from .test_driver_contract import SpecFactory, create, expect_permanent, marker, markers

pytestmark = pytest.mark.anyio

SETTINGS = {"cpu_model": "qemu64", "balloon": False, "nested_virtualization": True}
# Proxmox refuses +vmx among a VM's own CPU flags: nested virtualisation there is the host model.
PVE_SETTINGS = {"cpu_model": "host", "balloon": False, "nested_virtualization": True}


def settings_for(driver: Driver) -> dict[str, Any]:
    return PVE_SETTINGS if driver.name == "proxmox" else SETTINGS


def model_for(driver: Driver) -> str:
    return str(settings_for(driver)["cpu_model"])


def virsh(*args: str) -> str:
    done = subprocess.run(
        ["virsh", "-c", LIBVIRT_URI, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def defined(driver: Driver, state_dir: Path, machine_id: str) -> dict[str, Any]:
    """The settings as the hypervisor holds them in the machine's definition."""
    if driver.name == "sim":
        state = json.loads((state_dir / "machines" / f"{machine_id}.json").read_text())
        return dict(state["config"])
    if driver.name == "proxmox":
        return pve_defined(driver, machine_id)
    root = ET.fromstring(virsh("dumpxml", "--inactive", f"nuage-{machine_id}"))
    found: dict[str, Any] = {}
    if (model := root.findtext("cpu/model")) is not None:
        found["cpu_model"] = model
    if (vmx := root.find("cpu/feature[@name='vmx']")) is not None:
        found["nested_virtualization"] = vmx.get("policy") == "require"
    balloon = root.find("devices/memballoon")
    if balloon is not None and balloon.get("model") == "none":
        found["balloon"] = False
    return found


def pve_vm(driver: Driver, machine_id: str) -> Any:
    """The fake's VM of a machine (its tag is the driver's, from the machine id)."""
    from nuage.drivers.proxmox_values import machine_tag

    pve = driver.served.pve  # type: ignore[attr-defined]
    tag = machine_tag(machine_id)
    return next(vm for vm in pve.vms if tag in str(vm.config.get("tags", "")))


def pve_defined(driver: Driver, machine_id: str) -> dict[str, Any]:
    """The settings in the VM's config (`cpu: cputype=…`, `balloon: 0`); the host model, which
    passes the CPU's virtualisation extensions, is nested virtualisation."""
    config = pve_vm(driver, machine_id).config
    found: dict[str, Any] = {}
    cpu = str(config.get("cpu", ""))
    if cpu:
        found["cpu_model"] = cpu.split(",")[0].removeprefix("cputype=")
        if found["cpu_model"] == "host":
            found["nested_virtualization"] = True
    if str(config.get("balloon", "")) == "0":
        found["balloon"] = False
    return found


def drift(driver: Driver, state_dir: Path, machine_id: str, *, vcpu: int, disk_gb: int) -> None:
    """Power the machine off, change its vCPUs and grow its disk, without the driver."""
    if driver.name == "proxmox":
        vm = pve_vm(driver, machine_id)
        vm.status, vm.config["cores"] = "stopped", vcpu
        disk = str(vm.config["scsi0"]).split(",")[0].partition(":")[2]
        for storage in driver.served.pve.storages.values():  # type: ignore[attr-defined]
            if disk in storage.get("volumes", {}):
                storage["volumes"][disk]["size"] = disk_gb * 1024**3
        vm.config["scsi0"] = str(vm.config["scsi0"]).split(",size=")[0] + f",size={disk_gb}G"
        return
    if driver.name == "sim":
        path = state_dir / "machines" / f"{machine_id}.json"
        state = json.loads(path.read_text())
        path.write_text(json.dumps({**state, "vcpu": vcpu, "power": "off", "disk_gb": disk_gb}))
        return
    domain = f"nuage-{machine_id}"
    virsh("destroy", domain)
    virsh("setvcpus", domain, str(vcpu), "--config")
    disk = ET.fromstring(virsh("dumpxml", "--inactive", domain)).find(
        "devices/disk/target[@dev='vda']/../source"
    )
    assert disk is not None
    resize = ["qemu-img", "resize", "-q", str(disk.get("file")), f"{disk_gb}G"]
    subprocess.run(resize, check=True, capture_output=True)


async def test_apply_config_sets_the_definition_and_reads_back(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    config = capable(driver, CONFIG)
    assert await config.hypervisor_config(spec.machine_id) == {}
    settings = settings_for(driver)

    after = await config.apply_config(spec.machine_id, settings)

    assert after == settings
    assert await config.hypervisor_config(spec.machine_id) == settings
    assert defined(driver, state_dir, spec.machine_id) == settings
    assert await config.apply_config(spec.machine_id, settings) == settings  # converges


async def test_apply_config_null_resets_a_key_to_the_default(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    config = capable(driver, CONFIG)
    await config.apply_config(spec.machine_id, settings_for(driver))

    after = await config.apply_config(
        spec.machine_id, {"nested_virtualization": None, "balloon": None}
    )

    model = {"cpu_model": model_for(driver)}
    assert after == model
    if driver.name == "proxmox":  # the host model is nested virtualisation there
        model["nested_virtualization"] = True
    assert defined(driver, state_dir, spec.machine_id) == model


async def test_apply_config_refuses_keys_outside_the_allow_list_and_changes_nothing(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    config = capable(driver, CONFIG)
    await config.apply_config(spec.machine_id, {"cpu_model": "qemu64"})

    await expect_permanent(
        "invalid_config", config.apply_config(spec.machine_id, {"cpu_model": "max", "args": "-x"})
    )
    await expect_permanent(
        "invalid_config", config.apply_config(spec.machine_id, {"balloon": "yes"})
    )

    assert defined(driver, state_dir, spec.machine_id) == {"cpu_model": "qemu64"}
    assert await capable(driver, CONFIG).hypervisor_config(spec.machine_id) == {
        "cpu_model": "qemu64"
    }


async def test_a_running_machine_takes_the_config_at_its_next_boot(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec()
    await driver.create(spec)
    settings = {"cpu_model": "qemu64", "balloon": False}

    await capable(driver, CONFIG).apply_config(spec.machine_id, settings)
    power = capable(driver, POWER)
    await power.stop(spec.machine_id)
    info = await power.start(spec.machine_id)

    assert info.power is PowerState.ON
    assert defined(driver, state_dir, spec.machine_id) == settings
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, spec.hostname, spec.vcpu, spec.ram_mb
    )


async def test_drift_made_behind_the_drivers_back_shows_in_inspect(
    driver: Driver, new_spec: SpecFactory, state_dir: Path
) -> None:
    spec = new_spec(vcpu=1, disk_gb=5)
    await driver.create(spec)

    drift(driver, state_dir, spec.machine_id, vcpu=2, disk_gb=7)

    info = await driver.inspect(spec.machine_id)
    assert info is not None
    assert (info.power, info.vcpu, info.disk_gb) == (PowerState.OFF, 2, 7)
    started = await capable(driver, POWER).start(spec.machine_id)
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, spec.hostname, 2, spec.ram_mb
    )
    assert (started.vcpu, started.disk_gb) == (2, 7)
    assert disks(await driver.console(spec.machine_id))["vda"] == "7G"
    await capable(driver, POWER).stop(spec.machine_id)
    await expect_permanent(  # a resize sees the grown disk: it does not shrink it
        "disk_shrink_refused",
        capable(driver, RESIZE).resize(spec.machine_id, vcpu=1, ram_mb=spec.ram_mb, disk_gb=6),
    )
