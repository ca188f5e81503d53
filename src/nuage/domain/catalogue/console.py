"""The console's task type: a one-time session to the guest's VNC display (domain/console.py)."""

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Resource, Route, TaskSpec
from nuage.domain.enums import InstanceStatus, TaskType

CONSOLE_SPECS: tuple[TaskSpec, ...] = (
    # The session's token opens the guest's console: its creator alone may read it.
    TaskSpec(
        TaskType.GET_VNC_URL,
        "Get VNC URL",
        supported=True,
        resource=Resource.CONSOLE,
        capability=Capability.CONSOLE,
        requires=frozenset({InstanceStatus.RUNNING}),
        secret_result=frozenset({"token"}),
        route=Route(
            "/instances/{instance_id}/console",
            "create_console_session",
            "opens a console session (`id`, `url`, `expires_at`, and a one-time `token` shown to "
            "its creator only) to the running guest's VNC display.",
        ),
    ),
)
