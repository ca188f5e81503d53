"""The seed's task types whose resources have not landed yet: known to the schema, refused by the
service with `task_type_not_supported`. The storage and the network issues move them into their
own modules (`storage.py`, `network.py`) as they make them real: a spec, a handler, a driver
capability method and a row of docs/tasks.md each."""

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import AnyParams, Resource, TaskSpec
from nuage.domain.enums import TaskType

T = TaskType
C = Capability
R = Resource


def _planned(
    task_type: TaskType, label: str, resource: Resource, capability: Capability
) -> TaskSpec:
    return TaskSpec(task_type, label, params=AnyParams, resource=resource, capability=capability)


PLANNED_SPECS: tuple[TaskSpec, ...] = (_planned(T.UPDATE_VPC, "Update VPC", R.VPC, C.NETWORKS),)
