"""Request ids and the access log: the outermost middleware.

`X-Request-Id` is taken from the request when it is a sane token (1 to 128 of letters, digits
and `-_.:`), otherwise a new one is made; the answer echoes it. Each request ends with one log
line on `nuage.access`: method, route template (not the path with its ids), status, duration,
request id, source address and the credential's id (`deps.get_principal` notes it; never the
token). A request whose client left before the answer logs status 499. The `RequestFinished`
fact for metrics is published by `observe.ObserveRequests`, just inside this middleware.
"""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders

from nuage import logs
from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send
from nuage.api.observe import route_template

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
CREDENTIAL_ID = "credential_id"  # the key of request.state that names the caller

log = logging.getLogger("nuage.access")


def request_id_of(scope: Scope) -> str:
    given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        state = scope.setdefault("state", {})  # request.state: get_principal notes the caller
        state["request_id"] = rid  # for the audit log
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 499

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "request_id": rid,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": client[0] if client else None,
                    "credential_id": state.get(CREDENTIAL_ID),
                },
            )
            logs.request_id.reset(token)
