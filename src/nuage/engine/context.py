"""What a running handler may do: log steps (which are also its cancellation points), reach its
instance's host, place a new instance, and look up catalogue entries. Every write is guarded by
the worker's lease."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import Host, Image, Size, TaskEvent, Volume
from nuage.db.resources import ResourceRow, resource_row
from nuage.db.session import reading, transaction
from nuage.db.types import utcnow
from nuage.domain.catalogue import Resource
from nuage.domain.console import ConsoleOptions
from nuage.domain.errors import PermanentError, TaskCancelled
from nuage.domain.placement import Resources
from nuage.drivers.base import Driver, PrivateNetwork
from nuage.drivers.capabilities import Capable, capable
from nuage.engine import addresses, hosts, instance_rows, queries, step_rows, vpc_members
from nuage.engine.addresses import AddressRecord
from nuage.engine.hosts import Drivers
from nuage.engine.records import HostRecord, TaskRecord, host_record
from nuage.engine.step_log import StepLog

P = TypeVar("P")


class WorkerStopping(Exception):
    """The worker is stopping: the task stops at this safe step and goes back to the queue, for
    another worker (or this one, restarted) to resume it at once."""


class TaskContext:
    def __init__(
        self,
        record: TaskRecord,
        *,
        drivers: Drivers,
        sessions: async_sessionmaker[AsyncSession],
        worker: str,
        console: ConsoleOptions | None = None,
        stopping: asyncio.Event | None = None,
        flush_seconds: float = 0.0,
        read_at: float = float("-inf"),
    ) -> None:
        """`flush_seconds` and `read_at`: how long a step may wait for the attempt's next
        transaction, and when the claim read the cancel flag (`engine.step_log`); 0: every
        step is written at once."""
        self.record = record
        self._stopping = stopping
        self.console = console or ConsoleOptions()  # how this worker opens console sessions
        self.host: HostRecord | None = record.instance.host
        self._drivers = drivers
        self._sessions = sessions
        self._worker = worker
        self.steps = StepLog(self._write_steps, flush_seconds=flush_seconds, read_at=read_at)

    @property
    def machine_id(self) -> str:
        return str(self.record.instance.id)

    @property
    def driver(self) -> Driver:
        """The driver of the instance's host."""
        if self.host is None:
            raise PermanentError("The instance is not placed on a host.", code="not_placed")
        return self._drivers.for_host(self.host)

    async def driver_on(self, host_id: UUID) -> Driver:
        """The driver of a host that is not (or no longer) the instance's: where a backup, a
        custom image or a volume lives."""
        if self.host is not None and self.host.id == host_id:
            return self.driver
        async with transaction(self._sessions) as session:
            row = await session.get(Host, host_id)
        if row is None:
            raise PermanentError(f"Host {host_id} is not registered.", code="host_not_found")
        return self._drivers.for_host(host_record(row))

    async def capable_on(self, host_id: UUID | None, need: Capable[P]) -> P:
        """`driver_on(host_id)` as the protocol of a capability; None: the instance's host."""
        driver = self.driver if host_id is None else await self.driver_on(host_id)
        return capable(driver, need)

    def capable(self, need: Capable[P]) -> P:
        """The host's driver as the protocol of a capability (`ctx.capable(POWER).start(...)`);
        PermanentError `capability_not_supported` if it lacks it (the host changed since the
        task was accepted, or the instance was placed after)."""
        return capable(self.driver, need)

    async def place(self, need: Resources, *, only: UUID | None = None) -> HostRecord:
        """The instance's host: the one it has (a resumed create), or a newly chosen one (only
        `only`, when set)."""
        if self.host is None:
            async with transaction(self._sessions) as session:
                self.host = await hosts.place(
                    session,
                    self.record.instance.id,
                    self.record.instance.location_id,
                    need,
                    only=only,
                )
        return self.host

    async def step(
        self,
        step: str,
        message: str,
        progress: int | None = None,
        *,
        instance: dict[str, Any] | None = None,
        write: Callable[[AsyncSession], Awaitable[None]] | None = None,
        revoke_consoles: bool = False,
    ) -> None:
        """Log a step (and, in the same transaction, set `instance` values on the instance, run
        `write`, guarded by the lease like the step, and end its unused console sessions if
        told); a safe point: if a cancel was requested, the task stops here, and if the worker
        is stopping, it stops before it (WorkerStopping), having written nothing. A step with
        nothing else to write may wait for the attempt's next transaction (`engine.step_log`):
        the cancel flag it would read was read moments ago."""
        if self._stopping is not None and self._stopping.is_set():
            raise WorkerStopping(f"Stopped before step `{step}`.")
        entry = step_rows.entry(
            task_id=self.record.id,
            step=step,
            message=message,
            progress=progress,
            attempt=self.record.attempt,
            created=utcnow(),
        )
        if not instance and write is None and not revoke_consoles and self.steps.may_wait():
            self.steps.wait(entry)
            return
        async with self.steps.writing() as waiting:
            async with transaction(self._sessions) as session:
                if instance:
                    await instance_rows.set_instance(session, self.record.instance.id, instance)
                if write is not None:
                    await write(session)
                if revoke_consoles:
                    await instance_rows.revoke_console_sessions(
                        session, self.record.instance.id, utcnow()
                    )
                cancel = await queries.record_steps(
                    session, self.record.id, self._worker, [*waiting, entry]
                )
            if not cancel:
                self.steps.read()
        if cancel:
            raise TaskCancelled(f"Cancelled before step `{step}`.")

    async def _write_steps(self, entries: list[TaskEvent]) -> bool:
        async with transaction(self._sessions) as session:
            return await queries.record_steps(session, self.record.id, self._worker, entries)

    async def addresses(self) -> list[AddressRecord]:
        """The instance's addresses: assigned, and reserved by an `assign_ip` (its own, or one
        that failed: handlers keep only what they apply)."""
        async with reading(self._sessions) as session:
            return await addresses.of_instance(session, self.record.instance.id)

    async def hold_address(self, ip_id: UUID) -> bool:
        """Whether this `assign_ip` holds its reserved address (`addresses.hold`)."""
        async with transaction(self._sessions) as session:
            return await addresses.hold(session, ip_id, self.record.id, self.record.instance.id)

    async def vpc_joined(self) -> PrivateNetwork | None:
        """The VPC the instance is in, as the database says (`vpc_members.joined`)."""
        async with reading(self._sessions) as session:
            return await vpc_members.joined(session, self.record.instance.id)

    async def hold_vpc_member(self, member_id: UUID) -> PrivateNetwork | None:
        """The network this `update_vpc` holds its reserved address in (`vpc_members.hold`)."""
        async with transaction(self._sessions) as session:
            return await vpc_members.hold(
                session, member_id, self.record.id, self.record.instance.id
            )

    async def size(self, size_id: UUID) -> Size:
        async with reading(self._sessions) as session:
            return await instance_rows.size_row(session, size_id)

    async def image(self, image_id: UUID) -> Image:
        async with reading(self._sessions) as session:
            return await instance_rows.image_row(session, image_id)

    async def volume(self, volume_id: UUID) -> Volume:
        """The volume's row; PermanentError `volume_not_found` if it was removed meanwhile."""
        row = await self.resource(Resource.VOLUME, volume_id)
        if not isinstance(row, Volume):
            raise PermanentError(f"No volume {volume_id}.", code="volume_not_found")
        return row

    async def attached_volumes(self) -> list[Volume]:
        """The volumes attached to the instance; none read if the claim found none (only the
        instance's own tasks attach volumes, one at a time)."""
        if not self.record.instance.has_volumes:
            return []
        async with reading(self._sessions) as session:
            return await instance_rows.attached_volumes(session, self.record.instance.id)

    async def resource(self, resource: Resource, row_id: UUID) -> ResourceRow | None:
        """A storage resource's row (snapshot, backup, image, volume) as it is now; None: gone."""
        async with reading(self._sessions) as session:
            return await resource_row(session, resource, row_id, lock=False)
