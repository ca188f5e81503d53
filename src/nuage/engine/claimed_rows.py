"""What a worker's claim reads of each candidate task: the columns its record needs (the task's,
its instance's, its size's, its image's slug, its host's), as plain rows of one statement, and
the record made from such a row: loading the task as ORM objects (the task, its instance with
its size, location, image and host) cost more CPU than the rest of what the claim reads."""

from typing import Any

import sqlalchemy as sa

from nuage.db.models import Host, Image, Instance, InstanceTask, Size, Volume
from nuage.domain.enums import InstanceStatus, PowerState, TaskType
from nuage.engine.records import HostRecord, InstanceRecord, TaskRecord

_T: sa.Table = InstanceTask.__table__  # type: ignore[assignment]
_I: sa.Table = Instance.__table__  # type: ignore[assignment]
_IMAGES: sa.Table = Image.__table__  # type: ignore[assignment]
_HOSTS: sa.Table = Host.__table__  # type: ignore[assignment]
_SIZES: sa.Table = Size.__table__  # type: ignore[assignment]
_VOLUMES: sa.Table = Volume.__table__  # type: ignore[assignment]

_TASK = ("id", "task_type", "run_after", "parameters", "retry_count", "max_retries", "attempts")
_INSTANCE = (
    "name",
    "location_id",
    "external_id",
    "hostname",
    "status",
    "tags",
    "power_state",
    "software",
    "project_id",
)
_HOST = ("id", "name", "driver", "uri", "config", "secret_ref")

COLUMNS: tuple[sa.ColumnElement[Any], ...] = (
    *(_T.c[name] for name in _TASK),
    _T.c.cancel_requested,
    _T.c.instance_id,
    *(_I.c[name].label(f"instance_{name}") for name in _INSTANCE),
    # The machine's hardware as `Instance.vcpu` and its siblings say it: reported, else sized.
    *(
        sa.func.coalesce(_I.c[f"machine_{name}"], _SIZES.c[name]).label(f"instance_{name}")
        for name in ("vcpu", "ram_mb", "disk_gb")
    ),
    _IMAGES.c.slug.label("image_slug"),
    *(_HOSTS.c[name].label(f"host_{name}") for name in _HOST),
    # Only the instance's own tasks attach or detach its volumes, and they run one at a time:
    # what the claim finds holds for the whole attempt (`InstanceRecord.has_volumes`).
    sa.exists().where(_VOLUMES.c.instance_id == _I.c.id).label("instance_has_volumes"),
)


# A row of `COLUMNS`, read by attribute: SQLAlchemy's `Row` on SQLite, `db.driver_sql`'s on
# PostgreSQL.
ClaimedRow = Any


def joined(select: sa.Select[Any]) -> sa.Select[Any]:
    """`select` of `COLUMNS` from the tasks, joined to their instance, size, image and host."""
    return (
        select.join(_I, _I.c.id == _T.c.instance_id)
        .join(_SIZES, _SIZES.c.id == _I.c.size_id)
        .join(_IMAGES, _IMAGES.c.id == _I.c.image_id)
        .outerjoin(_HOSTS, _HOSTS.c.id == _I.c.host_id)
    )


def task_record(row: ClaimedRow) -> TaskRecord:
    """The record of a claimed task (its attempt as the row was read, before the claim)."""
    return TaskRecord(
        id=row.id,
        task_type=TaskType(row.task_type),
        parameters=dict(row.parameters or {}),
        retry_count=row.retry_count,
        max_retries=row.max_retries,
        attempt=row.attempts,
        instance=InstanceRecord(
            id=row.instance_id,
            name=row.instance_name,
            location_id=row.instance_location_id,
            host=_host(row),
            external_id=row.instance_external_id,
            hostname=row.instance_hostname,
            status=InstanceStatus(row.instance_status),
            vcpu=row.instance_vcpu,
            ram_mb=row.instance_ram_mb,
            disk_gb=row.instance_disk_gb,
            image_slug=row.image_slug,
            tags=tuple(row.instance_tags or ()),
            power_state=PowerState(row.instance_power_state),
            software=tuple(row.instance_software or ()),
            project_id=row.instance_project_id,
            has_volumes=bool(row.instance_has_volumes),
        ),
    )


def _host(row: ClaimedRow) -> HostRecord | None:
    if row.host_id is None:
        return None
    return HostRecord(
        id=row.host_id,
        name=row.host_name,
        driver=row.host_driver,
        uri=row.host_uri,
        config=dict(row.host_config or {}),
        secret_ref=row.host_secret_ref,
    )
