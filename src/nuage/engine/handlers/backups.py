"""Backups: copy the instance's disk into its host's backup store, delete a copy (wherever it is,
its instance deleted or not), and write one back over the stopped instance's disk."""

from uuid import UUID

from nuage.db.models import Backup
from nuage.domain.catalogue import Resource
from nuage.domain.enums import TaskType
from nuage.drivers.capabilities import BACKUPS
from nuage.engine.context import TaskContext
from nuage.engine.handlers.instances import machine_result
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


@handles(TaskType.CREATE_BACKUP)
async def create_backup(ctx: TaskContext) -> Outcome:
    backup_id = ctx.record.parameters["backup_id"]
    name = ctx.record.parameters["name"]
    await ctx.step("copy", f"Copying the disk into backup {name}.", 20)
    backup = await ctx.capable(BACKUPS).create_backup(ctx.machine_id, backup_id)
    assert ctx.host is not None  # `capable` needs one
    stored = {"size_gb": backup.size_gb, "external_id": backup.external_id, "host_id": ctx.host.id}
    result = {"backup_id": backup_id, "size_gb": backup.size_gb}
    return Outcome(result=result, instance=InstanceUpdate(), resource=stored)


@handles(TaskType.DELETE_BACKUP)
async def delete_backup(ctx: TaskContext) -> Outcome:
    backup_id = ctx.record.parameters["backup_id"]
    await ctx.step("remove", f"Removing backup {backup_id} from its host's store.", 30)
    row = await ctx.resource(Resource.BACKUP, UUID(backup_id))
    host_id = row.host_id if isinstance(row, Backup) else None
    if host_id is None and ctx.host is not None:  # a copy whose create never finished
        host_id = ctx.host.id
    if host_id is not None:  # else no copy was ever started: there is nothing to remove
        backups = await ctx.capable_on(host_id, BACKUPS)
        await backups.delete_backup(ctx.machine_id, backup_id)
    return Outcome(result={"backup_id": backup_id, "deleted": True}, instance=InstanceUpdate())


@handles(TaskType.RESTORE_BACKUP)
async def restore_backup(ctx: TaskContext) -> Outcome:
    backup_id = ctx.record.parameters["backup_id"]
    await ctx.step("restore", f"Writing backup {backup_id} over the disk.", 30)
    info = await ctx.capable(BACKUPS).restore_backup(ctx.machine_id, backup_id)
    update = InstanceUpdate(power_state=info.power, external_id=info.external_id)
    return Outcome(result={"backup_id": backup_id, **machine_result(info)}, instance=update)
