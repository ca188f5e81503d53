"""The rows an instance's handlers read and write beside the task: the instance's own values (a
status change is an event), its console sessions, its size and image, its volumes, its
snapshots; and the instances the drift sweep looks at."""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import driver_sql, outbox
from nuage.db.models import ConsoleSession, Image, Instance, InstanceTask, Size, Snapshot, Volume
from nuage.db.types import utcnow
from nuage.domain.enums import VolumeStatus
from nuage.domain.tasks import ACTIVE
from nuage.engine import shown_rows

_ACTIVE = [s.value for s in ACTIVE]
T: sa.Table = InstanceTask.__table__  # type: ignore[assignment]


async def set_instance(
    session: AsyncSession,
    instance_id: UUID,
    values: dict[str, Any],
    *,
    status_before: str | None = None,
) -> None:
    """Write `values` on the instance; a status that changes is an event (`db/outbox.py`).
    `status_before`: the status this transaction already read (else it is read here)."""
    if not values:
        return
    status = values.get("status")
    before = status_before
    if status is None or before is not None:
        await session.execute(sa.update(Instance).where(Instance.id == instance_id).values(values))
    elif (dialect := session.get_bind().dialect).name == "postgresql":
        params = {f"new_{key}": value for key, value in values.items()}
        plan = driver_sql.plan_of(_returning_status_before(tuple(values)), dialect)
        found = await driver_sql.rows(session, plan, {**params, "instance": instance_id})
        before = found[0].status if found else None
    else:  # SQLite's RETURNING sees only the updated row, as it is after
        before = await session.scalar(sa.select(Instance.status).where(Instance.id == instance_id))
        await session.execute(sa.update(Instance).where(Instance.id == instance_id).values(values))
    if status is not None and before != status:
        outbox.instance_status_changed(session, instance_id)


@functools.cache
def _returning_status_before(keys: tuple[str, ...]) -> sa.Update:
    """PostgreSQL: the UPDATE of the instance `instance` that sets `keys` (parameters
    `new_<key>`), returning its status as it was before (UPDATE … FROM the row as the statement
    found it: one round trip, not a SELECT before the UPDATE). Built once per set of keys, so
    that a finish neither builds it nor computes its cache key again."""
    instance = sa.bindparam("instance", type_=_I.c.id.type)
    old = sa.select(_I.c.id, _I.c.status).where(_I.c.id == instance).subquery("before")
    return (
        sa.update(Instance)
        .values(_new_values(keys))
        .where(Instance.id == old.c.id)
        .returning(old.c.status)
        .execution_options(synchronize_session=False)
    )


def _new_values(keys: tuple[str, ...]) -> dict[str, sa.BindParameter[Any]]:
    """The instance's `keys` set from the parameters `new_<key>`."""
    columns = Instance.__table__.c
    return {key: sa.bindparam(f"new_{key}", type_=columns[key].type) for key in keys}


_I = Instance.__table__.alias("instance_before")


@dataclass(frozen=True, slots=True)
class InstanceWrite:
    """What the end of an attempt writes on its instance: `values` (`set_instance`), and its
    snapshots forgotten (`forget_snapshots`)."""

    instance_id: UUID
    values: dict[str, Any]
    forget_snapshots: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.values)

    def params(self) -> dict[str, Any]:
        """The parameters of `written_after`'s statements, `modified` given: SQLAlchemy computes
        the Python-side defaults of the last write it compiles only, and those writes are not
        (`db.driver_sql` refuses a plan that would leave one unset)."""
        values = {"modified": utcnow(), **self.values} if self.values else {}
        return {"instance": self.instance_id} | {f"new_{k}": v for k, v in values.items()}


async def write(session: AsyncSession, write: InstanceWrite) -> None:
    """`write`, each of its writes a statement of its own."""
    await set_instance(session, write.instance_id, write.values)
    if write.forget_snapshots:
        await forget_snapshots(session, write.instance_id)


def written_after(
    done: sa.CTE, keys: tuple[str, ...], forget: bool
) -> tuple[list[sa.CTE], sa.Label[Any] | None]:
    """PostgreSQL: an `InstanceWrite` of `keys` (and, `forget`, of the snapshots) as CTEs that
    write only if `done` wrote a row, for a statement of the caller's over `done` (one round
    trip for the task and its instance); and the column of the instance's status before, if
    `keys` sets it (`written` takes it)."""
    if_done = sa.exists(sa.select(sa.literal_column("1")).select_from(done))
    writes: list[sa.CTE] = []
    before = None
    setting = keys if not keys or "modified" in keys else (*keys, "modified")
    if "status" in keys:
        changed = _returning_status_before(setting).where(if_done).cte("instance_written")
        before = sa.select(changed.c.status).scalar_subquery().label("status_before")
    elif keys:
        writes.append(_update_of(setting).where(if_done).cte("instance_written"))
    if forget:
        writes.append(_FORGET_SNAPSHOTS.where(if_done).cte("snapshots_forgotten"))
    return writes, before


def written(session: AsyncSession, write: InstanceWrite, status_before: str | None) -> None:
    """`write` was written by `written_after`'s statement: a status it changed is an event."""
    status = write.values.get("status")
    if status is not None and status_before != status:
        outbox.instance_status_changed(session, write.instance_id)


def _update_of(keys: tuple[str, ...]) -> sa.Update:
    instance = sa.bindparam("instance", type_=_I.c.id.type)
    return sa.update(Instance).values(_new_values(keys)).where(Instance.id == instance)


async def revoke_console_sessions(session: AsyncSession, instance_id: UUID, now: datetime) -> None:
    """End the instance's unused console sessions (they expire now). (A Core statement built
    once: the transactions that call this hold no console session's object.)"""
    await _write(session, _REVOKE_CONSOLE_SESSIONS, {"instance": instance_id, "now": now})


_SESSIONS: sa.Table = ConsoleSession.__table__  # type: ignore[assignment]
_REVOKE_CONSOLE_SESSIONS = (
    sa.update(_SESSIONS)
    .where(
        _SESSIONS.c.instance_id == sa.bindparam("instance", type_=_SESSIONS.c.instance_id.type),
        _SESSIONS.c.used_at.is_(None),
        _SESSIONS.c.expires_at > sa.bindparam("now", type_=_SESSIONS.c.expires_at.type),
    )
    .values(expires_at=sa.bindparam("now", type_=_SESSIONS.c.expires_at.type))
)


async def forget_snapshots(session: AsyncSession, instance_id: UUID) -> None:
    """Remove the instance's snapshot rows: they lived in the disk that is gone or replaced. (A
    Core statement built once: the transactions that call this hold no snapshot's object.)"""
    await _write(session, _FORGET_SNAPSHOTS, {"instance": instance_id})


async def _write(
    session: AsyncSession, statement: sa.Update | sa.Delete, params: dict[str, Any]
) -> None:
    """A statement built once, of no ORM object: on PostgreSQL sent on the driver
    (`db.driver_sql`)."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        await driver_sql.rowcount(session, driver_sql.plan_of(statement, dialect), params)
    else:
        await session.execute(statement, params)


_SNAPSHOTS: sa.Table = Snapshot.__table__  # type: ignore[assignment]
_FORGET_SNAPSHOTS = sa.delete(_SNAPSHOTS).where(
    _SNAPSHOTS.c.instance_id == sa.bindparam("instance", type_=_SNAPSHOTS.c.instance_id.type)
)


async def size_row(session: AsyncSession, size_id: UUID) -> Size:
    size = await session.get(Size, size_id)
    if size is None:
        raise LookupError(f"size {size_id}")
    return size


async def image_row(session: AsyncSession, image_id: UUID) -> Image:
    image = await session.get(Image, image_id)
    if image is None:
        raise LookupError(f"image {image_id}")
    return image


async def attached_volumes(session: AsyncSession, instance_id: UUID) -> list[Volume]:
    """The volumes attached to an instance, in the order they were made. On PostgreSQL read on
    the driver (`db.driver_sql`), as objects of no session, only to be read (a sync reads them
    for every task; through the ORM the read was a fifth of the task's CPU)."""
    params = {"instance": instance_id}
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return list((await session.scalars(_ATTACHED, params)).all())
    found = await driver_sql.rows(session, driver_sql.plan_of(_ATTACHED_ROWS, dialect), params)
    return [
        shown_rows.as_loaded(Volume, shown_rows.row_values(Volume, row._asdict())) for row in found
    ]


_V: sa.Table = Volume.__table__  # type: ignore[assignment]
# Built once: a sync reads them for every task.
_ATTACHED = (
    sa.select(Volume)
    .where(Volume.instance_id == sa.bindparam("instance", type_=_V.c.instance_id.type))
    .order_by(Volume.created)
)
_ATTACHED_ROWS = (
    sa.select(*_V.c)
    .where(_V.c.instance_id == sa.bindparam("instance", type_=_V.c.instance_id.type))
    .order_by(_V.c.created)
)


async def release_volumes(session: AsyncSession, instance_id: UUID, *, remove: bool) -> None:
    """The volumes of a deleted instance: removed, or detached and available (still recorded
    against it through `last_instance_id`)."""
    attached = Volume.instance_id == instance_id
    if remove:
        await session.execute(sa.delete(Volume).where(attached))
        return
    detached = {"instance_id": None, "device": None, "status": VolumeStatus.AVAILABLE.value}
    await session.execute(sa.update(Volume).where(attached).values(**detached))


async def adopt_volumes(
    session: AsyncSession, instance_id: UUID, detached: Sequence[UUID], attached: Mapping[UUID, str]
) -> None:
    """What sync found of an instance's volumes: `detached` ones are available (recorded against
    it through `last_instance_id`), `attached` ones are in use on it at their device."""
    if detached:
        free = {"instance_id": None, "device": None, "status": VolumeStatus.AVAILABLE.value}
        await session.execute(sa.update(Volume).where(Volume.id.in_(detached)).values(**free))
    for volume_id, device in attached.items():
        held = {"instance_id": instance_id, "last_instance_id": instance_id, "device": device}
        values = {**held, "status": VolumeStatus.IN_USE.value}
        await session.execute(sa.update(Volume).where(Volume.id == volume_id).values(**values))


async def idle_placed_instances(session: AsyncSession, statuses: list[str]) -> list[Instance]:
    """Placed instances in `statuses` without a pending or running task (the drift sweep's)."""
    busy = sa.select(T.c.instance_id).where(T.c.status.in_(_ACTIVE))
    rows = await session.scalars(
        sa.select(Instance).where(
            Instance.status.in_(statuses), Instance.host_id.is_not(None), Instance.id.not_in(busy)
        )
    )
    return list(rows)
