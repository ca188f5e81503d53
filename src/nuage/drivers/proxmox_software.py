"""Software on Proxmox VE: packages installed and removed by the QEMU guest agent.

Proxmox's cloud-init drive holds only its own keys (user, keys, addresses, name): the packages
list of a cloud-config would need a snippet file on the node (`cicustom`), which the API cannot
write. So the driver runs the package commands of `guest_software.package_command` inside the
guest through the agent (`proxmox_agent`), as the libvirt guest's cloud-init runs them.

nuage's `Meta` keeps the wanted packages (`software`) and those last applied to the disk
(`software_applied`). `set_software` records the wanted list; on a running machine it applies
it at once (the packages missing are installed, those dropped are removed) and restarts the
guest, as on the other drivers, so that its services start with it. A stopped machine's change
waits: the next start applies it once the agent answers. A reinstall's fresh disk has nothing
applied, so its start installs the list again.

An agent that does not answer (still booting, or not in the image) is TransientError
`guest_agent_unavailable`: the change stays recorded and a retry (or the next start) applies
it. A package command that fails in the guest (apt cannot find a package) is PermanentError
`guest_command_failed`: the wanted list goes back to what the guest has, so the next start
does not fail on it again.
"""

from collections.abc import Sequence
from dataclasses import replace

from nuage.domain.errors import PermanentError
from nuage.domain.machines import software_set

from .base import MachineInfo
from .guest_software import package_command
from .proxmox_agent import run_in_guest, wait_for_agent
from .proxmox_network import ProxmoxNetwork
from .proxmox_values import Meta
from .proxmox_vms import Vm


class ProxmoxSoftware(ProxmoxNetwork):
    async def set_software(self, machine_id: str, packages: Sequence[str]) -> MachineInfo:
        wanted = list(software_set(packages))

        async def change(vm: Vm) -> None:
            meta = replace(vm.meta, software=wanted)
            if meta.software != vm.meta.software:
                await self.write_meta(vm.vmid, meta)
            if vm.running and meta.software != meta.software_applied:
                await self.apply_software(vm.vmid, meta)
                await self.restart_if_running(vm)

        return await self._act(machine_id, change)

    async def apply_software(self, vmid: int, meta: Meta) -> None:
        """Bring the running guest's packages to `meta.software`, then record them applied."""
        path = self.vm_path(vmid)
        await wait_for_agent(self.client, path)
        applied = set(meta.software_applied)
        removed = sorted(applied - set(meta.software))
        missing = sorted(set(meta.software) - applied)
        try:
            if removed:
                command = package_command("remove", removed)
                await run_in_guest(self.client, path, command, what=f"removing {' '.join(removed)}")
                applied -= set(removed)
            if missing:
                command = package_command("install", missing)
                await run_in_guest(
                    self.client, path, command, what=f"installing {' '.join(missing)}"
                )
        except PermanentError as exc:
            if exc.code == "guest_command_failed":  # the machine keeps what it has
                done = sorted(applied)
                await self.write_meta(vmid, replace(meta, software=done, software_applied=done))
            raise
        await self.write_meta(vmid, replace(meta, software_applied=list(meta.software)))

    async def _start(self, vm: Vm) -> None:
        await super()._start(vm)
        if vm.meta.software != vm.meta.software_applied:
            await self.apply_software(vm.vmid, vm.meta)
