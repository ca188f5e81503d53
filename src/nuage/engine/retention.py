"""Backup retention: after a new backup, the engine asks for the deletion of the instance's older
ones, keeping the newest `keep`. The `delete_backup` tasks are queued in the new backup's own
terminal transaction (so a crash queues them exactly once, or not at all with the backup still
`creating`), behind it in the instance's queue, on behalf of the user who asked for the backup.

Counted: the instance's `available` backups and those being restored (a restore is queued: it
must keep its backup), newest first by creation. Of those beyond `keep`, the `available` ones
move to `deleting` and get their task; a backup in any other status is left alone.
"""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Backup, InstanceTask, TaskEvent
from nuage.db.notify import QUEUE, notify_after_commit, task_channel
from nuage.db.observed import publish_after_commit
from nuage.db.types import utcnow
from nuage.domain.catalogue import spec_for
from nuage.domain.enums import BackupStatus, TaskStatus, TaskType
from nuage.domain.observers import TaskTransition
from nuage.engine.records import TaskRecord

_KEPT = (BackupStatus.AVAILABLE.value, BackupStatus.RESTORING.value)


async def expire_backups(session: AsyncSession, record: TaskRecord, *, keep: int) -> list[UUID]:
    """Queue `delete_backup` for the backups of `record`'s instance beyond the newest `keep`;
    their ids. `record` is the completed `create_backup` task."""
    await session.flush()  # the new backup's `available`, written by the completion
    rows = await session.scalars(
        sa.select(Backup)
        .where(Backup.instance_id == record.instance.id, Backup.status.in_(_KEPT))
        .order_by(Backup.created.desc(), Backup.id.desc())
        .offset(keep)
        .with_for_update()
    )
    expired = [row for row in rows if row.status == BackupStatus.AVAILABLE.value]
    if not expired:
        return []
    asked = (
        await session.execute(
            sa.select(
                InstanceTask.organization_id, InstanceTask.project_id, InstanceTask.created_by_id
            ).where(InstanceTask.id == record.id)
        )
    ).one()
    spec = spec_for(TaskType.DELETE_BACKUP)
    for row in expired:
        row.status = BackupStatus.DELETING.value
        task = InstanceTask(
            organization_id=asked.organization_id,
            project_id=asked.project_id,
            instance_id=record.instance.id,
            task_type=TaskType.DELETE_BACKUP.value,
            status=TaskStatus.PENDING.value,
            parameters={"backup_id": str(row.id)},
            max_retries=spec.default_max_retries,
            created_by_id=asked.created_by_id,
            run_after=utcnow(),
        )
        session.add(task)
        await session.flush()
        message = f"{spec.label} queued: the retention keeps the newest {keep} backups."
        session.add(TaskEvent(task_id=task.id, step="queued", message=message))
        notify_after_commit(session, QUEUE, task_channel(task.id))
        publish_after_commit(session, TaskTransition(task.id, task.task_type, None, task.status))
    return [row.id for row in expired]
