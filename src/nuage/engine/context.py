"""What a running handler may do: log steps (which are also its cancellation points) and look up
catalogue entries. Every write is guarded by the worker's lease."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import Image, Size
from nuage.db.session import transaction
from nuage.domain.errors import TaskCancelled
from nuage.drivers.base import Driver
from nuage.engine import queries
from nuage.engine.records import TaskRecord


class TaskContext:
    def __init__(
        self,
        record: TaskRecord,
        *,
        driver: Driver,
        sessions: async_sessionmaker[AsyncSession],
        worker: str,
    ) -> None:
        self.record = record
        self.driver = driver
        self._sessions = sessions
        self._worker = worker

    @property
    def machine_id(self) -> str:
        return str(self.record.instance.id)

    async def step(self, step: str, message: str, progress: int | None = None) -> None:
        """Log a step; a safe point: if a cancel was requested, the task stops here."""
        async with transaction(self._sessions) as session:
            cancel = await queries.record_step(
                session,
                self.record.id,
                self._worker,
                step=step,
                message=message,
                progress=progress,
                attempt=self.record.attempt,
            )
        if cancel:
            raise TaskCancelled(f"Cancelled before step `{step}`.")

    async def size(self, size_id: UUID) -> Size:
        async with transaction(self._sessions) as session:
            return await queries.size_row(session, size_id)

    async def image(self, image_id: UUID) -> Image:
        async with transaction(self._sessions) as session:
            return await queries.image_row(session, image_id)
