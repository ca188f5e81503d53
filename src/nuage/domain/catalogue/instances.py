"""The instance's own task types: its lifecycle, power, hardware, disk and name."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import (
    Effects,
    Entry,
    Facts,
    MachineAfterCancel,
    NoParams,
    Params,
    Route,
    TaskSpec,
)
from nuage.domain.enums import InstanceStatus, TaskType
from nuage.domain.instances import LIVE_STATUSES, check_resize, validate_hostname


class CreateParams(Params):
    size_id: UUID
    location_id: UUID
    image_id: UUID
    hostname: str


class ResizeParams(Params):
    size_id: UUID


class ReinstallParams(Params):
    image_id: UUID


class DeleteParams(Params):
    delete_volumes: bool = Field(
        default=False,
        description="Delete its attached volumes too (by default they are detached and kept).",
    )


class HostnameParams(Params):
    hostname: str = Field(min_length=1, max_length=253)


def disk_only_grows(params: ResizeParams, facts: Facts) -> ResizeParams:
    target = facts.size("size_id")
    check_resize(current_disk_gb=facts.instance_size.disk_gb, target_disk_gb=target.disk_gb)
    return params


def valid_hostname(params: HostnameParams, _facts: Facts) -> HostnameParams:
    return HostnameParams(hostname=validate_hostname(params.hostname))


_S = InstanceStatus
_UP = frozenset({_S.RUNNING})
_DOWN = frozenset({_S.STOPPED})
_ANY_LIVE = LIVE_STATUSES - {_S.DELETING}
_ON = "/instances/{instance_id}"
T = TaskType


def _power(
    task_type: TaskType,
    label: str,
    verb: str,
    doc: str,
    *,
    requires: frozenset[InstanceStatus],
    leaves: InstanceStatus,
) -> TaskSpec:
    """start, stop, reboot, shutdown, reset: no parameters, the POWER capability."""
    return TaskSpec(
        task_type,
        label,
        supported=True,
        requires=requires,
        effects=Effects(on_success=leaves),
        capability=Capability.POWER,
        route=Route(f"{_ON}/{verb}", f"{verb}_instance", doc),
    )


INSTANCE_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        T.CREATE_VPS,
        "Create Instance",
        supported=True,
        params=CreateParams,
        references={
            "size_id": Entry.SIZE,
            "location_id": Entry.LOCATION,
            "image_id": Entry.IMAGE,
        },
        requires=frozenset({_S.PENDING, _S.BUILDING, _S.ERROR}),
        effects=Effects(
            while_running=_S.BUILDING,
            on_success=_S.RUNNING,
            on_failure=_S.ERROR,
            on_cancel=_S.ERROR,
            on_cancel_machine=MachineAfterCancel.UNDO,
        ),
        route=Route(
            "/instances",
            "create_instance",
            "Creates the instance (status `pending`) and queues `create_vps` (in `Location`).",
            generated=False,
        ),
        generic=False,
    ),
    TaskSpec(
        T.DELETE_VPS,
        "Delete Instance",
        supported=True,
        params=DeleteParams,
        requires=_ANY_LIVE | {_S.DELETING},
        effects=Effects(
            while_running=_S.DELETING,
            on_success=_S.DELETED,
            on_failure=_S.ERROR,
            on_cancel=_S.ERROR,
        ),
        route=Route(
            _ON,
            "delete_instance",
            "answers 202 with the task; `?delete_volumes=true` deletes its volumes too.",
            method="DELETE",
            query=True,
        ),
        cancellable=False,
    ),
    _power(
        T.START_VPS,
        "Start Instance",
        "start",
        "powers the instance on.",
        requires=_DOWN,
        leaves=_S.RUNNING,
    ),
    _power(
        T.STOP_VPS,
        "Stop Instance",
        "stop",
        "powers the instance off at once.",
        requires=_UP,
        leaves=_S.STOPPED,
    ),
    _power(
        T.REBOOT_VPS,
        "Reboot Instance",
        "reboot",
        "asks the guest to restart.",
        requires=_UP,
        leaves=_S.RUNNING,
    ),
    _power(
        T.SHUTDOWN_VPS,
        "Shutdown Instance",
        "shutdown",
        "asks the guest to power off.",
        requires=_UP,
        leaves=_S.STOPPED,
    ),
    _power(
        T.RESET_VPS,
        "Reset Instance",
        "reset",
        "hard reset.",
        requires=_UP,
        leaves=_S.RUNNING,
    ),
    TaskSpec(
        T.RESIZE_VPS,
        "Resize Instance",
        supported=True,
        params=ResizeParams,
        references={"size_id": Entry.SIZE},
        check=disk_only_grows,
        requires=_DOWN,
        capability=Capability.RESIZE,
        route=Route(
            f"{_ON}/resize",
            "resize_instance",
            "needs a stopped instance; disks only grow.",
            body=True,
        ),
    ),
    TaskSpec(
        T.CHANGE_HOSTNAME,
        "Change Hostname",
        supported=True,
        params=HostnameParams,
        check=valid_hostname,
        capability=Capability.HOSTNAME,
        route=Route(
            f"{_ON}/hostname", "hostname_instance", "sets the guest's hostname.", body=True
        ),
    ),
    TaskSpec(
        T.REINSTALL_OS,
        "Reinstall OS",
        supported=True,
        params=ReinstallParams,
        references={"image_id": Entry.IMAGE},
        capability=Capability.REINSTALL,
        route=Route(
            f"{_ON}/reinstall", "reinstall_instance", "a fresh disk; power state kept.", body=True
        ),
    ),
    TaskSpec(
        T.SYNC_VPS_STATE,
        "Sync Instance State",
        supported=True,
        requires=_ANY_LIVE,
        route=Route(f"{_ON}/sync", "sync_instance", "reads the machine's real state."),
    ),
)

__all__ = [
    "INSTANCE_SPECS",
    "CreateParams",
    "HostnameParams",
    "NoParams",
    "ReinstallParams",
    "ResizeParams",
]
