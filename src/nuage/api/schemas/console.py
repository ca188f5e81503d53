"""Console session shapes (domain/console.py): what anyone in the project sees of a session.
The one-time token is never here: it is in the creating task's result, for its creator only."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.db.models import ConsoleSession
from nuage.domain.console import ConsoleOptions, ConsoleSessionStatus, session_status


class ConsoleSessionOut(BaseModel):
    id: UUID
    instance_id: UUID
    task_id: UUID = Field(description="The `get_vnc_url` task that opened the session.")
    url: str = Field(
        description="The WebSocket bridge to the guest's VNC display: connect to "
        "`<url>?token=<token>` (RFB over binary frames), once, before `expires_at`."
    )
    status: ConsoleSessionStatus
    expires_at: datetime
    used_at: datetime | None
    created: datetime

    @classmethod
    def of(cls, row: ConsoleSession, options: ConsoleOptions, now: datetime) -> "ConsoleSessionOut":
        return cls(
            id=row.id,
            instance_id=row.instance_id,
            task_id=row.task_id,
            url=options.url(row.id),
            status=session_status(expires_at=row.expires_at, used_at=row.used_at, now=now),
            expires_at=row.expires_at,
            used_at=row.used_at,
            created=row.created,
        )
