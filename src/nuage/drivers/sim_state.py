"""On-disk state of the simulated hypervisor: machines, pending faults and the operation log.

Layout under the state directory, one set of files per machine and no shared file, so that
several processes may share the directory as long as each touches distinct machines:

    machines/<machine_id>.json   the machine (replaced atomically: temp file + os.replace)
    volumes/<volume_id>.json     a volume (see `sim_volumes`)
    faults/<machine_id>.json     injected faults still to fire (replaced atomically)
    ops/<machine_id>.jsonl       one JSON line per operation (O_APPEND, one write per line)

The I/O here is small, local and synchronous; callers run it without awaiting between a load and
its save, so an operation's change is atomic with respect to the event loop.
"""

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError

from .base import AttachedDisk, GuestAddress, MachineInfo, PrivateNetwork

FaultKind = Literal["transient", "permanent"]

# The operations that can fail by injection: every Driver method but the reads and close().
OPERATIONS = frozenset(
    {"create", "delete", "start", "stop", "shutdown", "reboot", "reset", "resize", "reinstall"}
    | {"set_hostname"}
    | {"create_volume", "attach_volume", "detach_volume", "resize_volume", "delete_volume"}
    | {"create_backup", "delete_backup", "restore_backup"}
    | {"set_addresses"}
    | {"create_snapshot", "delete_snapshot", "restore_snapshot", "create_image", "delete_image"}
    | {"apply_config"}
    | {"apply_firewall"}
    | {"set_software"}
    | {"set_private_network"}
)
FAIL_TAG_PREFIX = "sim:fail="


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def write_json_atomic(path: Path, data: object) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


@dataclass
class AttachedVolume:
    device: str  # vdc, vdd, …
    volume_id: str
    size_gb: int


@dataclass
class MachineState:
    machine_id: str
    name: str
    power: PowerState
    vcpu: int
    ram_mb: int
    disk_gb: int
    hostname: str
    image: str
    disk_id: str
    external_id: str = ""  # the simulator's own id, made at create
    tags: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    # The main disk's contents, as the test guest keeps them on its disk: a boot counter. A copy
    # of the disk (snapshot, backup, image) copies it; a reinstall's fresh disk starts at 0.
    boots: int = 0
    # Hypervisor settings set by apply_config (domain.hypervisor_config), defaults left out.
    config: dict[str, Any] = field(default_factory=dict)
    # The firewall's rules in evaluation order (domain.firewall.FirewallRule as JSON); none: off.
    firewall: list[dict[str, Any]] = field(default_factory=list)
    # Attached volumes: the one record of which machine holds a volume (`sim_volumes`).
    volumes: list[AttachedVolume] = field(default_factory=list)

    @property
    def devices(self) -> dict[str, int]:
        """Block devices beside the main disk (`vda`): attached volumes, device name -> GiB."""
        return {v.device: v.size_gb for v in self.volumes}

    addresses: list[dict[str, Any]] = field(default_factory=list)  # GuestAddress fields

    @property
    def guest_addresses(self) -> tuple[GuestAddress, ...]:
        return tuple(GuestAddress(**a) for a in self.addresses)

    vnc_port: int | None = None  # its display's port while it runs and a console was asked for
    software: list[str] = field(default_factory=list)  # set_software's packages, sorted
    # Its VPC (PrivateNetwork fields), on `eth1`; the host's VPC networks are its machines'.
    private_network: dict[str, Any] | None = None

    @property
    def vpc(self) -> PrivateNetwork | None:
        return None if self.private_network is None else PrivateNetwork(**self.private_network)

    def disks_line(self) -> str:
        """What the test guest prints about its disks (`NUAGE-DISKS vda=10G vdc=5G`)."""
        disks = {"vda": self.disk_gb, **self.devices}
        return " ".join(["NUAGE-DISKS", *(f"{name}={gb}G" for name, gb in sorted(disks.items()))])

    def info(self) -> MachineInfo:
        return MachineInfo(
            machine_id=self.machine_id,
            power=self.power,
            vcpu=self.vcpu,
            ram_mb=self.ram_mb,
            disk_gb=self.disk_gb,
            hostname=self.hostname,
            image=self.image,
            disk_id=self.disk_id,
            external_id=self.external_id or f"sim-{self.machine_id}",  # saved before ids existed
            addresses=self.guest_addresses,
            software=tuple(self.software),
            disks=tuple(
                AttachedDisk(v.device, v.volume_id, v.volume_id)
                for v in sorted(self.volumes, key=lambda v: v.device)
            ),
            private_network=self.vpc,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MachineState":
        volumes = [AttachedVolume(**v) for v in data.get("volumes", [])]
        # Machines saved before nuage handed out addresses kept invented ones: dropped.
        known = {k: v for k, v in data.items() if k not in ("ipv4", "ipv6")}
        return cls(**{**known, "power": PowerState(data["power"]), "volumes": volumes})


class MachineStore:
    """Machines as one JSON file each under `machines/`."""

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "machines"

    def path(self, machine_id: str) -> Path:
        return self._dir / f"{machine_id}.json"

    def load(self, machine_id: str) -> MachineState | None:
        data = read_json(self.path(machine_id))
        return None if data is None else MachineState.from_dict(data)

    def save(self, machine: MachineState) -> None:
        write_json_atomic(self.path(machine.machine_id), asdict(machine))

    def remove(self, machine_id: str) -> None:
        self.path(machine_id).unlink(missing_ok=True)

    def all(self) -> Iterator[MachineState]:
        """Every machine; one deleted meanwhile is left out."""
        for path in sorted(self._dir.glob("*.json")):
            machine = self.load(path.stem)
            if machine is not None:
                yield machine


@dataclass
class Fault:
    operation: str  # a Driver method name, or "*" for any operation that can fail
    kind: FaultKind
    remaining: int


def make_fault(operation: str, kind: str, times: int) -> Fault:
    """A validated fault; ValueError names what is wrong."""
    if operation != "*" and operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {sorted(OPERATIONS)}")
    if kind not in ("transient", "permanent"):
        raise ValueError(f"unknown fault kind {kind!r}; expected 'transient' or 'permanent'")
    if times < 1:
        raise ValueError(f"times must be at least 1, not {times}")
    return Fault(operation=operation, kind=cast(FaultKind, kind), remaining=times)


def parse_fail_tags(tags: Sequence[str]) -> list[Fault]:
    """The faults declared by `sim:fail=...` tags; PermanentError(invalid_spec) on a bad one."""
    faults = []
    for tag in tags:
        if not tag.startswith(FAIL_TAG_PREFIX):
            continue
        try:
            operation, kind, *rest = tag.removeprefix(FAIL_TAG_PREFIX).split(":")
            if len(rest) > 1:
                raise ValueError("too many fields")
            faults.append(make_fault(operation, kind, int(rest[0]) if rest else 1))
        except ValueError as exc:
            raise PermanentError(f"Bad fault tag {tag!r}: {exc}.", code="invalid_spec") from exc
    return faults


class FaultStore:
    """Faults waiting to fire, one JSON file per machine under `faults/`.

    Read-modify-write without a lock: injecting a fault while another process consumes faults of
    the same machine may lose one of the two updates, so inject before starting the operations
    it targets.
    """

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "faults"

    def _path(self, machine_id: str) -> Path:
        return self._dir / f"{machine_id}.json"

    def _load(self, machine_id: str) -> tuple[list[Fault], bool]:
        data = read_json(self._path(machine_id)) or {}
        faults = [Fault(**f) for f in data.get("faults", [])]
        return faults, bool(data.get("tag_faults_registered", False))

    def _save(self, machine_id: str, faults: list[Fault], tags_registered: bool) -> None:
        data = {"faults": [asdict(f) for f in faults], "tag_faults_registered": tags_registered}
        write_json_atomic(self._path(machine_id), data)

    def add(self, machine_id: str, fault: Fault) -> None:
        faults, tags_registered = self._load(machine_id)
        self._save(machine_id, [*faults, fault], tags_registered)

    def register_tag_faults(self, machine_id: str, tag_faults: list[Fault]) -> None:
        """Add faults declared by a spec's tags, once per machine however often create is called."""
        faults, tags_registered = self._load(machine_id)
        if tag_faults and not tags_registered:
            self._save(machine_id, faults + tag_faults, tags_registered=True)

    def take(self, machine_id: str, operation: str) -> FaultKind | None:
        """Consume one firing of the first fault matching `operation`; its kind, or None."""
        faults, tags_registered = self._load(machine_id)
        for fault in faults:
            if fault.remaining > 0 and fault.operation in (operation, "*"):
                fault.remaining -= 1
                left = [f for f in faults if f.remaining > 0]
                self._save(machine_id, left, tags_registered)
                return fault.kind
        return None

    def remove(self, machine_id: str) -> None:
        self._path(machine_id).unlink(missing_ok=True)


class OpLog:
    """The operations run on each machine, in order, as JSON lines under `ops/`."""

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "ops"

    def _path(self, machine_id: str) -> Path:
        return self._dir / f"{machine_id}.jsonl"

    def append(self, entry: dict[str, str]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry) + "\n").encode()
        # One write(2) on an O_APPEND descriptor: lines from several processes never interleave.
        fd = os.open(self._path(entry["machine_id"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read(self, machine_id: str) -> list[dict[str, str]]:
        try:
            text = self._path(machine_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [cast(dict[str, str], json.loads(line)) for line in text.splitlines() if line]
