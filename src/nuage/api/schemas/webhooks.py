"""Webhook shapes: the endpoint as the API shows it (its secret only once), its body, and its
deliveries with their attempt log."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body
from nuage.db.models import Webhook, WebhookDelivery
from nuage.domain.events import EventType
from nuage.domain.webhooks import URL_MAX_LENGTH, DeliveryStatus


class WebhookBody(Body):
    url: str = Field(
        min_length=1,
        max_length=URL_MAX_LENGTH,
        description="http(s); its host must resolve to public addresses only (400 "
        "`webhook_url_refused`), unless the operator allows private ones.",
    )
    event_types: list[EventType] = Field(
        min_length=1, description="The events to deliver (at least one)."
    )
    is_active: bool = Field(default=True, description="An inactive webhook is sent nothing.")


class WebhookOut(BaseModel):
    id: UUID
    url: str
    event_types: list[EventType]
    is_active: bool
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Webhook) -> "WebhookOut":
        return cls(
            id=row.id,
            url=row.url,
            event_types=[EventType(kind) for kind in row.event_types],
            is_active=row.is_active,
            created=row.created,
            modified=row.modified,
        )


class WebhookWithSecret(WebhookOut):
    secret: str | None = Field(
        description="Signs the deliveries (`Nuage-Signature`). Shown here only, once: a replay "
        "of the request shows null."
    )

    @classmethod
    def with_secret(cls, row: Webhook) -> "WebhookWithSecret":
        return cls(**WebhookOut.of(row).model_dump(), secret=row.secret)


class AttemptOut(BaseModel):
    attempt: int
    status_code: int | None = Field(description="The endpoint's HTTP status; null if none came.")
    duration_ms: float
    error: str | None = Field(description="Why the attempt failed; null if it succeeded.")
    at: datetime


class DeliveryOut(BaseModel):
    id: UUID
    webhook_id: UUID
    event_id: int | None = Field(description="The event delivered; null for a ping.")
    event_type: str = Field(description="An event type, or `ping`.")
    status: DeliveryStatus
    attempt: int = Field(description="Attempts made so far.")
    status_code: int | None = Field(description="The last attempt's HTTP status.")
    duration_ms: float | None = Field(description="The last attempt's duration.")
    error: str | None = Field(description="The last attempt's error; null if it succeeded.")
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next.")
    redelivery_of: UUID | None = Field(description="The delivery this one repeats.")
    attempts: list[AttemptOut] = Field(description="Every attempt, oldest first.")
    body: dict[str, Any] = Field(description="What is posted (as JSON).")
    created: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> "DeliveryOut":
        pending = row.status == DeliveryStatus.PENDING
        return cls(
            id=row.id,
            webhook_id=row.webhook_id,
            event_id=row.event_id,
            event_type=row.event_type,
            status=DeliveryStatus(row.status),
            attempt=len(row.attempts),
            status_code=row.status_code,
            duration_ms=row.duration_ms,
            error=row.error,
            next_attempt_at=row.next_attempt_at if pending else None,
            redelivery_of=row.redelivery_of,
            attempts=[AttemptOut.model_validate(entry) for entry in row.attempts],
            body=row.body,
            created=row.created,
            completed_at=row.completed_at,
        )
