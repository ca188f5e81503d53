"""What defines a task type: one `TaskSpec`, read by the API (its route and body), the services
(its references, checks and permission), the engine (its effects) and the docs (a test compares).

A spec is data plus pure functions; the I/O its declarations imply (fetching a referenced size,
resolving the instance a route names) stays in services, driven by the declarations.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from nuage.domain.capabilities import Capability
from nuage.domain.enums import InstanceStatus, TaskType
from nuage.domain.permissions import Permission
from nuage.domain.states import BACKUPS, IMAGES, SNAPSHOTS, VOLUMES, StateMachine
from nuage.domain.text import check_storable_text

DEFAULT_MAX_RETRIES = 3
MAX_RETRIES_LIMIT = 4_294_967_295  # the seed's documented upper bound


class Params(BaseModel):
    """Parameters of a task, and the request body of its route: unknown keys are refused so that
    typos do not pass silently, and text must be storable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        check_storable_text(value)
        return value


class NoParams(Params):
    pass


class AnyParams(BaseModel):
    """The parameters of a type that is not supported yet: anything (it is refused anyway)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Resource(StrEnum):
    """What a task acts on. Every task is recorded against an instance (the seed's `instance_id`);
    for the other resources, the instance they belong to or were last attached to."""

    INSTANCE = "instance"
    SNAPSHOT = "snapshot"
    BACKUP = "backup"
    IMAGE = "image"
    VOLUME = "volume"
    IP_ADDRESS = "ip_address"
    VPC = "vpc"
    FIREWALL = "firewall"
    SOFTWARE = "software"
    CONSOLE = "console"


# The storage resources' own state machines (an instance's is INSTANCES).
RESOURCE_STATES: Mapping[Resource, StateMachine[Any]] = {
    Resource.SNAPSHOT: SNAPSHOTS,
    Resource.BACKUP: BACKUPS,
    Resource.IMAGE: IMAGES,
    Resource.VOLUME: VOLUMES,
}


class Entry(StrEnum):
    """The catalogue entries a parameter may name (the services fetch them, active ones only)."""

    SIZE = "size"
    IMAGE = "image"
    LOCATION = "location"


@dataclass(frozen=True, slots=True)
class SizeFacts:
    id: UUID
    vcpu: int
    ram_mb: int
    disk_gb: int


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """An image or a location."""

    id: UUID
    slug: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What a spec's pure check sees: its instance, and each referenced entry by parameter name."""

    instance_status: InstanceStatus
    instance_size: SizeFacts
    references: Mapping[str, SizeFacts | EntryFacts] = field(default_factory=dict)
    instance_driver: str | None = None  # its host's driver; None while it is not placed

    def size(self, name: str) -> SizeFacts:
        found = self.references[name]
        assert isinstance(found, SizeFacts), name
        return found


# Validates parameters whose references were found, against the facts; returns them normalised
# (e.g. a lowercased hostname) or raises ValidationFailed naming the field.
Check = Callable[[Any, Facts], BaseModel]


class MachineAfterCancel(StrEnum):
    """What the worker does to the machine of a task cancelled after it ran (so that the
    database says what the hypervisor has)."""

    READ_BACK = "read_back"  # record the machine's status and power as the driver reports them
    UNDO = "undo"  # delete what the task made (a create), then record that nothing exists


@dataclass(frozen=True, slots=True)
class Effects:
    """What a task does to its instance's status; None leaves the status as it is. Every status
    named here is a legal instance transition (tests/domain walk the catalogue)."""

    while_running: InstanceStatus | None = None
    on_success: InstanceStatus | None = None
    on_failure: InstanceStatus | None = None
    # A cancelled task (before it ran, or at a safe step): applied only to an instance the task
    # had begun to change or that was never built (see `status_after_cancel`).
    on_cancel: InstanceStatus | None = None
    on_cancel_machine: MachineAfterCancel = MachineAfterCancel.READ_BACK
    # The instance was not in a status the type `requires` when the task was about to run: the
    # task touched nothing, so by default the instance keeps its status.
    on_unmet_precondition: InstanceStatus | None = None

    def status_after_cancel(self, current: InstanceStatus) -> InstanceStatus | None:
        unfinished = {InstanceStatus.PENDING, InstanceStatus.BUILDING, self.while_running}
        return self.on_cancel if current in unfinished else None


AT_REST = "at-rest"  # a ResourceEffects status: the resource's resting status, from its row


@dataclass(frozen=True, slots=True)
class ResourceEffects:
    """What a task does to the status of the storage resource it acts on (a snapshot, backup,
    image or volume: the spec's `resource`), the row whose id is `params[id_param]`. Statuses are
    that resource's (`RESOURCE_STATES`); None leaves the status as it is.

    `on_request` is set in the transaction that queues the task (and again by a retry), refused
    with 409 `invalid_resource_state` when the resource's machine forbids it (a row already in
    that status takes the task: it queues behind the one that put it there). The engine writes
    `on_success` (or removes the row, `delete_on_success`) with the handler's
    `Outcome.resource` values, `on_failure` when the task fails, and `on_cancel` when it is
    cancelled or finds its instance's precondition unmet (it changed nothing), each in the
    task's terminal transaction; a cancel of a task that never ran applies `on_cancel` too.

    `AT_REST` as a status means where the resource rests between tasks, read from its row (a
    volume: `in-use` while attached, else `available`): for a task that may start from either."""

    id_param: str
    on_request: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    on_cancel: str | None = None
    delete_on_success: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """How a type is asked for over HTTP. `path` is under the project's compute path
    (`/v1/organizations/{organization_id}/projects/{project_id}/compute`). Its ids find the
    instance the task is recorded against (`instance_id` is that instance); every other id is a
    parameter, named as in the path or as `renames` says (`{"id": "snapshot_id"}`). A POST route
    takes `Idempotency-Key`; every route takes `?on_conflict=` and answers 202 with the task."""

    path: str
    name: str  # the endpoint function's name: the OpenAPI operation id (e.g. `start_instance`)
    doc: str  # one line for the OpenAPI description
    method: str = "POST"
    body: bool = False  # the parameters model is the request body
    query: bool = False  # the parameters model's fields are query parameters (a DELETE's options)
    generated: bool = True  # False: the resource's router writes it, as it does more than queue
    renames: Mapping[str, str] = field(default_factory=dict)  # path id → parameter name

    @property
    def ids(self) -> list[str]:
        """The path's ids, in order."""
        return re.findall(r"{(\w+)}", self.path)

    def named(self, ids: Mapping[str, UUID]) -> dict[str, UUID]:
        """The path's ids under their parameter names."""
        return {self.renames.get(name, name): value for name, value in ids.items()}


@dataclass(frozen=True, slots=True)
class TaskSpec:
    task_type: TaskType
    label: str  # the seed's name of the type ("Create Instance")
    supported: bool = False  # False: the schema knows it, the service refuses it
    params: type[BaseModel] = NoParams  # the one model: request body and stored parameters
    resource: Resource = Resource.INSTANCE
    permission: Permission = Permission.WRITE
    capability: Capability | None = None  # None: the machine lifecycle every driver has
    references: Mapping[str, Entry] = field(default_factory=dict)  # parameter → entry it names
    check: Check | None = None  # pure check of the parameters against the facts, at enqueue
    requires: frozenset[InstanceStatus] = frozenset(
        {InstanceStatus.RUNNING, InstanceStatus.STOPPED}
    )  # the instance's status when the task starts to run
    effects: Effects = Effects()
    secret_result: frozenset[str] = frozenset()  # result keys shown to the task's creator only
    resource_effects: ResourceEffects | None = None  # a storage resource's status moves
    route: Route | None = None  # None: queued through the generic POST …/tasks only
    generic: bool = True  # may be asked for through POST …/tasks
    cancellable: bool = True  # may be cancelled while running
    # Asked for while no task of the instance is pending or running (nothing queued could change
    # its status first) and its status is not one `requires` names: refused at once with 409
    # `instance_not_ready`, nothing written, instead of queued to fail.
    refuse_unmet_when_idle: bool = False
    default_max_retries: int = DEFAULT_MAX_RETRIES

    def redact(self, result: Any) -> Any:
        """The result without its secret keys (as null), for anyone but the task's creator."""
        if not self.secret_result or not isinstance(result, dict):
            return result
        return {k: None if k in self.secret_result else v for k, v in result.items()}
