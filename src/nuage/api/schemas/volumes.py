"""Volume shapes: the volume as the API shows it, and the bodies of its actions."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.catalogue import LocationOut
from nuage.api.schemas.common import Body
from nuage.db.models import Volume
from nuage.domain.catalogue.volumes import MAX_VOLUME_GB
from nuage.domain.enums import VolumeStatus
from nuage.domain.instances import NAME_MAX


class VolumeOut(BaseModel):
    id: UUID
    name: str
    size_gb: int
    status: VolumeStatus
    instance_id: UUID | None = Field(description="The instance it is attached to; null if none.")
    location: LocationOut
    device: str | None = Field(description="Its device on that instance (`vdc`, `vdd`, …).")
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Volume) -> "VolumeOut":
        return cls(
            id=row.id,
            name=row.name,
            size_gb=row.size_gb,
            status=VolumeStatus(row.status),
            instance_id=row.instance_id,
            location=LocationOut.of(row.location),
            device=row.device,
            created=row.created,
            modified=row.modified,
        )


class VolumeCreate(Body):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    size_gb: int = Field(ge=1, le=MAX_VOLUME_GB, description="GiB.")


class VolumeAttach(Body):
    instance_id: UUID = Field(description="An instance of the volume's host and location.")


class VolumeResize(Body):
    size_gb: int = Field(ge=1, le=MAX_VOLUME_GB, description="GiB, at least its current size.")
