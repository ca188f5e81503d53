"""Software on an instance: install and uninstall a package of the software catalogue (the
SOFTWARE capability).

Their routes are written by the software router (`generated=False`): each checks the catalogue
entry against the instance (its image offers it; installed or not) before it queues, so neither
can be asked for through the generic `POST …/tasks`. The parameters are what the task keeps: the
catalogue entry, by id and by its slug (the package name the guest is given)."""

from uuid import UUID

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Params, Resource, Route, TaskSpec
from nuage.domain.enums import TaskType

_SOFTWARE = "/instances/{instance_id}/software"


class SoftwareParams(Params):
    software_id: UUID
    slug: str = Field(max_length=50)


def _software_spec(task_type: TaskType, label: str, route: Route) -> TaskSpec:
    return TaskSpec(
        task_type,
        label,
        supported=True,
        params=SoftwareParams,
        resource=Resource.SOFTWARE,
        capability=Capability.SOFTWARE,
        route=route,
        generic=False,
    )


SOFTWARE_SPECS: tuple[TaskSpec, ...] = (
    _software_spec(
        TaskType.INSTALL_SOFTWARE,
        "Install Software",
        Route(
            _SOFTWARE,
            "install_software",
            "installs a package of the software catalogue that the instance's image offers "
            "(a running guest restarts to apply it).",
            generated=False,
        ),
    ),
    _software_spec(
        TaskType.UNINSTALL_SOFTWARE,
        "Uninstall Software",
        Route(
            _SOFTWARE + "/{software_id}",
            "uninstall_software",
            "removes an installed package (a running guest restarts to apply it).",
            method="DELETE",
            generated=False,
        ),
    ),
)

__all__ = ["SOFTWARE_SPECS", "SoftwareParams"]
