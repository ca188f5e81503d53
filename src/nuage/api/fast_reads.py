"""The hot read, `GET …/compute/tasks/{id}` with an API key, answered without routing.

The innermost middleware (`create_app` adds it first, so every other middleware still wraps
it): for a plain GET of a task (no query string) with an API key it runs the one-statement read
of `services/task_reads.py` and renders `TaskOut`, as the route would, byte for byte. Whatever
that read does not allow (any refusal, a `last_used` to record, `?wait=`, a JWT, a database
error) goes on to the app unchanged, whose answer is then the only answer.
"""

import re
from uuid import UUID

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.api.middleware import ASGIApp, Receive, Scope, Send
from nuage.api.observe import ROUTE_TEMPLATE
from nuage.api.runtime import Runtime
from nuage.api.schemas.tasks import TaskOut
from nuage.domain.errors import NuageError
from nuage.services.task_reads import TaskView, read_task_with_key

_HEX = "[0-9a-fA-F]"
# An id in a path the fast paths answer: the canonical form only (any other goes to the router).
UUID_PATTERN = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_PATH = re.compile(
    rf"/v1/organizations/({UUID_PATTERN})/projects/({UUID_PATTERN})/compute/tasks/({UUID_PATTERN})"
)
TASK_ROUTE = "/v1/organizations/{organization_id}/projects/{project_id}/compute/tasks/{id}"
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +(\S+) *")


class FastTaskRead:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        # Without a reader (an app built without one: documents, routing tests) every request
        # takes the route.
        self.reader: AsyncEngine | None = runtime.reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view = None
        if (
            self.reader is not None
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
        ):
            view = await self._read(scope)
        if view is None:
            await self.app(scope, receive, send)
            return
        # The route this answer stands for, for whatever counts requests by route (metrics).
        scope[ROUTE_TEMPLATE] = TASK_ROUTE
        body = TaskOut.of_view(view).model_dump_json().encode()
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read(self, scope: Scope) -> TaskView | None:
        assert self.reader is not None
        path = _PATH.fullmatch(scope["path"])
        token = authorization(scope["headers"])
        if path is None or token is None:
            return None
        try:
            org_id, project_id, task_id = (UUID(part) for part in path.groups())
        except ValueError:
            return None
        try:
            return await read_task_with_key(
                self.reader, key=token, org_id=org_id, project_id=project_id, task_id=task_id
            )
        except (sa_exc.SQLAlchemyError, NuageError, OSError):
            return None  # the full path meets the same trouble and answers it (503, …)


def authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of the first Authorization header (as Starlette reads it)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            match = _BEARER.fullmatch(value.decode("latin-1"))
            return match.group(1) if match else None
    return None
