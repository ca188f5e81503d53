"""An instance's VPC: join, leave or move with `update_vpc` (the NETWORKS capability).

Its route is written by the vpcs router (`generated=False`): a join reserves the instance's
private address in the same transaction as the task, so it cannot be asked for through the
generic `POST …/tasks` either. The parameters say where the instance goes (`vpc_id`, null to
leave) with its private address, and where it was (`previous_vpc_id`)."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Params, Resource, Route, TaskSpec
from nuage.domain.enums import TaskType


class UpdateVpcParams(Params):
    vpc_id: UUID | None  # the VPC to be in; None: none
    member_id: UUID | None = None  # the membership reserved for the task (its address)
    address: str | None = Field(default=None, max_length=15)  # the private address in vpc_id
    previous_vpc_id: UUID | None = None  # the VPC the instance was in when it was asked


VPC_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        TaskType.UPDATE_VPC,
        "Update VPC",
        supported=True,
        params=UpdateVpcParams,
        resource=Resource.VPC,
        capability=Capability.NETWORKS,
        route=Route(
            "/instances/{instance_id}/vpc",
            "update_vpc",
            "joins the VPC `vpc_id` with a private address from its block (`null`: leaves; "
            "another VPC: moves); a running guest restarts to take its second interface.",
            generated=False,
        ),
        generic=False,
    ),
)

__all__ = ["VPC_SPECS", "UpdateVpcParams"]
