"""Webhooks of a project: CRUD, secret rotation, the delivery log, redelivery and ping."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX
from nuage.api.schemas.common import Page
from nuage.api.schemas.webhooks import DeliveryOut, WebhookBody, WebhookOut, WebhookWithSecret
from nuage.api.writes import IdempotencyDep, commit
from nuage.services import webhooks
from nuage.services.webhooks import WebhookSpec

router = APIRouter(prefix=PREFIX + "/webhooks", tags=["webhooks"])
SECRET = frozenset({"secret"})


def _spec(body: WebhookBody) -> WebhookSpec:
    return WebhookSpec(url=body.url, event_types=body.event_types, is_active=body.is_active)


@router.get("")
async def list_webhooks(
    request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[WebhookOut]:
    return page_of(request, await webhooks.list_webhooks(session, access, page), WebhookOut.of)


@router.post("", status_code=201, response_model=WebhookWithSecret)
async def create_webhook(
    body: WebhookBody,
    session: SessionDep,
    access: WriteAccess,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
) -> Response:
    """Creates a webhook; the answer holds its signing `secret`, shown this once."""
    allow = runtime.settings.webhooks_allow_private
    row = await webhooks.create_webhook(session, access, _spec(body), allow_private=allow)
    out = WebhookWithSecret.with_secret(row)
    return await commit(session, idem, 201, out, secret_fields=SECRET)


@router.get("/{webhook_id}")
async def get_webhook(webhook_id: UUID, session: SessionDep, access: ReadAccess) -> WebhookOut:
    return WebhookOut.of(await webhooks.get_webhook(session, access, webhook_id))


@router.put("/{webhook_id}", response_model=WebhookOut)
async def replace_webhook(
    webhook_id: UUID,
    body: WebhookBody,
    session: SessionDep,
    access: WriteAccess,
    runtime: RuntimeDep,
) -> Response:
    """Replaces the URL, the event types and `is_active` (the secret stays)."""
    allow = runtime.settings.webhooks_allow_private
    row = await webhooks.replace_webhook(
        session, access, webhook_id, _spec(body), allow_private=allow
    )
    return await commit(session, None, 200, WebhookOut.of(row))


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: UUID, session: SessionDep, access: WriteAccess) -> Response:
    """Deletes the webhook and its delivery log."""
    await webhooks.delete_webhook(session, access, webhook_id)
    return await commit(session, None, 204, None)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_webhook_secret(
    webhook_id: UUID, session: SessionDep, access: WriteAccess, idem: IdempotencyDep
) -> Response:
    """Gives the webhook a new secret, shown this once; deliveries are signed with it from now."""
    row = await webhooks.rotate_secret(session, access, webhook_id)
    out = WebhookWithSecret.with_secret(row)
    return await commit(session, idem, 200, out, secret_fields=SECRET)


@router.post("/{webhook_id}/ping", status_code=202, response_model=DeliveryOut)
async def ping_webhook(
    webhook_id: UUID, session: SessionDep, access: WriteAccess, idem: IdempotencyDep
) -> Response:
    """Queues a signed `ping` delivery; follow it in the delivery log."""
    delivery = await webhooks.ping(session, access, webhook_id)
    return await commit(session, idem, 202, DeliveryOut.of(delivery))


@router.get("/{webhook_id}/deliveries")
async def list_webhook_deliveries(
    webhook_id: UUID, request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[DeliveryOut]:
    """The delivery log, newest first: each delivery with its attempts."""
    result = await webhooks.list_deliveries(session, access, webhook_id, page)
    return page_of(request, result, DeliveryOut.of)


@router.get("/{webhook_id}/deliveries/{delivery_id}")
async def get_webhook_delivery(
    webhook_id: UUID, delivery_id: UUID, session: SessionDep, access: ReadAccess
) -> DeliveryOut:
    return DeliveryOut.of(await webhooks.get_delivery(session, access, webhook_id, delivery_id))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut
)
async def redeliver_webhook_delivery(
    webhook_id: UUID,
    delivery_id: UUID,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
) -> Response:
    """Queues the delivery's body again, as a new delivery (answered)."""
    delivery = await webhooks.redeliver(session, access, webhook_id, delivery_id)
    return await commit(session, idem, 202, DeliveryOut.of(delivery))
