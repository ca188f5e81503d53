"""An instance's hypervisor configuration: `apply_config` (staff only)."""

from typing import Any

from pydantic import Field

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue.spec import Facts, Params, Route, TaskSpec
from nuage.domain.drivers import config_keys_for
from nuage.domain.enums import TaskType
from nuage.domain.hypervisor_config import check_settings
from nuage.domain.permissions import Permission


class ConfigParams(Params):
    # Free-form keys, checked against the allow-list of the instance's driver (`allowed_keys`).
    config: dict[str, Any] = Field(max_length=32)


def allowed_keys(params: ConfigParams, facts: Facts) -> ConfigParams:
    return ConfigParams(
        config=check_settings(params.config, config_keys_for(facts.instance_driver))
    )


CONFIG_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        TaskType.APPLY_CONFIG,
        "Apply Proxmox Configuration",
        supported=True,
        params=ConfigParams,
        check=allowed_keys,
        capability=Capability.CONFIG,
        permission=Permission.STAFF,
        route=Route(
            "/instances/{instance_id}/config",
            "configure_instance",
            "staff only: sets hypervisor settings of the driver's allow-list (null: default); "
            "a running instance takes them at its next boot.",
            body=True,
        ),
    ),
)
