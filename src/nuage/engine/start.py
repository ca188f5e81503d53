"""The start of an attempt, written in its claim's transaction: the instance's precondition, its
mark while the task runs, the end of its unused console sessions and the `started` step."""

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import TaskEvent
from nuage.db.types import utcnow
from nuage.domain.catalogue import TaskSpec, spec_for
from nuage.domain.console import KEEPS_DISPLAY
from nuage.domain.errors import InvalidInstanceState, TaskCancelled
from nuage.domain.states import INSTANCES
from nuage.engine import claimed_rows, instance_rows, step_rows
from nuage.engine.records import TaskRecord

STARTED_PROGRESS = 5


@dataclass(frozen=True, slots=True)
class Start:
    record: TaskRecord
    spec: TaskSpec
    cancel_requested: bool  # as the claim read it, the task's row held
    refused: Exception | None  # why the task cannot start: its handler raises it
    marks: dict[str, Any] | None  # the instance's values while the task runs
    read_at: float = 0.0  # the event loop's time the claim committed (engine.step_log)

    @classmethod
    def of(cls, row: claimed_rows.ClaimedRow) -> "Start":
        """The start of the attempt the claim of `row` (`engine.claimed_rows`, read before the
        claim) begins."""
        record = dataclasses.replace(claimed_rows.task_record(row), attempt=row.attempts + 1)
        spec = spec_for(record.task_type)
        status = record.instance.status
        refused: Exception | None = None
        marks = None
        if status not in spec.requires:
            needs = " or ".join(sorted(spec.requires))
            refused = InvalidInstanceState(
                f"{record.task_type} needs the instance to be {needs}; it is {status}."
            )
        elif spec.effects.while_running is not None:
            try:
                INSTANCES.transition(status, spec.effects.while_running)
                marks = {"status": spec.effects.while_running}
            except Exception as error:
                refused = error
        return cls(record, spec, row.cancel_requested, refused, marks)

    def started_step(self) -> TaskEvent | None:
        """The `started` step the claim logs and sets the task's progress to; None if the task
        cannot start."""
        if self.refused is not None:
            return None
        record = self.record
        return step_rows.entry(
            task_id=record.id,
            step="started",
            message=f"{self.spec.label}: attempt {record.attempt}.",
            progress=STARTED_PROGRESS,
            attempt=record.attempt,
        )

    async def write(self, session: AsyncSession) -> None:
        """The instance's mark and its console sessions ended, in the claim's transaction (which
        logged the `started` step). Nothing if the task cannot start."""
        if self.refused is not None:
            return
        instance = self.record.instance
        if self.marks:
            await instance_rows.set_instance(
                session, instance.id, self.marks, status_before=instance.status.value
            )
        if self.record.task_type not in KEEPS_DISPLAY:
            await instance_rows.revoke_console_sessions(session, instance.id, utcnow())

    def check(self) -> None:
        """Raise what stops the attempt at its start: an unmet precondition (nothing was
        written), or a cancel requested before the claim (the `started` step was)."""
        if self.refused is not None:
            raise self.refused
        if self.cancel_requested:
            raise TaskCancelled("Cancelled before step `started`.")
