"""Backup shapes."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body
from nuage.db.models import Backup
from nuage.domain.catalogue.backups import BACKUP_NAME_MAX
from nuage.domain.enums import BackupStatus


class BackupOut(BaseModel):
    id: UUID
    instance_id: UUID = Field(description="The instance it was taken from (it may be deleted).")
    name: str
    status: BackupStatus
    size_gb: int = Field(description="The backed-up disk's size: the least it can be restored on.")
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Backup) -> "BackupOut":
        return cls(
            id=row.id,
            instance_id=row.instance_id,
            name=row.name,
            status=BackupStatus(row.status),
            size_gb=row.size_gb,
            created=row.created,
            modified=row.modified,
        )


class BackupCreate(Body):
    name: str = Field(min_length=1, max_length=BACKUP_NAME_MAX)
