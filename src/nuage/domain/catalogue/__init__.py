"""The task catalogue: one `TaskSpec` per seed task type, append-only — the registry every layer
reads (see `spec.py` for what a spec says, docs/dev/adding-a-task-type.md for how to add one).

All 33 are supported. A spec marked `supported=False` would be known to the schema and refused by
the service with `task_type_not_supported`.
"""

from collections.abc import Mapping

from nuage.domain.catalogue.backups import BACKUP_SPECS, CreateBackupParams
from nuage.domain.catalogue.config import CONFIG_SPECS
from nuage.domain.catalogue.console import CONSOLE_SPECS
from nuage.domain.catalogue.firewall import FIREWALL_SPECS
from nuage.domain.catalogue.instances import (
    INSTANCE_SPECS,
    CreateParams,
    HostnameParams,
    ReinstallParams,
    ResizeParams,
)
from nuage.domain.catalogue.ips import IP_SPECS
from nuage.domain.catalogue.snapshots import IMAGE_SPECS, SNAPSHOT_SPECS
from nuage.domain.catalogue.software import SOFTWARE_SPECS
from nuage.domain.catalogue.spec import (
    AT_REST,
    DEFAULT_MAX_RETRIES,
    MAX_RETRIES_LIMIT,
    RESOURCE_STATES,
    AnyParams,
    Effects,
    Entry,
    EntryFacts,
    Facts,
    MachineAfterCancel,
    NoParams,
    Params,
    Resource,
    ResourceEffects,
    Route,
    SizeFacts,
    TaskSpec,
)
from nuage.domain.catalogue.volumes import VOLUME_SPECS
from nuage.domain.catalogue.vpcs import VPC_SPECS
from nuage.domain.enums import TaskType

__all__ = [
    "AT_REST",
    "CATALOGUE",
    "DEFAULT_MAX_RETRIES",
    "MAX_RETRIES_LIMIT",
    "RESOURCE_STATES",
    "AnyParams",
    "CreateBackupParams",
    "CreateParams",
    "Effects",
    "Entry",
    "EntryFacts",
    "Facts",
    "HostnameParams",
    "MachineAfterCancel",
    "NoParams",
    "Params",
    "ReinstallParams",
    "ResizeParams",
    "Resource",
    "ResourceEffects",
    "Route",
    "SizeFacts",
    "TaskSpec",
    "spec_for",
]


def _by_type(*groups: tuple[TaskSpec, ...]) -> Mapping[TaskType, TaskSpec]:
    """The specs in the seed's order of types; a type given twice is a programming error."""
    specs = [spec for group in groups for spec in group]
    found = {spec.task_type: spec for spec in specs}
    assert len(found) == len(specs), "a task type has two specs"
    return {task_type: found[task_type] for task_type in TaskType if task_type in found}


CATALOGUE: Mapping[TaskType, TaskSpec] = _by_type(
    INSTANCE_SPECS,
    BACKUP_SPECS,
    VOLUME_SPECS,
    IP_SPECS,
    CONSOLE_SPECS,
    CONFIG_SPECS,
    FIREWALL_SPECS,
    SNAPSHOT_SPECS,
    IMAGE_SPECS,
    SOFTWARE_SPECS,
    VPC_SPECS,
)


def spec_for(task_type: TaskType) -> TaskSpec:
    return CATALOGUE[task_type]
