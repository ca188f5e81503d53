"""The webhook sender's named statements: claim a due delivery, finish an attempt, next due.

A claimed delivery belongs to its sender until `lease_expires_at`; an attempt's end is written
only while that sender still holds the lease, so a delivery taken over after a crash is logged
once per attempt. At most one delivery per webhook is out at a time: a slow endpoint holds only
its own queue.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Webhook, WebhookDelivery
from nuage.domain.webhooks import DeliveryStatus

D: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]
W: sa.Table = Webhook.__table__  # type: ignore[assignment]
_PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery to attempt, with what its attempt needs."""

    id: UUID
    webhook_id: UUID
    url: str
    secret: str
    event_id: int | None
    event_type: str
    body: dict[str, Any]
    attempt: int  # this attempt's number, from 1


def _leased(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(D.c.lease_expires_at.is_not(None), D.c.lease_expires_at > now)


def _webhook_busy(now: datetime) -> sa.Exists:
    """Another delivery of the same webhook is out (its lease runs)."""
    other = D.alias("other")
    return sa.exists().where(
        other.c.webhook_id == D.c.webhook_id,
        other.c.status == _PENDING,
        other.c.lease_expires_at.is_not(None),
        other.c.lease_expires_at > now,
    )


def _candidate(now: datetime, *, postgresql: bool, webhook_id: UUID | None) -> sa.Select[Any]:
    """The longest-due pending delivery of an active webhook (of `webhook_id` if given) with
    nothing out."""
    stmt = (
        sa.select(D.c.id)
        .join(W, W.c.id == D.c.webhook_id)
        .where(
            D.c.status == _PENDING,
            D.c.next_attempt_at <= now,
            W.c.is_active.is_(True),
            ~_leased(now),
            ~_webhook_busy(now),
        )
        .order_by(D.c.next_attempt_at, D.c.created)
        .limit(1)
    )
    if webhook_id is not None:
        stmt = stmt.where(D.c.webhook_id == webhook_id)
    # Locking the webhook's row too keeps two senders from claiming one webhook's deliveries at
    # once (the other skips it); SQLite's one writer serializes claims anyway.
    return stmt.with_for_update(skip_locked=True, of=[D, W]) if postgresql else stmt


async def claim_next(
    session: AsyncSession,
    sender: str,
    now: datetime,
    lease: timedelta,
    *,
    webhook_id: UUID | None = None,
) -> Claimed | None:
    """Claim the longest-due delivery (of `webhook_id` if given) for `sender`."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    candidate = _candidate(now, postgresql=postgresql, webhook_id=webhook_id)
    delivery_id = await session.scalar(candidate)
    if delivery_id is None:
        return None
    await session.execute(
        sa.update(D)
        .where(D.c.id == delivery_id)
        .values(lease_owner=sender, lease_expires_at=now + lease, attempt=D.c.attempt + 1)
    )
    row = (
        await session.execute(
            sa.select(D, W.c.url, W.c.secret)
            .join(W, W.c.id == D.c.webhook_id)
            .where(D.c.id == delivery_id)
        )
    ).one()
    return Claimed(
        id=row.id,
        webhook_id=row.webhook_id,
        url=row.url,
        secret=row.secret,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        attempt=row.attempt,
    )


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    duration_ms: float
    error: str | None
    at: datetime

    def log_entry(self, attempt: int) -> dict[str, Any]:
        return {
            "attempt": attempt,
            "status_code": self.status_code,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


async def finish(
    session: AsyncSession,
    claimed: Claimed,
    sender: str,
    result: AttemptResult,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
) -> bool:
    """Write the attempt's end while this sender holds the lease; False if it does not (the
    delivery was taken over, or deleted with its webhook)."""
    delivery = await session.scalar(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.id == claimed.id, WebhookDelivery.lease_owner == sender)
        .execution_options(populate_existing=True)
    )
    if delivery is None or delivery.attempt != claimed.attempt:
        return False
    delivery.attempts = [*delivery.attempts, result.log_entry(claimed.attempt)]
    delivery.status = status.value
    delivery.status_code = result.status_code
    delivery.duration_ms = result.duration_ms
    delivery.error = result.error
    delivery.lease_owner = None
    delivery.lease_expires_at = None
    if next_attempt_at is not None:
        delivery.next_attempt_at = next_attempt_at
    if status is not DeliveryStatus.PENDING:
        delivery.completed_at = result.at
    await session.flush()
    return True


async def release(session: AsyncSession, claimed: Claimed, sender: str) -> None:
    """Give back a delivery claimed but not attempted (its attempt is not counted)."""
    await session.execute(
        sa.update(D)
        .where(D.c.id == claimed.id, D.c.lease_owner == sender, D.c.attempt == claimed.attempt)
        .values(lease_owner=None, lease_expires_at=None, attempt=D.c.attempt - 1)
    )


async def next_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the earliest pending delivery that nobody holds is due."""
    due: datetime | None = await session.scalar(
        sa.select(sa.func.min(D.c.next_attempt_at)).where(D.c.status == _PENDING, ~_leased(now))
    )
    return due


async def prune_log(session: AsyncSession, before: datetime) -> int:
    """Delete the deliveries that ended before `before` (the log's retention)."""
    result = await session.execute(
        sa.delete(D).where(D.c.status != _PENDING, D.c.completed_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
