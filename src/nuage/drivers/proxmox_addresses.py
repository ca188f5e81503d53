"""The addresses `ipconfig0` cannot hold, put on the guest's eth0 by the QEMU guest agent.

Proxmox's cloud-init takes one IPv4 and one IPv6 address per interface (`ipconfig0`: the
primary ones). The others are written by `agent/file-write` to `EXTRA_FILE` (one CIDR a line)
and applied by `agent/exec` of `apply_command`, which deletes the addresses dropped since and
replaces (adds) those the file lists. The file records what was applied; the addresses
themselves live in the guest's running network state, so the driver applies them again after
every start it makes (a reboot from inside the guest loses them until then).

A running machine whose addresses change restarts (cloud-init takes `ipconfig0` at boot, and
the other drivers restart too), then gets its extra addresses; a stopped one gets them at its
next start; a change of PTR names alone touches nothing but the Meta. An agent that does not
answer is TransientError `guest_agent_unavailable` (`proxmox_agent`): the change stays recorded
and the retry, or the next start, applies it.
"""

from collections.abc import Sequence
from dataclasses import replace

from .base import GuestAddress, MachineInfo
from .guest_network import INTERFACE, ordered
from .proxmox_agent import run_in_guest, wait_for_agent
from .proxmox_machines import primary_pair
from .proxmox_software import ProxmoxSoftware
from .proxmox_values import Meta, ipconfig
from .proxmox_vms import Vm

EXTRA_FILE = "/etc/nuage-extra-addresses"
_SCRIPT = (
    f'for a in "$@"; do ip address del "$a" dev {INTERFACE}; done; '
    f"grep -v '^#' {EXTRA_FILE} | "
    f'while read -r a; do ip address replace "$a" dev {INTERFACE}; done'
)
# The file's first line (PVE takes an empty `content` for a missing one).
_HEADER = f"# nuage: the addresses of {INTERFACE} besides cloud-init's, one CIDR a line\n"


def extra_cidrs(addresses: Sequence[GuestAddress]) -> list[str]:
    """The addresses besides the primary IPv4 and IPv6 ones (those `ipconfig0` holds)."""
    primary = primary_pair(list(addresses))
    return [a.cidr for a in ordered(addresses) if a not in primary]


def apply_command(dropped: Sequence[str]) -> list[str]:
    """`sh -c '<script>' apply <CIDRs to delete…>` (arguments, never parsed by the shell)."""
    return ["sh", "-c", _SCRIPT, "apply", *dropped]


class ProxmoxAddresses(ProxmoxSoftware):
    async def set_addresses(
        self, machine_id: str, addresses: Sequence[GuestAddress]
    ) -> MachineInfo:
        async def change(vm: Vm) -> None:
            line = ipconfig(*primary_pair(list(addresses)))
            meta = replace(vm.meta, addresses=list(addresses))
            extras = extra_cidrs(addresses)
            changed = vm.config.get("ipconfig0") != line or extras != extra_cidrs(vm.meta.addresses)
            path = f"{self.vm_path(vm.vmid)}/config"
            await self.client.put(path, ipconfig0=line, description=meta.text())
            if not vm.running:
                return
            if changed:
                await self.restart_if_running(vm)
            if changed or extras != meta.extra_applied:  # a retry applies what failed before
                await self.apply_extra_addresses(vm.vmid, meta)

        return await self._act(machine_id, change)

    async def apply_extra_addresses(self, vmid: int, meta: Meta) -> None:
        """Put the extra addresses on the running guest's eth0 (and take the dropped ones off)."""
        extras = extra_cidrs(meta.addresses)
        if not extras and not meta.extra_applied:
            return
        path = self.vm_path(vmid)
        await wait_for_agent(self.client, path)
        content = _HEADER + "".join(f"{cidr}\n" for cidr in extras)
        await self.client.post(f"{path}/agent/file-write", file=EXTRA_FILE, content=content)
        dropped = sorted(set(meta.extra_applied) - set(extras))
        what = "applying its extra addresses"
        await run_in_guest(self.client, path, apply_command(dropped), what=what)
        await self.write_meta(vmid, replace(meta, extra_applied=extras))

    async def _start(self, vm: Vm) -> None:
        await super()._start(vm)
        now = await self.read(vm.vmid)  # the software's apply may have written the Meta
        if not vm.running or now.meta.extra_applied != extra_cidrs(now.meta.addresses):
            await self.apply_extra_addresses(now.vmid, now.meta)
