"""Volume task types: a volume is created and attached to an instance, detached, attached to
another instance of the same host, grown, and deleted once detached.

Each task is recorded against the instance the volume is attached to or being attached to, else
the one it was last attached to (`volumes.last_instance_id`), which may be deleted since: the
types that can act on a detached volume accept any instance status. The create, attach and
resize routes are written by the volumes router (they insert a row, check a second instance or
the quota); detach and delete are generated.
"""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import AT_REST, Params, Resource, ResourceEffects, Route, TaskSpec
from nuage.domain.enums import InstanceStatus, TaskType, VolumeStatus
from nuage.domain.instances import NAME_MAX

MAX_VOLUME_GB = 16_384  # one volume; a project's total is its quota (settings)
VOLUME_QUOTA_TYPES = frozenset({TaskType.CREATE_VOLUME, TaskType.RESIZE_VOLUME})  # count GiB
_S = InstanceStatus
_V = VolumeStatus
T = TaskType
# A machine that is there: volumes are plugged into and out of running and stopped machines.
_PLACED = frozenset({_S.RUNNING, _S.STOPPED})
# A detached volume's tasks run whatever became of the instance it was last attached to.
_ANY = frozenset(InstanceStatus)


class CreateVolumeParams(Params):
    volume_id: UUID  # the row the request inserted
    name: str = Field(min_length=1, max_length=NAME_MAX)
    size_gb: int = Field(ge=1, le=MAX_VOLUME_GB)


class VolumeParams(Params):
    volume_id: UUID


class AttachVolumeParams(Params):
    volume_id: UUID
    instance_id: UUID  # the instance it is attached to (the task's own instance)


class ResizeVolumeParams(Params):
    volume_id: UUID
    size_gb: int = Field(ge=1, le=MAX_VOLUME_GB)


def _volume(task_type: TaskType, label: str, params: type[Params], **fields: object) -> TaskSpec:
    return TaskSpec(
        task_type,
        label,
        supported=True,
        params=params,
        resource=Resource.VOLUME,
        capability=Capability.VOLUMES,
        generic=False,  # a volume's task needs its row and the instance its row names
        **fields,  # type: ignore[arg-type]
    )


VOLUME_SPECS: tuple[TaskSpec, ...] = (
    _volume(
        T.CREATE_VOLUME,
        "Create Volume",
        CreateVolumeParams,
        requires=_PLACED,
        resource_effects=ResourceEffects(
            "volume_id",
            on_request=_V.CREATING,
            on_success=_V.IN_USE,
            on_failure=_V.ERROR,
            on_cancel=_V.ERROR,
        ),
        route=Route(
            "/instances/{instance_id}/volumes",
            "create_volume",
            "creates a volume on the instance's host and attaches it (status `creating`).",
            body=True,
            generated=False,
        ),
    ),
    _volume(
        T.ATTACH_VOLUME,
        "Attach Volume",
        AttachVolumeParams,
        requires=_PLACED,
        resource_effects=ResourceEffects(
            "volume_id",
            on_request=_V.ATTACHING,
            on_success=_V.IN_USE,
            on_failure=_V.ERROR,
            on_cancel=AT_REST,
        ),
        route=Route(
            "/volumes/{volume_id}/attach",
            "attach_volume",
            "attaches a detached volume to an instance of its host (`{instance_id}`).",
            body=True,
            generated=False,
        ),
    ),
    _volume(
        T.DETACH_VOLUME,
        "Detach Volume",
        VolumeParams,
        requires=_PLACED | {_S.ERROR},
        resource_effects=ResourceEffects(
            "volume_id",
            on_request=_V.DETACHING,
            on_success=_V.AVAILABLE,
            on_failure=_V.ERROR,
            on_cancel=AT_REST,
        ),
        route=Route(
            "/volumes/{volume_id}/detach",
            "detach_volume",
            "unplugs the volume from its instance; it keeps its data.",
        ),
    ),
    _volume(
        T.RESIZE_VOLUME,
        "Resize Volume",
        ResizeVolumeParams,
        requires=_ANY,
        resource_effects=ResourceEffects(
            "volume_id",
            on_request=_V.RESIZING,
            on_success=AT_REST,
            on_failure=AT_REST,
            on_cancel=AT_REST,
        ),
        route=Route(
            "/volumes/{volume_id}/resize",
            "resize_volume",
            "grows the volume (live while its instance runs); it never shrinks.",
            body=True,
            generated=False,
        ),
    ),
    _volume(
        T.DELETE_VOLUME,
        "Delete Volume",
        VolumeParams,
        requires=_ANY,
        resource_effects=ResourceEffects(
            "volume_id",
            on_request=_V.DELETING,
            on_failure=_V.ERROR,
            on_cancel=_V.AVAILABLE,
            delete_on_success=True,
        ),
        route=Route(
            "/volumes/{volume_id}",
            "delete_volume",
            "removes a detached volume and its data (an attached one: 409).",
            method="DELETE",
        ),
    ),
)
