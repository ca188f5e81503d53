"""Publishes `RequestFinished` (`domain/observers.py`) for every HTTP request: its route's
template (not the path, whose ids would make a series per object), status and time to the last
byte. The outermost middleware, so refusals by the others are counted too."""

import time
from typing import Any

from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send
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
        status = 500  # what the server answers if the app raises before it starts a response

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            state = scope.get("state") or {}
            fact = observers.RequestFinished(
                method=method,
                route=route_template(scope),
                status=status,
                seconds=time.perf_counter() - started,
                request_id=state.get("request_id"),
            )
            observers.publish(fact)
