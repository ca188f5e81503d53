"""An instance's IP addresses: assign, remove, reverse DNS (the ADDRESSES capability).

Their routes are written by the ips router (`generated=False`): each does more than queue (an
assign reserves its address in the same transaction, a remove refuses the primary), so none can
be asked for through the generic `POST …/tasks` either. The parameters are what the task keeps:
the address it acts on, named by id and shown as text."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Params, Resource, Route, TaskSpec
from nuage.domain.enums import IpVersion, TaskType

_IPS = "/instances/{instance_id}/ips"


class AssignIpParams(Params):
    version: IpVersion
    ip_id: UUID  # the address reserved for the task when it was asked for
    address: str = Field(max_length=45)


class RemoveIpParams(Params):
    ip_id: UUID
    address: str = Field(max_length=45)


class ReverseDnsParams(Params):
    ip_id: UUID
    address: str = Field(max_length=45)
    ptr: str = Field(max_length=253)  # checked, or the pool's default name when asked with null


def _ip_spec(task_type: TaskType, label: str, params: type[Params], route: Route) -> TaskSpec:
    return TaskSpec(
        task_type,
        label,
        supported=True,
        params=params,
        resource=Resource.IP_ADDRESS,
        capability=Capability.ADDRESSES,
        route=route,
        generic=False,
    )


IP_SPECS: tuple[TaskSpec, ...] = (
    _ip_spec(
        TaskType.ASSIGN_IP,
        "Assign IP",
        AssignIpParams,
        Route(
            _IPS,
            "assign_ip",
            "reserves a free address of `version` from the location's pools and gives it to "
            "the machine (a running guest restarts to take it).",
            generated=False,
        ),
    ),
    _ip_spec(
        TaskType.REMOVE_IP,
        "Remove IP",
        RemoveIpParams,
        Route(
            _IPS + "/{ip_id}",
            "remove_ip",
            "takes the address off the machine (a running guest restarts); the primary stays.",
            method="DELETE",
            generated=False,
        ),
    ),
    _ip_spec(
        TaskType.UPDATE_REVERSE_DNS,
        "Update Reverse DNS",
        ReverseDnsParams,
        Route(
            _IPS + "/{ip_id}/reverse-dns",
            "update_reverse_dns",
            "sets the address's PTR name (`null`: the pool's default name).",
            method="PUT",
            generated=False,
        ),
    ),
)

__all__ = ["IP_SPECS", "AssignIpParams", "RemoveIpParams", "ReverseDnsParams"]
