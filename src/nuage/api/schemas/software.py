"""The software catalogue, and the body that asks for an install."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body
from nuage.db.models import Software


class SoftwareOut(BaseModel):
    id: UUID
    slug: str = Field(description="The package the guest is given; an instance's `software` "
                      "lists these.")  # fmt: skip
    name: str
    description: str
    image_ids: list[UUID] = Field(description="The public images it can be installed on.")
    is_active: bool
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Software) -> "SoftwareOut":
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            description=row.description,
            image_ids=sorted(image.id for image in row.images),
            is_active=row.is_active,
            created=row.created,
            modified=row.modified,
        )


class SoftwareInstall(Body):
    software_id: UUID
