"""The console's task type: a one-time session to the running guest's VNC display."""

from datetime import datetime

from pydantic import TypeAdapter

from nuage.db.types import utcnow
from nuage.domain.enums import TaskType
from nuage.domain.errors import PermanentError
from nuage.drivers.capabilities import CONSOLE
from nuage.engine.context import TaskContext
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome
from nuage.services.console import new_session

_JSON_TIME = TypeAdapter(datetime)


@handles(TaskType.GET_VNC_URL)
async def get_vnc_url(ctx: TaskContext) -> Outcome:
    """Nothing changes on the machine: a rerun after a crash makes a new session (the first
    one's token was never shown to anyone, and it expires)."""
    await ctx.step("display", "Finding the guest's VNC display.", 30)
    address = await ctx.capable(CONSOLE).vnc_address(ctx.machine_id)
    if address is None:
        raise PermanentError(
            "The machine is not running: it has no display.", code="machine_not_running"
        )
    row, token = new_session(
        instance_id=ctx.record.instance.id,
        task_id=ctx.record.id,
        address=address,
        options=ctx.console,
        now=utcnow(),
    )
    result = {
        "id": str(row.id),
        "url": ctx.console.url(row.id),
        "expires_at": _JSON_TIME.dump_python(row.expires_at, mode="json"),  # as the API shows times
        "token": token,
    }
    return Outcome(result=result, instance=InstanceUpdate(), rows=(row,))
