"""`GET /metrics`: Prometheus's text format (`api/metrics.py`), for loopback clients or with the
metrics token (`NUAGE_METRICS_TOKEN`, `NUAGE_METRICS_LOOPBACK`)."""

import hmac
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nuage.api import metrics
from nuage.api.deps import RuntimeDep, SessionDep
from nuage.db.types import utcnow
from nuage.domain.errors import PermissionDenied
from nuage.services import queue_stats

router = APIRouter(tags=["operations"])


def _loopback(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def allowed(request: Request, runtime: RuntimeDep) -> None:
    """A client on this machine (unless `metrics_loopback` is off), or one that sends
    `Authorization: Bearer <metrics_token>` (when a token is set): anyone else is refused."""
    settings = runtime.settings
    if settings.metrics_loopback and _loopback(request):
        return
    token = settings.metrics_token
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return
    raise PermissionDenied(
        "Metrics are served to this machine's clients, or with the metrics token "
        "(NUAGE_METRICS_TOKEN) as a bearer token."
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def get_metrics(session: SessionDep, _: Annotated[None, Depends(allowed)]) -> Response:
    """The process's counters and the queue's gauges in Prometheus's text format."""
    stats = await queue_stats.read(session, now=utcnow())
    return Response(metrics.exposition(stats), media_type=metrics.CONTENT_TYPE)
