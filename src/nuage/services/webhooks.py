"""Webhook use cases: a project's endpoints (list, create, read, replace, delete, rotate the
secret) and their deliveries (the log, a redelivery, a ping).

A webhook's URL is checked when it is saved (services/webhook_urls.py); the secret is answered
only by create and rotate. Deliveries are queued here and sent by the worker's sender
(engine/webhook_sender.py), which the queued rows wake.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Webhook, WebhookDelivery
from nuage.db.notify import notify_after_commit
from nuage.db.types import utcnow
from nuage.domain.errors import NotFound
from nuage.domain.events import EventType
from nuage.domain.webhooks import PING, DeliveryStatus, new_secret
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest, PageResult, paginate
from nuage.services.webhook_urls import check_url

WEBHOOKS = "webhooks"  # the notifier channel that wakes senders when deliveries are queued


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """What a client sets on a webhook (the body of create and replace)."""

    url: str
    event_types: Sequence[EventType]
    is_active: bool


def _project_webhooks(access: ProjectAccess) -> sa.Select[Webhook]:
    return sa.select(Webhook).where(Webhook.project_id == access.project.id)


async def list_webhooks(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> PageResult[Webhook]:
    stmt = _project_webhooks(access).order_by(Webhook.created, Webhook.id)
    return await paginate(session, stmt, page)


async def get_webhook(session: AsyncSession, access: ProjectAccess, webhook_id: UUID) -> Webhook:
    webhook = await session.scalar(_project_webhooks(access).where(Webhook.id == webhook_id))
    if webhook is None:
        raise NotFound()
    return webhook


async def create_webhook(
    session: AsyncSession, access: ProjectAccess, spec: WebhookSpec, *, allow_private: bool
) -> Webhook:
    """A new webhook with a new secret (answered once, by the caller's response)."""
    await check_url(spec.url, allow_private=allow_private)
    webhook = Webhook(
        project_id=access.project.id,
        url=spec.url,
        event_types=_types(spec.event_types),
        is_active=spec.is_active,
        secret=new_secret(),
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def replace_webhook(
    session: AsyncSession,
    access: ProjectAccess,
    webhook_id: UUID,
    spec: WebhookSpec,
    *,
    allow_private: bool,
) -> Webhook:
    webhook = await get_webhook(session, access, webhook_id)
    await check_url(spec.url, allow_private=allow_private)
    webhook.url = spec.url
    webhook.event_types = _types(spec.event_types)
    webhook.is_active = spec.is_active
    webhook.modified = utcnow()
    await session.flush()
    notify_after_commit(session, WEBHOOKS)  # a webhook turned active has deliveries to send
    return webhook


async def delete_webhook(session: AsyncSession, access: ProjectAccess, webhook_id: UUID) -> None:
    """Deletes the webhook and its deliveries (an attempt under way finds its row gone)."""
    webhook = await get_webhook(session, access, webhook_id)
    await session.execute(
        sa.delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    )
    await session.delete(webhook)
    await session.flush()


async def rotate_secret(session: AsyncSession, access: ProjectAccess, webhook_id: UUID) -> Webhook:
    """A new secret; deliveries signed from now on use it (the old one stops at once)."""
    webhook = await get_webhook(session, access, webhook_id)
    webhook.secret = new_secret()
    webhook.modified = utcnow()
    await session.flush()
    return webhook


def _types(event_types: Sequence[EventType]) -> list[str]:
    return sorted({EventType(kind).value for kind in event_types})


async def list_deliveries(
    session: AsyncSession, access: ProjectAccess, webhook_id: UUID, page: PageRequest
) -> PageResult[WebhookDelivery]:
    """The webhook's deliveries, newest first."""
    webhook = await get_webhook(session, access, webhook_id)
    stmt = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.created.desc(), WebhookDelivery.id.desc())
        .execution_options(populate_existing=True)
    )
    return await paginate(session, stmt, page)


async def get_delivery(
    session: AsyncSession, access: ProjectAccess, webhook_id: UUID, delivery_id: UUID
) -> WebhookDelivery:
    webhook = await get_webhook(session, access, webhook_id)
    delivery = await session.scalar(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook.id)
        .execution_options(populate_existing=True)
    )
    if delivery is None:
        raise NotFound()
    return delivery


async def redeliver(
    session: AsyncSession, access: ProjectAccess, webhook_id: UUID, delivery_id: UUID
) -> WebhookDelivery:
    """Queue the same body again, as a new delivery (its log starts afresh)."""
    original = await get_delivery(session, access, webhook_id, delivery_id)
    return await queue_delivery(
        session,
        webhook_id=original.webhook_id,
        event_id=original.event_id,
        event_type=original.event_type,
        body=original.body,
        redelivery_of=original.id,
    )


async def ping(session: AsyncSession, access: ProjectAccess, webhook_id: UUID) -> WebhookDelivery:
    """Queue a `ping` delivery: a signed test body, to check the endpoint and its verification."""
    webhook = await get_webhook(session, access, webhook_id)
    body = {
        "id": None,
        "type": PING,
        "created": utcnow().isoformat().replace("+00:00", "Z"),
        "instance_id": None,
        "data": {"webhook_id": str(webhook.id), "url": webhook.url},
    }
    return await queue_delivery(
        session, webhook_id=webhook.id, event_id=None, event_type=PING, body=body
    )


async def queue_delivery(
    session: AsyncSession,
    *,
    webhook_id: UUID,
    event_id: int | None,
    event_type: str,
    body: dict[str, Any],
    redelivery_of: UUID | None = None,
) -> WebhookDelivery:
    """A pending delivery, due now; senders are woken once the transaction commits."""
    now = utcnow()
    delivery = WebhookDelivery(
        webhook_id=webhook_id,
        event_id=event_id,
        event_type=event_type,
        body=body,
        status=DeliveryStatus.PENDING.value,
        attempt=0,
        next_attempt_at=now,
        attempts=[],
        redelivery_of=redelivery_of,
        created=now,
        modified=now,
    )
    session.add(delivery)
    await session.flush()
    notify_after_commit(session, WEBHOOKS)
    return delivery
