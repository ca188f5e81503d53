"""The simulated guest: how a machine's state and console change when it boots, powers off,
restarts or is reconfigured. Pure functions on `MachineState`; the driver (`sim`) loads and
saves the state around them. The console lines are the test guest's (scripts/README.md)."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError
from nuage.domain.hypervisor_config import merged
from nuage.domain.machines import check_disk_growth, check_hostname, check_sizes, software_set

from .base import GuestAddress, PrivateNetwork
from .guest_network import guest_lines, network_line
from .guest_software import software_line
from .sim_state import MachineState

POWEROFF_LINE = "NUAGE-POWEROFF"


def boot(m: MachineState) -> None:
    disk = "used" if m.boots else "fresh"
    m.boots += 1
    m.console += [
        f"[    0.000000] Linux version 6.1.0-nuage-sim, image {m.image}",
        f"[    0.000000] smpboot: {m.vcpu} CPUs, Memory: {m.ram_mb * 1024}K",
        f"[    1.204719] EXT4-fs (vda1): mounted disk {m.disk_id} ({m.disk_gb} GiB)",
        f"[    2.318842] systemd[1]: Hostname set to <{m.hostname}>.",
        *guest_lines(m.guest_addresses, m.vpc),
        software_line(m.software),
        m.disks_line(),
        f"NUAGE-BOOTED hostname={m.hostname} vcpus={m.vcpu} mem_mb={m.ram_mb}"
        f" disk={disk} boots={m.boots}",
    ]


def power_on(m: MachineState) -> None:
    if m.power is not PowerState.ON:
        m.power = PowerState.ON
        boot(m)


def power_off(m: MachineState, *, graceful: bool) -> None:
    if m.power is not PowerState.OFF:
        m.power, m.vnc_port = PowerState.OFF, None
        if graceful:
            m.console.append("[  OK  ] Reached target System Power Off.")
        m.console.append(POWEROFF_LINE)


def restart(m: MachineState, line: str) -> None:
    if m.power is not PowerState.ON:
        raise PermanentError(f"Machine {m.machine_id} is not running.", code="machine_not_running")
    m.console.append(line)
    boot(m)


def resize(m: MachineState, vcpu: int, ram_mb: int, disk_gb: int) -> None:
    if m.power is not PowerState.OFF:
        raise PermanentError(f"Machine {m.machine_id} must be stopped.", code="machine_running")
    check_disk_growth(current_gb=m.disk_gb, target_gb=disk_gb)
    check_sizes(vcpu=vcpu, ram_mb=ram_mb, disk_gb=disk_gb)
    m.vcpu, m.ram_mb, m.disk_gb = vcpu, ram_mb, disk_gb


def configure(m: MachineState, changes: Mapping[str, Any]) -> None:
    m.config = merged(m.config, changes)  # the definition: the guest sees it at its next boot


def reinstall(m: MachineState, image: str, hostname: str, boots: int) -> None:
    check_hostname(hostname)
    m.image, m.hostname, m.disk_id, m.console = image, hostname, uuid.uuid4().hex, []
    m.boots = boots  # a fresh disk: its image's contents
    if m.power is PowerState.ON:
        boot(m)


def rename(m: MachineState, hostname: str) -> None:
    # Unchanged hostname: nothing to apply, so a repeated call does not reboot the guest again.
    check_hostname(hostname)
    if hostname != m.hostname:
        m.hostname = hostname
        if m.power is PowerState.ON:
            restart(m, "reboot: Restarting to apply the new hostname")


def readdress(m: MachineState, addresses: Sequence[GuestAddress]) -> None:
    # Only a change of the guest's network configuration restarts it; PTR names live outside.
    before = network_line(m.guest_addresses)
    m.addresses = [asdict(a) for a in addresses]
    if network_line(m.guest_addresses) != before and m.power is PowerState.ON:
        restart(m, "reboot: Restarting to apply the new network configuration")


def set_software(m: MachineState, packages: Sequence[str]) -> None:
    # Unchanged software: nothing to apply, so a repeated call does not restart the guest again.
    wanted = list(software_set(packages))
    if wanted != m.software:
        m.software = wanted
        if m.power is PowerState.ON:
            restart(m, "reboot: Restarting to apply the new software")


def join_network(m: MachineState, network: PrivateNetwork | None) -> None:
    # Only a change of VPC restarts the guest (it takes its second interface at boot).
    if network != m.vpc:
        m.private_network = None if network is None else asdict(network)
        if m.power is PowerState.ON:
            restart(m, "reboot: Restarting to apply the new network configuration")
