"""The simulated hypervisor's volumes: files of their own, attached by the machines that hold them.

    volumes/<volume_id>.json   the volume: size and the simulator's own id (replaced atomically)

Which machine a volume is attached to is recorded on that machine only (`MachineState.volumes`),
as libvirt records it in the domain's definition: one place, so a crash between two writes cannot
leave a volume attached twice, and deleting a machine detaches its volumes. A running machine
shows each change of its disks on its console as a `NUAGE-DISKS` line, like the test guest.
"""

import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError
from nuage.domain.machines import check_disk_growth
from nuage.domain.volumes import check_volume_size, first_free_device

from .base import VolumeInfo
from .sim_state import AttachedVolume, MachineState, MachineStore, read_json, write_json_atomic


@dataclass
class VolumeState:
    volume_id: str
    size_gb: int
    external_id: str


class VolumeStore:
    """Volumes as one JSON file each under `volumes/`."""

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "volumes"

    def load(self, volume_id: str) -> VolumeState | None:
        data = read_json(self._dir / f"{volume_id}.json")
        return None if data is None else VolumeState(**data)

    def save(self, volume: VolumeState) -> None:
        write_json_atomic(self._dir / f"{volume.volume_id}.json", asdict(volume))

    def remove(self, volume_id: str) -> None:
        (self._dir / f"{volume_id}.json").unlink(missing_ok=True)


class SimVolumes:
    """The volume operations over the simulator's stores; the driver wraps each in its
    operation (faults, latency, log) and saves nothing itself."""

    def __init__(self, state_dir: Path, machines: MachineStore) -> None:
        self.store = VolumeStore(state_dir)
        self._machines = machines

    def create(self, volume_id: str, size_gb: int) -> VolumeInfo:
        existing = self.store.load(volume_id)
        if existing is None:
            check_volume_size(size_gb)
            external_id = f"sim-vol-{uuid.uuid4().hex[:12]}"
            existing = VolumeState(volume_id=volume_id, size_gb=size_gb, external_id=external_id)
            self.store.save(existing)
        return self.info(existing)

    def attach(self, volume_id: str, machine_id: str) -> VolumeInfo:
        volume = self.require(volume_id)
        holder = self.holder(volume_id)
        if holder is not None and holder.machine_id != machine_id:
            message = f"Volume {volume_id} is attached to machine {holder.machine_id}."
            raise PermanentError(message, code="volume_in_use")
        if holder is None:
            machine = self._require_machine(machine_id)
            device = first_free_device({v.device for v in machine.volumes})
            machine.volumes.append(AttachedVolume(device, volume_id, volume.size_gb))
            self._changed_disks(machine)
        return self.info(volume)

    def detach(self, volume_id: str, machine_id: str) -> VolumeInfo:
        volume = self.require(volume_id)
        holder = self.holder(volume_id)
        if holder is not None and holder.machine_id == machine_id:
            holder.volumes = [v for v in holder.volumes if v.volume_id != volume_id]
            self._changed_disks(holder)
        return self.info(volume)

    def resize(self, volume_id: str, size_gb: int) -> VolumeInfo:
        volume = self.require(volume_id)
        check_disk_growth(current_gb=volume.size_gb, target_gb=size_gb)
        volume.size_gb = size_gb
        self.store.save(volume)
        holder = self.holder(volume_id)
        if holder is not None:  # the machine sees the volume's size (again, after a crash)
            for attached in holder.volumes:
                if attached.volume_id == volume_id:
                    attached.size_gb = size_gb
            self._changed_disks(holder)
        return self.info(volume)

    def delete(self, volume_id: str) -> None:
        holder = self.holder(volume_id)
        if holder is not None:
            message = f"Volume {volume_id} is attached to machine {holder.machine_id}."
            raise PermanentError(message, code="volume_in_use")
        self.store.remove(volume_id)

    def inspect(self, volume_id: str) -> VolumeInfo | None:
        volume = self.store.load(volume_id)
        return None if volume is None else self.info(volume)

    def require(self, volume_id: str) -> VolumeState:
        volume = self.store.load(volume_id)
        if volume is None:
            raise PermanentError(f"No volume {volume_id}.", code="volume_not_found")
        return volume

    def holder(self, volume_id: str) -> MachineState | None:
        """The machine the volume is attached to, if any."""
        for machine in self._machines.all():
            if any(v.volume_id == volume_id for v in machine.volumes):
                return machine
        return None

    def info(self, volume: VolumeState) -> VolumeInfo:
        holder = self.holder(volume.volume_id)
        device = None
        if holder is not None:
            device = next(v.device for v in holder.volumes if v.volume_id == volume.volume_id)
        return VolumeInfo(
            volume_id=volume.volume_id,
            size_gb=volume.size_gb,
            external_id=volume.external_id,
            machine_id=None if holder is None else holder.machine_id,
            device=device,
        )

    def _require_machine(self, machine_id: str) -> MachineState:
        machine = self._machines.load(machine_id)
        if machine is None:
            raise PermanentError(f"No machine {machine_id}.", code="machine_not_found")
        return machine

    def _changed_disks(self, machine: MachineState) -> None:
        report_disks(machine)
        self._machines.save(machine)


def report_disks(machine: MachineState) -> None:
    """A running guest notices a disk that came, went or grew, as the test guest does: a new
    `NUAGE-DISKS` line when its disks differ from the last one it printed."""
    shown = [line for line in machine.console if line.startswith("NUAGE-DISKS")]
    if machine.power is PowerState.ON and shown[-1:] != [machine.disks_line()]:
        machine.console.append(machine.disks_line())
