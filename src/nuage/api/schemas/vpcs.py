"""VPC shapes: the VPC (the seed's `id`, `name`, `cidr_block`, `location`, then ours), the
instance's place in one, and the bodies of the VPC routes."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.catalogue import LocationOut
from nuage.api.schemas.common import Body
from nuage.db.models import Vpc, VpcMember
from nuage.domain.vpcs import MAX_PREFIX, MIN_PREFIX, NAME_MAX

_BLOCK = (
    f"A private IPv4 network (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), host bits "
    f"zero, /{MIN_PREFIX} to /{MAX_PREFIX}; no other VPC of the project may overlap it."
)


class VpcOut(BaseModel):
    id: UUID
    name: str
    cidr_block: str
    location: LocationOut
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Vpc) -> "VpcOut":
        return cls(
            id=row.id,
            name=row.name,
            cidr_block=row.cidr_block,
            location=LocationOut.of(row.location),
            created=row.created,
            modified=row.modified,
        )


class InstanceVpcOut(VpcOut):
    """An instance's VPC, with the instance's private address in it (on its `eth1`)."""

    private_address: str = Field(description="The instance's address in the VPC's block.")

    @classmethod
    def of_member(cls, member: VpcMember) -> "InstanceVpcOut":
        return cls(**dict(VpcOut.of(member.vpc)), private_address=member.address)


class VpcWrite(Body):
    """POST and PUT: the whole record (PUT changes the block or location only without members)."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    cidr_block: str = Field(min_length=1, max_length=18, description=_BLOCK)
    location_id: UUID


class VpcChoice(Body):
    vpc_id: UUID | None = Field(
        description="The VPC to be in (of the instance's location); null leaves the current one."
    )
