"""Backups: full copies of an instance's disk in its host's backup store, which outlive the
instance. Their tasks are recorded against the instance they were taken from, deleted or not."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Effects, Params, Resource, ResourceEffects, Route, TaskSpec
from nuage.domain.enums import BackupStatus, InstanceStatus, TaskType

BACKUP_NAME_MAX = 100  # the column's size


class CreateBackupParams(Params):
    backup_id: UUID  # the row the request inserted (`services.backups`)
    name: str = Field(min_length=1, max_length=BACKUP_NAME_MAX)


class BackupParams(Params):
    backup_id: UUID  # from the path's `{id}`


_S = InstanceStatus
_B = BackupStatus
_ON = "/instances/{instance_id}/backups"
_BY_ID = {"id": "backup_id"}

BACKUP_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        TaskType.CREATE_BACKUP,
        "Create Backup",
        supported=True,
        params=CreateBackupParams,
        resource=Resource.BACKUP,
        capability=Capability.BACKUPS,
        requires=frozenset({_S.RUNNING, _S.STOPPED}),
        resource_effects=ResourceEffects(
            id_param="backup_id",
            on_request=_B.CREATING,  # already so when first asked; again when retried
            on_success=_B.AVAILABLE,
            on_failure=_B.ERROR,
            on_cancel=_B.ERROR,
        ),
        route=Route(
            _ON,
            "create_backup",
            "Inserts the backup (status `creating`) and queues `create_backup`.",
            generated=False,
        ),
        generic=False,  # it needs its row, which only its route inserts
    ),
    TaskSpec(
        TaskType.DELETE_BACKUP,
        "Delete Backup",
        supported=True,
        params=BackupParams,
        resource=Resource.BACKUP,
        capability=Capability.BACKUPS,
        requires=frozenset(InstanceStatus),  # a deleted instance's backups are deleted too
        resource_effects=ResourceEffects(
            id_param="backup_id",
            on_request=_B.DELETING,
            on_failure=_B.ERROR,
            on_cancel=_B.AVAILABLE,
            delete_on_success=True,
        ),
        route=Route(
            f"{_ON}/{{id}}",
            "delete_backup",
            "removes the backup from its host's store; answers 202 with the task.",
            method="DELETE",
            renames=_BY_ID,
        ),
        generic=False,  # the route checks that the backup is the instance's
        cancellable=False,
    ),
    TaskSpec(
        TaskType.RESTORE_BACKUP,
        "Restore Backup",
        supported=True,
        params=BackupParams,
        resource=Resource.BACKUP,
        capability=Capability.BACKUPS,
        requires=frozenset({_S.STOPPED}),
        effects=Effects(on_success=_S.STOPPED),
        resource_effects=ResourceEffects(
            id_param="backup_id",
            on_request=_B.RESTORING,
            on_success=_B.AVAILABLE,
            on_failure=_B.AVAILABLE,  # the backup is as it was; the task says what failed
            on_cancel=_B.AVAILABLE,
        ),
        route=Route(
            f"{_ON}/{{id}}/restore",
            "restore_backup",
            "writes the backup over the disk of the stopped instance, which stays stopped.",
            renames=_BY_ID,
        ),
        generic=False,
        refuse_unmet_when_idle=True,
    ),
)
