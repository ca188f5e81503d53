"""The audit log as the API shows it: a row per mutating request (services/audit.py)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.db.models import AuditRecord


class AuditRecordOut(BaseModel):
    id: int
    created: datetime
    actor_id: UUID | None = Field(description="The user who sent the request.")
    credential_id: UUID | None = Field(
        description="The API key or project token used; null for an access token."
    )
    credential_kind: str = Field(description="`access_token`, `api_key` or `project_token`.")
    source_address: str | None
    request_id: str | None = Field(description="The request's `X-Request-Id`.")
    method: str
    route: str = Field(description="The route's template, e.g. `/v1/…/instances/{instance_id}`.")
    target_ids: dict[str, Any] = Field(description="The ids the request's path named.")
    status_code: int
    outcome: str = Field(
        description="`succeeded` (recorded with the change), `refused` (4xx), `failed` (5xx) "
        "or `replayed` (an idempotent replay: nothing changed)."
    )

    @classmethod
    def of(cls, row: AuditRecord) -> "AuditRecordOut":
        return cls(
            id=row.id,
            created=row.created,
            actor_id=row.actor_id,
            credential_id=row.credential_id,
            credential_kind=row.credential_kind,
            source_address=row.source_address,
            request_id=row.request_id,
            method=row.method,
            route=row.route,
            target_ids=row.target_ids,
            status_code=row.status_code,
            outcome=row.outcome,
        )
