"""Snapshot and custom image shapes."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from nuage.db.models import Image, Snapshot
from nuage.domain.enums import ImageStatus, SnapshotStatus


class SnapshotOut(BaseModel):
    id: UUID
    instance_id: UUID
    name: str
    status: SnapshotStatus
    size_gb: int
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Snapshot) -> "SnapshotOut":
        return cls.model_validate(row, from_attributes=True)


class ProjectImageOut(BaseModel):
    """An image a project may create from: the public catalogue's (`project_id` null,
    `visibility` public) and the project's own custom images."""

    id: UUID
    name: str
    slug: str
    os_name: str
    os_version: str
    is_active: bool
    visibility: Literal["public", "private"]
    project_id: UUID | None
    status: ImageStatus
    min_disk_gb: int
    source_snapshot_id: UUID | None
    instance_id: UUID | None  # the instance its snapshot was taken from
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Image) -> "ProjectImageOut":
        visibility = "public" if row.project_id is None else "private"
        data = {name: getattr(row, name) for name in cls.model_fields if name != "visibility"}
        return cls.model_validate({**data, "visibility": visibility})
