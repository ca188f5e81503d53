"""The objects events carry, exactly as the API shows them: `GET P/tasks/{id}` and
`GET P/instances/{id}` (to nobody in particular: a task's secret results stay hidden)."""

from typing import Any

from nuage.api.schemas.instances import InstanceOut
from nuage.api.schemas.tasks import TaskEventOut, TaskOut
from nuage.db.models import Instance, InstanceTask, TaskEvent


class ApiViews:
    def task(self, row: InstanceTask) -> dict[str, Any]:
        return TaskOut.of(row, viewer=None).model_dump(mode="json")

    def step(self, row: TaskEvent) -> dict[str, Any]:
        return TaskEventOut.of(row).model_dump(mode="json")

    def instance(self, row: Instance) -> dict[str, Any]:
        return InstanceOut.of(row).model_dump(mode="json")
