"""Snapshots of an instance's disk (kept in that disk) and the custom images made from them.

Every task here is recorded against the instance the snapshot was taken from (an image: the
instance its snapshot was taken from, which may since have been deleted). The snapshot or image
row is the spec's resource: its status moves with the task (`ResourceEffects`)."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import (
    Effects,
    Params,
    Resource,
    ResourceEffects,
    Route,
    TaskSpec,
)
from nuage.domain.enums import ImageStatus, InstanceStatus, SnapshotStatus, TaskType

_S = InstanceStatus
_SN = SnapshotStatus
_IM = ImageStatus
T = TaskType
_SNAPSHOT = "/instances/{instance_id}/snapshots/{id}"
NAME = Field(min_length=1, max_length=100)


class SnapshotName(Params):
    """The body of `POST …/snapshots` and `POST …/snapshots/{id}/image`."""

    name: str = NAME


class CreateSnapshotParams(Params):
    snapshot_id: UUID  # the row the request made
    name: str = NAME


class SnapshotParams(Params):
    snapshot_id: UUID  # from the path


class CreateImageParams(Params):
    snapshot_id: UUID  # from the path
    image_id: UUID  # the row the request made
    name: str = NAME


class ImageParams(Params):
    image_id: UUID  # from the path


SNAPSHOT_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        T.CREATE_SNAPSHOT,
        "Create Snapshot",
        supported=True,
        params=CreateSnapshotParams,
        resource=Resource.SNAPSHOT,
        capability=Capability.SNAPSHOTS,
        # `on_request`: the row is made `creating`; a retry of a failed create makes it so again.
        resource_effects=ResourceEffects(
            "snapshot_id",
            on_request=_SN.CREATING,
            on_success=_SN.AVAILABLE,
            on_failure=_SN.ERROR,
            on_cancel=_SN.ERROR,
        ),
        route=Route(
            "/instances/{instance_id}/snapshots",
            "create_snapshot",
            "Creates the snapshot (status `creating`) and queues `create_snapshot`.",
            body=True,
            generated=False,
        ),
        generic=False,
    ),
    TaskSpec(
        T.DELETE_SNAPSHOT,
        "Delete Snapshot",
        supported=True,
        params=SnapshotParams,
        resource=Resource.SNAPSHOT,
        capability=Capability.SNAPSHOTS,
        requires=frozenset({_S.RUNNING, _S.STOPPED, _S.ERROR}),
        resource_effects=ResourceEffects(
            "snapshot_id",
            on_request=_SN.DELETING,
            delete_on_success=True,
            on_failure=_SN.ERROR,
            on_cancel=_SN.AVAILABLE,
        ),
        route=Route(
            _SNAPSHOT,
            "delete_snapshot",
            "removes the snapshot (status `deleting`, then gone).",
            method="DELETE",
            renames={"id": "snapshot_id"},
        ),
    ),
    TaskSpec(
        T.RESTORE_SNAPSHOT,
        "Restore Snapshot",
        supported=True,
        params=SnapshotParams,
        resource=Resource.SNAPSHOT,
        capability=Capability.SNAPSHOTS,
        requires=frozenset({_S.STOPPED}),
        effects=Effects(on_success=_S.STOPPED),
        refuse_unmet_when_idle=True,
        resource_effects=ResourceEffects(
            "snapshot_id",
            on_request=_SN.RESTORING,
            on_success=_SN.AVAILABLE,
            on_failure=_SN.AVAILABLE,  # the snapshot itself is as it was
            on_cancel=_SN.AVAILABLE,
        ),
        route=Route(
            f"{_SNAPSHOT}/restore",
            "restore_snapshot",
            "replaces the disk with the snapshot; needs the instance stopped (409 "
            "`instance_not_ready` if it is not and no task of it is queued); "
            "leaves it stopped.",
            renames={"id": "snapshot_id"},
        ),
    ),
)

IMAGE_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        T.CREATE_IMAGE_FROM_SNAPSHOT,
        "Create Image from Snapshot",
        supported=True,
        params=CreateImageParams,
        resource=Resource.IMAGE,
        capability=Capability.IMAGES,
        resource_effects=ResourceEffects(
            "image_id",
            on_request=_IM.CREATING,
            on_success=_IM.AVAILABLE,
            on_failure=_IM.ERROR,
            on_cancel=_IM.ERROR,
        ),
        route=Route(
            f"{_SNAPSHOT}/image",
            "create_image_from_snapshot",
            "Creates a project-private image (status `creating`) and queues its copy.",
            body=True,
            generated=False,
            renames={"id": "snapshot_id"},
        ),
        generic=False,
    ),
    TaskSpec(
        T.DELETE_IMAGE,
        "Delete Image",
        supported=True,
        params=ImageParams,
        resource=Resource.IMAGE,
        capability=Capability.IMAGES,
        # the image outlives the instance it was taken from, whose queue its tasks still use
        requires=frozenset(InstanceStatus),
        # The row stays, inactive: instances made from the image still name it as theirs.
        resource_effects=ResourceEffects(
            "image_id", on_request=_IM.DELETING, on_failure=_IM.ERROR, on_cancel=_IM.AVAILABLE
        ),
        route=Route(
            "/images/{id}",
            "delete_image",
            "removes a custom image; 409 while a pending or running create or reinstall uses it.",
            method="DELETE",
            renames={"id": "image_id"},
            generated=False,
        ),
    ),
)
