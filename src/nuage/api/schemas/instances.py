"""Instance shapes: the seed's first fields in order, then ours."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from nuage.api.schemas.catalogue import ImageOut, LocationOut, SizeOut
from nuage.api.schemas.common import Body, documented_as, optional_in_contract
from nuage.api.schemas.vpcs import InstanceVpcOut
from nuage.db.models import Instance, InstanceTask
from nuage.domain.enums import BillingCycle, InstanceStatus, PowerState
from nuage.domain.instances import NAME_MAX


class HardwareOut(BaseModel):
    """The machine's hardware as nuage last saw it: its size's until the machine reports it,
    then what the hypervisor reports (a sync adopts changes made outside nuage)."""

    vcpu: int
    ram_mb: int
    disk_gb: int


class InstanceOut(BaseModel):
    id: UUID
    legacy_id: int
    organization_id: UUID
    project_id: UUID
    name: str
    status: InstanceStatus
    size: SizeOut
    location: LocationOut
    vpc: InstanceVpcOut | None = Field(
        description="The VPC the machine is in, with its private address there; null if none."
    )
    image: ImageOut
    hostname: str
    description: str
    tags: list[str]
    ipv4: list[str]
    ipv6: list[str]
    power_state: PowerState
    billing_cycle: BillingCycle
    created: datetime
    modified: datetime
    hardware: HardwareOut
    software: list[str] = Field(
        description="The software catalogue's slugs the machine was given (`install_software`)."
    )

    @classmethod
    def of(cls, row: Instance) -> "InstanceOut":
        return cls(
            id=row.id,
            legacy_id=row.legacy_id,
            organization_id=row.organization_id,
            project_id=row.project_id,
            name=row.name,
            status=InstanceStatus(row.status),
            size=SizeOut.of(row.size),
            location=LocationOut.of(row.location),
            vpc=None if row.vpc_member is None else InstanceVpcOut.of_member(row.vpc_member),
            image=ImageOut.of(row.image),
            hostname=row.hostname,
            description=row.description,
            tags=list(row.tags or []),
            ipv4=list(row.ipv4 or []),
            ipv6=list(row.ipv6 or []),
            power_state=PowerState(row.power_state),
            billing_cycle=BillingCycle(row.billing_cycle),
            created=row.created,
            modified=row.modified,
            hardware=HardwareOut(vcpu=row.vcpu, ram_mb=row.ram_mb, disk_gb=row.disk_gb),
            software=list(row.software or []),
        )


class InstanceCreated(InstanceOut):
    """The create answer: the instance, and its `create_vps` task (also in `Location`)."""

    model_config = optional_in_contract("task_id")

    task_id: UUID = Field(description="The `create_vps` task that builds this instance.")

    @classmethod
    def of_created(cls, row: Instance, task: InstanceTask) -> "InstanceCreated":
        return cls(**dict(InstanceOut.of(row)), task_id=task.id)


# The image: `image_id`, or else the newest active image of `os_name` (a name or a slug). Said
# with if/then rather than anyOf, which client generators read as two body types.
ONE_IMAGE: JsonDict = {
    "if": {"properties": {"image_id": {"type": "null"}}},
    "then": {
        "required": ["os_name"],
        "properties": {"os_name": {"type": "string", "minLength": 1}},
    },
}
NO_VPC_YET = {
    "type": "null",
    "description": "Not taken at create: leave it out (or null) and join a VPC afterwards "
    "with `POST …/instances/{instance_id}/vpc` (`update_vpc`); an id is "
    "refused with 400.",
}


class InstanceCreate(Body):
    model_config = ConfigDict(json_schema_extra=ONE_IMAGE)

    name: str = Field(min_length=1, max_length=NAME_MAX)
    size_id: UUID
    location_id: UUID
    image_id: UUID | None = None
    os_name: str | None = Field(default=None, max_length=50)
    hostname: str | None = Field(default=None, max_length=253)
    vpc_id: Annotated[UUID | None, documented_as(NO_VPC_YET)] = None
    billing_cycle: BillingCycle = BillingCycle.HOURLY
    description: str = Field(default="", max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=50)


class InstanceUpdate(Body):
    """PUT and PATCH: only name, description and tags; hardware changes go through resize."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=50)
