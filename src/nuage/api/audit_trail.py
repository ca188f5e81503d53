"""Recording mutating requests in the audit log (services/audit.py), from the API's edge.

`AuditTrail` (ASGI middleware) opens a record for each POST, PUT, PATCH and DELETE; the caller's
principal joins it when authentication succeeds (`note_principal`); the API's one commit point
(`api/writes.commit`) adds the row to the change's transaction (`record_in`). After the answer,
a request that authenticated but committed nothing (refused, failed, replayed) gets its row in a
transaction of its own. Unauthenticated requests get no row (no actor to name; a flood of them is
the rate limiter's business).
"""

import logging
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send
from nuage.api.runtime import Runtime
from nuage.services import audit
from nuage.services.principals import Principal

log = logging.getLogger("nuage.api.audit")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(slots=True)
class _Open:
    scope: MutableMapping[str, Any]
    principal: Principal | None = None
    committed: bool = False


_current: ContextVar[_Open | None] = ContextVar("nuage_audit", default=None)


def note_principal(principal: Principal) -> None:
    """The request's caller is known (called by the authentication dependency)."""
    record = _current.get()
    if record is not None:
        record.principal = principal


def record_in(session: AsyncSession, status_code: int) -> None:
    """Add the request's row to `session`, about to commit its change."""
    record = _current.get()
    if record is None or record.principal is None:
        return
    audit.add(session, _entry(record.scope, record.principal), status_code)
    record.committed = True


def _entry(scope: MutableMapping[str, Any], principal: Principal) -> audit.Entry:
    route = scope.get("route")
    template = getattr(route, "path", None) or scope.get("path", "")
    return entry_of(scope, principal, template, scope.get("path_params") or {})


def entry_of(
    scope: MutableMapping[str, Any],
    principal: Principal,
    template: str,
    path_params: Mapping[str, Any],
) -> audit.Entry:
    """The request's row, for a path answered without routing (`api/fast_actions.py`) too."""
    client = scope.get("client")
    return audit.Entry(
        principal=principal,
        method=scope["method"],
        route=template,
        target_ids={k: str(v) for k, v in path_params.items()},
        source_address=client[0] if client else None,
        request_id=_request_id(scope),
    )


def _request_id(scope: MutableMapping[str, Any]) -> str | None:
    state = scope.get("state") or {}
    if isinstance(state, dict) and state.get("request_id"):
        return str(state["request_id"])[:128]
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            return str(value.decode("latin-1"))[:128]
    return None


class AuditTrail:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        record = _Open(scope)
        token = _current.set(record)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)
            if record.principal is not None and not record.committed:
                await self._apart(record, status)

    async def _apart(self, record: _Open, status: int) -> None:
        assert record.principal is not None
        entry = _entry(record.scope, record.principal)
        try:
            await audit.add_apart(self.runtime.sessions, entry, status)
        except Exception:  # the answer is gone already: say so, do not fail the request
            log.exception("could not record %s %s in the audit log", entry.method, entry.route)
