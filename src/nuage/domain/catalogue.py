"""The task catalogue: one TaskSpec per seed task type, append-only.

A spec says how a task of that type is asked for (its parameters), when it may run (the instance
states it needs), what it leaves behind (the instance status on success), and how it is retried.
Types whose resources have not landed yet are in the catalogue with `supported=False`: the schema
accepts them and the service refuses them with `task_type_not_supported`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from nuage.domain.capabilities import Capability
from nuage.domain.enums import InstanceStatus, TaskType
from nuage.domain.instances import LIVE_STATUSES

DEFAULT_MAX_RETRIES = 3
MAX_RETRIES_LIMIT = 4_294_967_295  # the seed's documented upper bound


class Params(BaseModel):
    """Parameters of a task; unknown keys are refused so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class AnyParams(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class CreateParams(Params):
    size_id: UUID
    location_id: UUID
    image_id: UUID
    hostname: str


class ResizeParams(Params):
    size_id: UUID


class ReinstallParams(Params):
    image_id: UUID


class HostnameParams(Params):
    hostname: str = Field(min_length=1, max_length=253)


_S = InstanceStatus
_UP = frozenset({_S.RUNNING})
_DOWN = frozenset({_S.STOPPED})
_SETTLED = frozenset({_S.RUNNING, _S.STOPPED})
_ANY_LIVE = LIVE_STATUSES - {_S.DELETING}


@dataclass(frozen=True, slots=True)
class TaskSpec:
    task_type: TaskType
    label: str
    params: type[BaseModel] = NoParams
    supported: bool = False
    requires: frozenset[InstanceStatus] = _SETTLED
    status_while_running: InstanceStatus | None = None
    status_on_success: InstanceStatus | None = None
    status_on_failure: InstanceStatus | None = None
    generic: bool = True  # may be asked for through POST …/tasks
    cancellable: bool = True
    default_max_retries: int = DEFAULT_MAX_RETRIES
    capability: Capability | None = None  # None: the machine lifecycle every driver has


def _spec(task_type: TaskType, label: str, **kw: Any) -> tuple[TaskType, TaskSpec]:
    return task_type, TaskSpec(task_type=task_type, label=label, **kw)


T = TaskType
CATALOGUE: Mapping[TaskType, TaskSpec] = dict(
    [
        _spec(
            T.CREATE_VPS,
            "Create Instance",
            params=CreateParams,
            supported=True,
            requires=frozenset({_S.PENDING, _S.BUILDING, _S.ERROR}),
            status_while_running=_S.BUILDING,
            status_on_success=_S.RUNNING,
            status_on_failure=_S.ERROR,
            generic=False,
        ),
        _spec(
            T.DELETE_VPS,
            "Delete Instance",
            supported=True,
            requires=_ANY_LIVE | {_S.DELETING},
            status_while_running=_S.DELETING,
            status_on_success=_S.DELETED,
            status_on_failure=_S.ERROR,
            cancellable=False,
        ),
        _spec(
            T.START_VPS,
            "Start Instance",
            supported=True,
            requires=_DOWN,
            status_on_success=_S.RUNNING,
            capability=Capability.POWER,
        ),
        _spec(
            T.STOP_VPS,
            "Stop Instance",
            supported=True,
            requires=_UP,
            status_on_success=_S.STOPPED,
            capability=Capability.POWER,
        ),
        _spec(
            T.REBOOT_VPS,
            "Reboot Instance",
            supported=True,
            requires=_UP,
            status_on_success=_S.RUNNING,
            capability=Capability.POWER,
        ),
        _spec(
            T.SHUTDOWN_VPS,
            "Shutdown Instance",
            supported=True,
            requires=_UP,
            status_on_success=_S.STOPPED,
            capability=Capability.POWER,
        ),
        _spec(
            T.RESET_VPS,
            "Reset Instance",
            supported=True,
            requires=_UP,
            status_on_success=_S.RUNNING,
            capability=Capability.POWER,
        ),
        _spec(
            T.RESIZE_VPS,
            "Resize Instance",
            params=ResizeParams,
            supported=True,
            requires=_DOWN,
            capability=Capability.RESIZE,
        ),
        _spec(
            T.CHANGE_HOSTNAME,
            "Change Hostname",
            params=HostnameParams,
            supported=True,
            capability=Capability.HOSTNAME,
        ),
        _spec(
            T.REINSTALL_OS,
            "Reinstall OS",
            params=ReinstallParams,
            supported=True,
            capability=Capability.REINSTALL,
        ),
        _spec(T.ASSIGN_IP, "Assign IP", params=AnyParams, capability=Capability.ADDRESSES),
        _spec(T.REMOVE_IP, "Remove IP", params=AnyParams, capability=Capability.ADDRESSES),
        _spec(
            T.UPDATE_REVERSE_DNS,
            "Update Reverse DNS",
            params=AnyParams,
            capability=Capability.ADDRESSES,
        ),
        _spec(T.UPDATE_VPC, "Update VPC", params=AnyParams, capability=Capability.NETWORKS),
        _spec(
            T.APPLY_FIREWALL,
            "Apply Firewall Rules",
            params=AnyParams,
            capability=Capability.FIREWALL,
        ),
        _spec(
            T.CREATE_SNAPSHOT, "Create Snapshot", params=AnyParams, capability=Capability.SNAPSHOTS
        ),
        _spec(
            T.DELETE_SNAPSHOT, "Delete Snapshot", params=AnyParams, capability=Capability.SNAPSHOTS
        ),
        _spec(
            T.RESTORE_SNAPSHOT,
            "Restore Snapshot",
            params=AnyParams,
            capability=Capability.SNAPSHOTS,
        ),
        _spec(T.CREATE_BACKUP, "Create Backup", params=AnyParams, capability=Capability.BACKUPS),
        _spec(T.DELETE_BACKUP, "Delete Backup", params=AnyParams, capability=Capability.BACKUPS),
        _spec(T.RESTORE_BACKUP, "Restore Backup", params=AnyParams, capability=Capability.BACKUPS),
        _spec(
            T.CREATE_IMAGE_FROM_SNAPSHOT,
            "Create Image from Snapshot",
            params=AnyParams,
            capability=Capability.IMAGES,
        ),
        _spec(T.DELETE_IMAGE, "Delete Image", params=AnyParams, capability=Capability.IMAGES),
        _spec(T.CREATE_VOLUME, "Create Volume", params=AnyParams, capability=Capability.VOLUMES),
        _spec(T.ATTACH_VOLUME, "Attach Volume", params=AnyParams, capability=Capability.VOLUMES),
        _spec(T.DETACH_VOLUME, "Detach Volume", params=AnyParams, capability=Capability.VOLUMES),
        _spec(T.RESIZE_VOLUME, "Resize Volume", params=AnyParams, capability=Capability.VOLUMES),
        _spec(T.DELETE_VOLUME, "Delete Volume", params=AnyParams, capability=Capability.VOLUMES),
        _spec(
            T.INSTALL_SOFTWARE, "Install Software", params=AnyParams, capability=Capability.SOFTWARE
        ),
        _spec(
            T.UNINSTALL_SOFTWARE,
            "Uninstall Software",
            params=AnyParams,
            capability=Capability.SOFTWARE,
        ),
        _spec(T.GET_VNC_URL, "Get VNC URL", params=AnyParams, capability=Capability.CONSOLE),
        _spec(T.SYNC_VPS_STATE, "Sync Instance State", supported=True, requires=_ANY_LIVE),
        _spec(
            T.APPLY_CONFIG,
            "Apply Proxmox Configuration",
            params=AnyParams,
            capability=Capability.CONFIG,
        ),
    ]
)


def spec_for(task_type: TaskType) -> TaskSpec:
    return CATALOGUE[task_type]
