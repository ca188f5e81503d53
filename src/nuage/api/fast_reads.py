"""The hot read, `GET …/compute/tasks/{id}` with an API key, answered without routing.

The outermost middleware, outside even the error middleware (`app.NuageApp`): for a plain GET
of a task (no query string, no body) with an API key it runs the one-statement read of
`services/task_reads.py` and renders `TaskOut`, as the route would, byte for byte. Whatever that
read does not allow (any refusal, a `last_used` to record, `?wait=`, a JWT, a database error, a
failure to read, render or make the headers) goes on to the whole stack unchanged, whose answer
is then the only answer; it begins its own only once the body and the headers are made.

A read it answers does not pass through the other middleware (each a wrapper of the answer's
`send`, about a fifth of the read's CPU): it applies their rules itself, with their own
functions and in their order: the rate limit's verdict, taken before the read
(`RateRule`; a refused request, or one the read does not answer, goes on with the token it
took, and `RateLimit` answers the 429 or lets it through without taking another),
CORS (`methods.cors_headers`), the security headers (`SecurityPolicy`), the request id, the
`RequestFinished` fact and the access-log line (`observe.note`, `observe.end`). The body guard
has nothing to refuse (no body), and a GET is not audited.
"""

import logging
import re
import time
from collections.abc import Collection
from uuid import UUID

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers, MutableHeaders

from nuage.api import observe
from nuage.api.methods import allowed_origin_of, cors_headers
from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send, body_headers
from nuage.api.observe import ROUTE_TEMPLATE
from nuage.api.rate_limit import TAKEN, RateRule, quota_headers
from nuage.api.request_log import CREDENTIAL_ID, credential_of, request_id_of
from nuage.api.runtime import Runtime
from nuage.api.schemas.tasks import TaskOut
from nuage.api.security_headers import SecurityPolicy, with_security_headers
from nuage.domain.errors import NuageError
from nuage.services.principals import Principal
from nuage.services.rate_limits import Verdict
from nuage.services.task_reads import read_task_with_key

_HEX = "[0-9a-fA-F]"
# An id in a path the fast paths answer: the canonical form only (any other goes to the router).
UUID_PATTERN = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_PATH = re.compile(
    rf"/v1/organizations/({UUID_PATTERN})/projects/({UUID_PATTERN})/compute/tasks/({UUID_PATTERN})"
)
TASK_ROUTE = "/v1/organizations/{organization_id}/projects/{project_id}/compute/tasks/{id}"
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +(\S+) *")

log = logging.getLogger("nuage.api")


class FastTaskRead:
    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime,
        security: SecurityPolicy,
        allowed_origins: Collection[str],
        rate: RateRule | None,
    ) -> None:
        self.app = app
        # Without a reader (an app built without one: documents, routing tests) every request
        # takes the route.
        self.reader: AsyncEngine | None = runtime.reader
        self.security = security
        self.allowed_origins = frozenset(allowed_origins)
        self.rate = rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        asked = self._asked(scope)
        if asked is None:
            await self.app(scope, receive, send)
            return
        verdict = None
        if self.rate is not None:  # before the read: a throttled caller costs the database nothing
            try:
                verdict = await self.rate.verdict(scope)
            except Exception:  # nothing taken: `RateLimit` meets it again and answers it
                await self.app(scope, receive, send)
                return
            if not verdict.admitted:
                scope[TAKEN] = verdict
                await self.app(scope, receive, send)
                return
        answer = await self._prepared(scope, asked, verdict)
        if answer is None:
            if verdict is not None:
                scope[TAKEN] = verdict  # the route's answer counts against this token
            await self.app(scope, receive, send)
            return
        principal, body, rid, start = answer
        # The caller, for the access log, as the route's `get_principal` notes it.
        scope.setdefault("state", {})[CREDENTIAL_ID] = credential_of(principal)
        await self._answer(scope, send, body, rid, start, started)

    async def _prepared(
        self, scope: Scope, asked: tuple[str, UUID, UUID, UUID], verdict: Verdict | None
    ) -> tuple[Principal, bytes, str, Message] | None:
        """The caller, the body as the route renders it, the request id and the
        `http.response.start`; None: the route answers (a refusal, a database error, which it
        meets and answers too; any other failure, logged: this middleware is outside the error
        middleware, so nothing after this may fail but the sending)."""
        key, org_id, project_id, task_id = asked
        assert self.reader is not None
        try:
            read = await read_task_with_key(
                self.reader, key=key, org_id=org_id, project_id=project_id, task_id=task_id
            )
            if read is None:
                return None
            principal, view = read
            body = TaskOut.of_view(view).model_dump_json().encode()
            rid, start = self._start(scope, body, verdict)
            return principal, body, rid, start
        except (sa_exc.SQLAlchemyError, NuageError, OSError):
            return None  # the full path meets the same trouble and answers it (503, …)
        except Exception:
            log.exception("the fast read of task %s failed; the route answers", task_id)
            return None

    def _start(self, scope: Scope, body: bytes, verdict: Verdict | None) -> tuple[str, Message]:
        """The answer's request id and `http.response.start`, with the route's headers in the
        route's order."""
        start: Message = {"type": "http.response.start", "status": 200}
        start["headers"] = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        if verdict is not None:
            assert self.rate is not None
            MutableHeaders(scope=start).update(quota_headers(self.rate.policy, verdict.quota))
        if self.allowed_origins:
            allowed = allowed_origin_of(Headers(scope=scope), self.allowed_origins)
            cors_headers(MutableHeaders(scope=start), self.allowed_origins, allowed)
        start["headers"] = with_security_headers(start["headers"], self.security.wanted(scope))
        rid = request_id_of(scope)
        observe.with_request_id(start, rid)
        return rid, start

    async def _answer(
        self, scope: Scope, send: Send, body: bytes, rid: str, start: Message, started: float
    ) -> None:
        token = observe.note(scope, rid)
        # The route this answer stands for, for whatever counts requests by route (metrics).
        scope[ROUTE_TEMPLATE] = TASK_ROUTE
        status: int | None = None
        raised = False
        try:
            status = 200
            await send(start)
            await send({"type": "http.response.body", "body": body})
        except Exception:
            raised = True
            raise
        finally:
            observe.end(scope, rid, token, started=started, status=status, raised=raised)

    def _asked(self, scope: Scope) -> tuple[str, UUID, UUID, UUID] | None:
        """The key and the path's ids of a request the fast read may answer."""
        if self.reader is None or scope["type"] != "http" or scope["method"] != "GET":
            return None
        path = _PATH.fullmatch(scope["path"])
        token = authorization(scope["headers"])
        if scope["query_string"] or path is None or token is None:
            return None
        length, _, chunked = body_headers(scope["headers"])
        if chunked or length not in ("", "0"):
            return None  # the body guard's to judge
        try:
            org_id, project_id, task_id = (UUID(part) for part in path.groups())
        except ValueError:
            return None
        return token, org_id, project_id, task_id


def authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of the first Authorization header (as Starlette reads it)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            match = _BEARER.fullmatch(value.decode("latin-1"))
            return match.group(1) if match else None
    return None
