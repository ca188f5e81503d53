"""The hot write, a plain instance action (`POST …/instances/{id}/reboot`, start, stop, …) with an
API key, answered without routing: the write twin of `api/fast_reads.py`, innermost.

For a POST of a generated action route that takes nothing but its path (`action_writes.
plain_action`) with an API key, no query string, no body and no `Idempotency-Key`, it runs
`services/action_writes.py` (one read, one transaction with the audit-log row) and answers 202
with the task and its `Location` as the route does (`writes.render`), byte for byte apart from
ids and times. Whatever that path does not allow (any refusal, a `last_used` to record, a JWT,
an error before its commit) goes on to the app unchanged, whose answer is then the only one.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from nuage.api import audit_trail
from nuage.api.errors import nuage_error_response
from nuage.api.fast_reads import UUID_PATTERN, authorization
from nuage.api.middleware import ASGIApp, Receive, Scope, Send
from nuage.api.observe import ROUTE_TEMPLATE
from nuage.api.request_log import CREDENTIAL_ID, credential_of
from nuage.api.routers.instances import PREFIX, task_location
from nuage.api.runtime import Runtime
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import render
from nuage.domain.catalogue import CATALOGUE, TaskSpec
from nuage.domain.errors import NuageError, WriteOutcomeUnknown
from nuage.services import audit
from nuage.services.action_writes import accept_with_key, plain_action
from nuage.services.idempotency import StoredResponse
from nuage.services.principals import Principal
from nuage.services.task_reads import TaskView

log = logging.getLogger("nuage.api")


@dataclass(frozen=True, slots=True)
class _Action:
    spec: TaskSpec
    template: str  # the route's path, as the audit log and the metrics name it
    path: re.Pattern[str]


def _actions() -> list[_Action]:
    found = []
    for spec in CATALOGUE.values():
        if plain_action(spec):
            assert spec.route is not None
            template = PREFIX + spec.route.path
            pattern = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            path = re.compile(re.sub(r"{(\w+)}", rf"(?P<\1>{UUID_PATTERN})", pattern))
            found.append(_Action(spec, template, path))
    return found


_ACTIONS = _actions()


class FastAction:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        # The fast paths are on when the app has a reader (`Runtime.reader`); a write uses it
        # or the sessions' engine (`action_writes.accept_with_key` says which).
        self.reader = runtime.reader
        self.engine: AsyncEngine | None = (
            runtime.sessions.kw["bind"] if runtime.reader is not None else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.engine is None
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["query_string"]
            or not await self._answered(scope, receive, send)
        ):
            await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        found = _match(scope["path"])
        token = _plain_request(scope["headers"])
        if found is None or token is None:
            return False
        action, ids = found
        try:
            task = await self._accept(scope, action, ids, token)
        except WriteOutcomeUnknown as error:
            log.warning("%s: the commit failed; it may have been made", action.template)
            await nuage_error_response(error)(scope, receive, send)
            return True
        except (sa_exc.SQLAlchemyError, NuageError, OSError):
            return False  # nothing was committed: the full path meets the same trouble (503, …)
        if task is None:
            return False
        # The route this answer stands for, for whatever counts requests by route (metrics).
        scope[ROUTE_TEMPLATE] = action.template
        body = TaskOut.of_view(task).model_dump(mode="json")
        base = str(Request(scope).base_url).rstrip("/")  # as `pages.absolute` makes it
        location = base + task_location(
            UUID(ids["organization_id"]), UUID(ids["project_id"]), task.id
        )
        await render(StoredResponse(202, body, location))(scope, receive, send)
        return True

    async def _accept(
        self, scope: Scope, action: _Action, path_ids: dict[str, str], token: str
    ) -> TaskView | None:
        assert self.engine is not None and self.reader is not None
        ids = {name: UUID(value) for name, value in path_ids.items()}

        def entry(principal: Principal) -> audit.Entry:
            # For the access log (api/request_log.py), as `deps.get_principal` notes it.
            scope.setdefault("state", {})[CREDENTIAL_ID] = credential_of(principal)
            return audit_trail.entry_of(scope, principal, action.template, path_ids)

        return await accept_with_key(
            self.engine,
            self.reader,
            action.spec,
            key=token,
            org_id=ids["organization_id"],
            project_id=ids["project_id"],
            instance_id=ids["instance_id"],
            notifier=self.runtime.notifier,
            entry=entry,
            shown=_shown,
        )


def _shown(task: TaskView) -> dict[str, Any]:
    """A task as events show it (`api/event_views.ApiViews.task`)."""
    return TaskOut.of_view(task).model_dump(mode="json")


def _match(path: str) -> tuple[_Action, dict[str, str]] | None:
    """The action a path asks for, and its ids by name (as sent: the audit log keeps them so)."""
    for action in _ACTIONS:
        matched = action.path.fullmatch(path)
        if matched is not None:
            return action, matched.groupdict()
    return None


def _plain_request(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key of a request with no body and no `Idempotency-Key`; None for any other."""
    for name, value in headers:
        match name.lower():
            case b"content-length" if value.strip() != b"0":
                return None
            case b"transfer-encoding" | b"idempotency-key":
                return None
    return authorization(headers)
