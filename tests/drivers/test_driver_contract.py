"""The Driver contract, asserted identically for every implementation (see conftest).

Assertions are on what every driver shows once an operation returned: its MachineInfo, and the
boot marker lines on its console. A guest reports the memory it sees, which a real kernel keeps
below the configured size: `marker` accepts what REPORTED_MEMORY allows for the driver.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError
from nuage.drivers.base import Driver, GuestAddress, MachineInfo, MachineSpec
from nuage.drivers.capabilities import BINDINGS, CONSOLE, capable
from tests.console_support import (
    Refusal,
    live_api,
    refusal,
    rfb_answers,
    rfb_desktop_name,
    session_to,
)
from tests.support import Stack, TenantFactory

from .conftest import REPORTED_MEMORY

pytestmark = pytest.mark.anyio

SpecFactory = Callable[..., MachineSpec]  # the `new_spec` fixture
MARKER = re.compile(r"NUAGE-BOOTED hostname=(\S+) vcpus=(\d+) mem_mb=(\d+)(?:\s|$)")


def markers(console: str) -> list[str]:
    return [line for line in console.splitlines() if line.startswith("NUAGE-BOOTED ")]


@dataclass(frozen=True, eq=False)
class Marker:
    """Equal to the marker line of a boot with this hostname, vCPUs and configured memory."""

    driver: str
    hostname: str
    vcpu: int
    ram_mb: int

    def __eq__(self, line: object) -> bool:
        if not isinstance(line, str):
            return NotImplemented
        found = MARKER.match(line)
        if found is None or (found[1], int(found[2])) != (self.hostname, self.vcpu):
            return False
        return int(found[3]) in REPORTED_MEMORY[self.driver](self.ram_mb)


def marker(driver: Driver, hostname: str, vcpu: int, ram_mb: int) -> Marker:
    return Marker(driver.name, hostname, vcpu, ram_mb)


async def create(driver: Driver, spec: MachineSpec, *, power: PowerState) -> MachineInfo:
    info = await driver.create(spec)
    if power is PowerState.OFF:
        info = await driver.stop(spec.machine_id)
    return info


async def expect_permanent(code: str, call: Awaitable[object]) -> None:
    with pytest.raises(PermanentError) as caught:
        await call
    assert caught.value.code == code


# capabilities


async def test_the_driver_is_each_protocol_it_declares(driver: Driver) -> None:
    assert isinstance(driver, Driver)
    assert driver.name == driver.description.name
    assert driver.capabilities == driver.description.capabilities  # built with no host limits
    for capability in driver.capabilities:
        assert isinstance(driver, BINDINGS[capability].protocol), capability


# create / inspect


async def test_create_powers_on_and_boots_with_the_spec(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(vcpu=2, ram_mb=1024, disk_gb=8)

    info = await driver.create(spec)

    assert (info.machine_id, info.power) == (spec.machine_id, PowerState.ON)
    assert (info.vcpu, info.ram_mb, info.disk_gb) == (2, 1024, 8)
    assert (info.hostname, info.image) == (spec.hostname, spec.image)
    assert info.disk_id
    assert await driver.inspect(spec.machine_id) == info
    assert markers(await driver.console(spec.machine_id)) == [
        marker(driver, spec.hostname, 2, 1024)
    ]


async def test_create_twice_returns_the_existing_machine_unchanged(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    first = await driver.create(spec)
    console = await driver.console(spec.machine_id)

    again = await driver.create(new_spec(machine_id=spec.machine_id, vcpu=4, hostname="other"))

    assert again == first
    assert await driver.inspect(spec.machine_id) == first
    assert await driver.console(spec.machine_id) == console


async def test_create_again_starts_a_machine_a_failed_create_left_off(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    # What a first create leaves when it fails after defining the machine (its start or its
    # boot failed): the machine exists, powered off.
    first = await create(driver, spec, power=PowerState.OFF)
    assert first.power is PowerState.OFF

    again = await driver.create(spec)

    assert again.power is PowerState.ON
    assert (again.disk_id, again.hostname) == (first.disk_id, first.hostname)
    assert await driver.inspect(spec.machine_id) == again
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, spec.hostname, spec.vcpu, spec.ram_mb
    )
    assert len(markers(await driver.console(spec.machine_id))) == 2


async def test_the_machine_keeps_its_external_id_through_its_life(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    created = await driver.create(spec)

    stopped = await create(driver, spec, power=PowerState.OFF)
    reinstalled = await driver.reinstall(spec.machine_id, image="debian-12", hostname="fresh")
    started = await driver.start(spec.machine_id)

    assert created.external_id
    assert {stopped.external_id, reinstalled.external_id, started.external_id} == {
        created.external_id
    }


async def test_inspect_of_unknown_machine_is_none(driver: Driver, new_spec: SpecFactory) -> None:
    assert await driver.inspect(new_spec().machine_id) is None


# power


@pytest.mark.parametrize("operation", ["stop", "shutdown"])
async def test_stop_and_shutdown_power_off_and_converge(
    driver: Driver, new_spec: SpecFactory, operation: str
) -> None:
    spec = new_spec()
    created = await driver.create(spec)
    power_off = getattr(driver, operation)

    off = await power_off(spec.machine_id)
    again = await power_off(spec.machine_id)

    assert off.power is PowerState.OFF
    assert again == off == await driver.inspect(spec.machine_id)
    assert off.disk_id == created.disk_id


async def test_start_boots_a_stopped_machine_and_converges(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)

    started = await driver.start(spec.machine_id)
    console = await driver.console(spec.machine_id)
    again = await driver.start(spec.machine_id)

    assert started.power is PowerState.ON
    assert again == started == await driver.inspect(spec.machine_id)
    assert markers(console) == [marker(driver, spec.hostname, spec.vcpu, spec.ram_mb)] * 2
    assert await driver.console(spec.machine_id) == console


async def test_start_of_a_running_machine_changes_nothing(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    created = await driver.create(spec)
    console = await driver.console(spec.machine_id)

    assert await driver.start(spec.machine_id) == created
    assert await driver.console(spec.machine_id) == console


@pytest.mark.parametrize("operation", ["reboot", "reset"])
async def test_reboot_and_reset_boot_again_and_stay_on(
    driver: Driver, new_spec: SpecFactory, operation: str
) -> None:
    spec = new_spec()
    created = await driver.create(spec)

    info = await getattr(driver, operation)(spec.machine_id)

    assert info == created
    assert len(markers(await driver.console(spec.machine_id))) == 2


@pytest.mark.parametrize("operation", ["reboot", "reset"])
async def test_reboot_and_reset_of_a_stopped_machine_are_refused(
    driver: Driver, new_spec: SpecFactory, operation: str
) -> None:
    spec = new_spec()
    stopped = await create(driver, spec, power=PowerState.OFF)

    await expect_permanent("machine_not_running", getattr(driver, operation)(spec.machine_id))
    assert await driver.inspect(spec.machine_id) == stopped


# resize


async def test_resize_of_a_stopped_machine_shows_at_next_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(vcpu=1, ram_mb=512, disk_gb=5)
    await create(driver, spec, power=PowerState.OFF)

    resized = await driver.resize(spec.machine_id, vcpu=2, ram_mb=1024, disk_gb=10)
    again = await driver.resize(spec.machine_id, vcpu=2, ram_mb=1024, disk_gb=10)

    assert (resized.vcpu, resized.ram_mb, resized.disk_gb) == (2, 1024, 10)
    assert resized.power is PowerState.OFF
    assert again == resized == await driver.inspect(spec.machine_id)
    await driver.start(spec.machine_id)
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, spec.hostname, 2, 1024
    )


async def test_resize_of_a_running_machine_is_refused(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    created = await driver.create(spec)

    await expect_permanent(
        "machine_running", driver.resize(spec.machine_id, vcpu=2, ram_mb=1024, disk_gb=10)
    )
    assert await driver.inspect(spec.machine_id) == created


async def test_resize_never_shrinks_the_disk(driver: Driver, new_spec: SpecFactory) -> None:
    spec = new_spec(disk_gb=10)
    stopped = await create(driver, spec, power=PowerState.OFF)

    await expect_permanent(
        "disk_shrink_refused", driver.resize(spec.machine_id, vcpu=2, ram_mb=1024, disk_gb=5)
    )
    assert await driver.inspect(spec.machine_id) == stopped


# hostname


async def test_set_hostname_of_a_running_machine_reboots_with_it(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)

    info = await driver.set_hostname(spec.machine_id, "renamed")

    assert (info.hostname, info.power) == ("renamed", PowerState.ON)
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, "renamed", spec.vcpu, spec.ram_mb
    )
    await driver.reboot(spec.machine_id)
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, "renamed", spec.vcpu, spec.ram_mb
    )


async def test_set_hostname_of_a_stopped_machine_applies_at_next_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)

    info = await driver.set_hostname(spec.machine_id, "renamed")

    assert (info.hostname, info.power) == ("renamed", PowerState.OFF)
    assert await driver.inspect(spec.machine_id) == info
    await driver.start(spec.machine_id)
    assert markers(await driver.console(spec.machine_id))[-1] == marker(
        driver, "renamed", spec.vcpu, spec.ram_mb
    )


# reinstall


async def test_reinstall_of_a_running_machine_gives_a_new_disk_and_fresh_console(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(image="debian-12")
    created = await driver.create(spec)
    await driver.reboot(spec.machine_id)

    info = await driver.reinstall(spec.machine_id, image="ubuntu-24.04", hostname="fresh")

    assert info.disk_id != created.disk_id
    assert (info.image, info.hostname, info.power) == ("ubuntu-24.04", "fresh", PowerState.ON)
    assert await driver.inspect(spec.machine_id) == info
    console = await driver.console(spec.machine_id)
    assert markers(console) == [marker(driver, "fresh", spec.vcpu, spec.ram_mb)]
    assert spec.hostname not in console


async def test_reinstall_of_a_stopped_machine_keeps_it_off(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    stopped = await create(driver, spec, power=PowerState.OFF)

    info = await driver.reinstall(spec.machine_id, image="alpine-3.20", hostname="fresh")

    assert info.disk_id != stopped.disk_id
    assert (info.image, info.hostname, info.power) == ("alpine-3.20", "fresh", PowerState.OFF)
    assert markers(await driver.console(spec.machine_id)) == []
    await driver.start(spec.machine_id)
    assert markers(await driver.console(spec.machine_id)) == [
        marker(driver, "fresh", spec.vcpu, spec.ram_mb)
    ]


# delete


def files_naming(state_dir: Path, machine_id: str) -> list[Path]:
    """Files kept for a machine (named after it or under its directory), logs excepted (a driver
    may keep its history on purpose)."""
    if not state_dir.exists():
        return []
    return [
        path
        for path in state_dir.rglob("*")
        if path.is_file()
        and machine_id in str(path.relative_to(state_dir))
        and path.suffix not in {".jsonl", ".log"}
    ]


def kept_for(driver: Driver, state_dir: Path, info: MachineInfo) -> list[object]:
    """What the hypervisor keeps of a machine: its files (sim, libvirt); on Proxmox its VM and
    the volumes of its VMID on the node's storages (read from the fake)."""
    if driver.name != "proxmox":
        return list(files_naming(state_dir, info.machine_id))
    pve, vmid = driver.served.pve, int(info.external_id)  # type: ignore[attr-defined]
    volumes = [
        name
        for storage in pve.storages.values()
        for name, volume in storage.get("volumes", {}).items()
        if volume.get("vmid") == vmid
    ]
    return [*volumes, *([vmid] if pve.vm(vmid) is not None else [])]


@pytest.mark.parametrize("power", [PowerState.ON, PowerState.OFF])
async def test_delete_removes_the_machine_and_its_files_and_converges(
    driver: Driver, new_spec: SpecFactory, state_dir: Path, power: PowerState
) -> None:
    spec = new_spec()
    info = await create(driver, spec, power=power)
    assert kept_for(driver, state_dir, info)  # the check below would otherwise be empty

    await driver.delete(spec.machine_id)
    await driver.delete(spec.machine_id)

    assert await driver.inspect(spec.machine_id) is None
    assert kept_for(driver, state_dir, info) == []


async def test_create_after_delete_makes_a_new_machine(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    first = await driver.create(spec)
    await driver.delete(spec.machine_id)

    second = await driver.create(spec)

    assert second.disk_id != first.disk_id
    assert markers(await driver.console(spec.machine_id)) == [
        marker(driver, spec.hostname, spec.vcpu, spec.ram_mb)
    ]


async def test_delete_of_unknown_machine_succeeds(driver: Driver, new_spec: SpecFactory) -> None:
    machine_id = new_spec().machine_id

    await driver.delete(machine_id)

    assert await driver.inspect(machine_id) is None


# missing machine

OPERATIONS_ON_A_MACHINE: dict[str, Callable[[Driver, str], Awaitable[object]]] = {
    "start": lambda d, m: d.start(m),
    "stop": lambda d, m: d.stop(m),
    "shutdown": lambda d, m: d.shutdown(m),
    "reboot": lambda d, m: d.reboot(m),
    "reset": lambda d, m: d.reset(m),
    "resize": lambda d, m: d.resize(m, vcpu=1, ram_mb=512, disk_gb=5),
    "reinstall": lambda d, m: d.reinstall(m, image="debian-12", hostname="h"),
    "set_hostname": lambda d, m: d.set_hostname(m, "h"),
    "set_addresses": lambda d, m: d.set_addresses(m, [V4]),  # type: ignore[attr-defined]
    "console": lambda d, m: d.console(m),
    "vnc_address": lambda d, m: capable(d, CONSOLE).vnc_address(m),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS_ON_A_MACHINE))
async def test_operations_on_a_missing_machine_raise_machine_not_found(
    driver: Driver, new_spec: SpecFactory, operation: str
) -> None:
    machine_id = new_spec().machine_id

    await expect_permanent(
        "machine_not_found", OPERATIONS_ON_A_MACHINE[operation](driver, machine_id)
    )
    assert await driver.inspect(machine_id) is None


# addresses (the ADDRESSES capability): the guest reports what its network configuration says

V4 = GuestAddress("192.0.2.10", 24, "192.0.2.1", "192-0-2-10.ip.example.net", primary=True)
V6 = GuestAddress("2001:db8:0:1::10", 64, "2001:db8:0:1::1", "v6.example.net", primary=True)
EXTRA = GuestAddress("192.0.2.11", 24, "192.0.2.1", "mail.example.net")


def net_lines(console: str) -> list[str]:
    return [line for line in console.splitlines() if line.startswith("NUAGE-NET ")]


async def test_create_gives_the_guest_the_addresses_of_its_spec(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(addresses=(V6, V4))

    info = await driver.create(spec)

    assert set(info.addresses) == {V4, V6}
    assert (info.ipv4, info.ipv6) == ((V4.address,), (V6.address,))
    assert await driver.inspect(spec.machine_id) == info
    console = await driver.console(spec.machine_id)
    assert net_lines(console) == ["NUAGE-NET eth0 192.0.2.10/24 2001:db8:0:1::10/64"]


async def test_a_machine_without_addresses_has_none(driver: Driver, new_spec: SpecFactory) -> None:
    spec = new_spec()
    info = await driver.create(spec)
    assert (info.addresses, info.ipv4, info.ipv6) == ((), (), ())
    assert net_lines(await driver.console(spec.machine_id)) == ["NUAGE-NET eth0"]


async def test_set_addresses_of_a_running_machine_restarts_it_with_them(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(addresses=(V4, V6))
    await driver.create(spec)

    added = await driver.set_addresses(spec.machine_id, [V4, V6, EXTRA])  # type: ignore[attr-defined]

    assert (added.power, added.ipv4) == (PowerState.ON, (V4.address, EXTRA.address))
    console = await driver.console(spec.machine_id)
    assert len(markers(console)) == 2
    assert net_lines(console)[-1] == (
        "NUAGE-NET eth0 192.0.2.10/24 2001:db8:0:1::10/64 192.0.2.11/24"
    )
    removed = await driver.set_addresses(spec.machine_id, [V4, V6])  # type: ignore[attr-defined]
    assert removed.ipv4 == (V4.address,)
    assert await driver.inspect(spec.machine_id) == removed
    console = await driver.console(spec.machine_id)
    assert len(markers(console)) == 3
    assert net_lines(console)[-1] == "NUAGE-NET eth0 192.0.2.10/24 2001:db8:0:1::10/64"


async def test_set_addresses_of_a_stopped_machine_applies_at_next_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(addresses=(V4,))
    await create(driver, spec, power=PowerState.OFF)

    info = await driver.set_addresses(spec.machine_id, [V4, EXTRA])  # type: ignore[attr-defined]

    assert (info.power, info.ipv4) == (PowerState.OFF, (V4.address, EXTRA.address))
    assert len(markers(await driver.console(spec.machine_id))) == 1
    await driver.start(spec.machine_id)
    console = await driver.console(spec.machine_id)
    assert net_lines(console)[-1] == "NUAGE-NET eth0 192.0.2.10/24 192.0.2.11/24"


async def test_set_addresses_converges_and_a_ptr_alone_restarts_nothing(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(addresses=(V4, EXTRA))
    await driver.create(spec)
    renamed = replace(EXTRA, ptr="smtp.example.net")

    again = await driver.set_addresses(spec.machine_id, [V4, EXTRA])  # type: ignore[attr-defined]
    named = await driver.set_addresses(spec.machine_id, [V4, renamed])  # type: ignore[attr-defined]

    assert again.addresses == (V4, EXTRA)
    assert named.addresses == (V4, renamed)
    assert await driver.inspect(spec.machine_id) == named
    assert len(markers(await driver.console(spec.machine_id))) == 1


# console (VNC display, reached through nuage's WebSocket bridge)


async def test_a_console_session_reaches_the_guests_display_through_the_bridge_once(
    driver: Driver, new_spec: SpecFactory, stack: Stack, tenants: TenantFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    address = await capable(driver, CONSOLE).vnc_address(spec.machine_id)
    assert address is not None and address[0] == "127.0.0.1"
    assert await capable(driver, CONSOLE).vnc_address(spec.machine_id) == address  # converges
    tenant = await tenants()

    async with live_api(stack.runtime) as live:
        url, token = await session_to(live, tenant, address)
        wrong = await refusal(url, token[::-1])
        desktop = await rfb_desktop_name(url, token)  # the wrong token did not use it up
        reused = await refusal(url, token)
        late_url, late_token = await session_to(live, tenant, address, expired=True)
        expired = await refusal(late_url, late_token)

    assert spec.machine_id in desktop  # this machine's display, e.g. "QEMU (nuage-<id>)"
    refused = {"detail": wrong.body["detail"], "code": "console_token_refused"}
    assert [wrong, reused, expired] == [Refusal(403, refused)] * 3  # one answer for every reason


async def test_a_stopped_machine_has_no_display(driver: Driver, new_spec: SpecFactory) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)

    assert await capable(driver, CONSOLE).vnc_address(spec.machine_id) is None


async def test_a_display_goes_away_when_its_machine_stops(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    address = await capable(driver, CONSOLE).vnc_address(spec.machine_id)
    assert address is not None
    await driver.stop(spec.machine_id)

    assert not await rfb_answers(address)
