"""What each HTTP request was, for those who watch: the outermost middleware but one.

It gives the request its id (`request_log.request_id_of`), echoed in `X-Request-Id`, and when
the request ends publishes `RequestFinished` (`domain/observers.py`: metrics) and writes its
access-log line (`request_log.log_request`): its route's template (not the path, whose ids would
make a series per object), status and time to the last byte. Outermost, so the refusals of the
other middleware are counted and logged too. One middleware for both, so each request pays
for one wrapper of `send`. The fast GET task, in front of it, calls `begin` and `end` itself.
"""

import time
from contextvars import Token
from typing import Any

from starlette.datastructures import MutableHeaders

from nuage import logs
from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send
from nuage.api.request_log import REQUEST_ID_HEADER, log_request, request_id_of
from nuage.domain import observers

# A middleware that answers without routing (a fast path) names the template it answered for here.
ROUTE_TEMPLATE = "nuage.route_template"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    if isinstance(named := scope.get(ROUTE_TEMPLATE), str):
        return named
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid, token = begin(scope)
        status: int | None = None  # until the response starts
        raised = False

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                with_request_id(message, rid)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            raised = True
            raise
        finally:
            end(scope, rid, token, started=started, status=status, raised=raised)


def with_request_id(start: Message, rid: str) -> None:
    """The request's id on its answer (`http.response.start`), in place of any the app set."""
    MutableHeaders(scope=start)[REQUEST_ID_HEADER] = rid


def begin(scope: Scope) -> tuple[str, Token[str | None]]:
    """The request's id, noted (`note`)."""
    rid = request_id_of(scope)
    return rid, note(scope, rid)


def note(scope: Scope, rid: str) -> Token[str | None]:
    """Note the request's id for the audit log and the log lines written while it is served
    (`end` forgets it)."""
    state = scope.setdefault("state", {})  # request.state: get_principal notes the caller
    state["request_id"] = rid  # for the audit log
    return logs.request_id.set(rid)


def end(
    scope: Scope,
    rid: str,
    token: Token[str | None],
    *,
    started: float,
    status: int | None,
    raised: bool,
) -> None:
    """The request's `RequestFinished` and access-log line; `status` None: no answer began."""
    seconds = time.perf_counter() - started
    route = route_template(scope)
    method = scope["method"]
    # Metrics count what the server answered: 500 when the app raised before answering.
    observers.publish(
        observers.RequestFinished(
            method=method if method in METHODS else "other",
            route=route,
            status=500 if status is None else status,
            seconds=seconds,
            request_id=rid,
        )
    )
    # The log says what happened: 500 for an error, 499 for a client that left first.
    logged = 500 if raised else 499 if status is None else status
    log_request(scope, route=route, status=logged, request_id=rid, seconds=seconds)
    logs.request_id.reset(token)
