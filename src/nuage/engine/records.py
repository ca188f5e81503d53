"""What a handler sees of its task: plain frozen records mapped once from rows."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from nuage.db.models import Base, Host
from nuage.domain.enums import InstanceStatus, PowerState, TaskType
from nuage.drivers.base import MachineInfo
from nuage.engine.addresses import AddressWrite
from nuage.engine.vpc_members import MembershipWrite


@dataclass(frozen=True, slots=True)
class HostRecord:
    id: UUID
    name: str
    driver: str
    uri: str
    config: dict[str, Any] = field(default_factory=dict)
    secret_ref: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    id: UUID
    name: str
    location_id: UUID
    host: HostRecord | None
    external_id: str | None
    hostname: str
    status: InstanceStatus
    vcpu: int  # the machine's hardware as the database knows it (`Instance.vcpu`)
    ram_mb: int
    disk_gb: int
    image_slug: str
    tags: tuple[str, ...]
    power_state: PowerState = PowerState.UNKNOWN
    software: tuple[str, ...] = ()  # the packages the database says the machine was given
    project_id: UUID | None = None
    # False: the claim found no volume attached to it, and none can be until the task ends
    # (`TaskContext.attached_volumes` then reads none).
    has_volumes: bool = True


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: UUID
    task_type: TaskType
    parameters: dict[str, Any]
    retry_count: int
    max_retries: int
    attempt: int
    instance: InstanceRecord


@dataclass(frozen=True, slots=True)
class InstanceUpdate:
    """What a finished task changes on its instance; None leaves a field as it is.
    `machine_gone` clears what named the machine at its hypervisor (its external id, which a
    hypervisor may hand to another machine later). `machine_gone` and `disk_replaced` forget the
    instance's snapshots, which lived in its disk."""

    status: InstanceStatus | None = None
    power_state: PowerState | None = None
    hostname: str | None = None
    size_id: UUID | None = None
    image_id: UUID | None = None
    ipv4: tuple[str, ...] | None = None
    ipv6: tuple[str, ...] | None = None
    external_id: str | None = None
    machine_vcpu: int | None = None
    machine_ram_mb: int | None = None
    machine_disk_gb: int | None = None
    firewall_rules: tuple[dict[str, Any], ...] | None = None  # as the machine has them
    software: tuple[str, ...] | None = None
    machine_gone: bool = False
    disk_replaced: bool = False

    @classmethod
    def hardware(cls, info: MachineInfo, **changes: Any) -> "InstanceUpdate":
        """Power, hypervisor id, hardware and software as the machine reports them, and
        `changes`."""
        return cls(
            power_state=info.power,
            external_id=info.external_id,
            machine_vcpu=info.vcpu,
            machine_ram_mb=info.ram_mb,
            machine_disk_gb=info.disk_gb,
            software=info.software,
            **changes,
        )

    @classmethod
    def as_found(cls, info: MachineInfo | None) -> "InstanceUpdate":
        """Status, power and hardware as the hypervisor reports the machine; no machine:
        `error`, unknown."""
        if info is None:
            return cls(
                status=InstanceStatus.ERROR, power_state=PowerState.UNKNOWN, machine_gone=True
            )
        status = InstanceStatus.RUNNING if info.power is PowerState.ON else InstanceStatus.STOPPED
        return cls.hardware(info, status=status)

    @property
    def disk_gone(self) -> bool:
        return self.machine_gone or self.disk_replaced

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if name == "machine_gone":
                if value:
                    out["external_id"] = None
            elif name == "disk_replaced":
                continue
            elif value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class Outcome:
    result: dict[str, Any]
    instance: InstanceUpdate
    # Values for the row of the storage resource the task acts on (its spec's
    # `resource_effects`), e.g. {"size_gb": 3}; a "status" here overrides `on_success`.
    resource: dict[str, Any] = field(default_factory=dict)
    addresses: tuple[AddressWrite, ...] = ()  # the instance's addresses it changed
    vpc: MembershipWrite | None = None  # the instance's VPC membership it changed
    # New rows the task made (e.g. a console session), inserted with its completion: in the same
    # transaction, and only if the worker still held the task's lease.
    rows: tuple[Base, ...] = ()


def host_record(row: Host) -> HostRecord:
    return HostRecord(
        id=row.id,
        name=row.name,
        driver=row.driver,
        uri=row.uri,
        config=dict(row.config or {}),
        secret_ref=row.secret_ref,
    )
