"""The routes that queue a task, generated from the catalogue: one per supported spec with a
generated `Route`. Each answers 202 with the task and a `Location` header.

An endpoint's inputs are in its signature (built with `inspect.Signature`): its path ids, its
body (the spec's parameters model, so the OpenAPI document shows each action's own schema), the
caller's access (read or write, from the spec's permission), `Idempotency-Key` on a POST, and
`?on_conflict=`.
"""

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import ReadAccess, SessionDep, WriteAccess
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain import enums
from nuage.domain.catalogue import CATALOGUE, Resource, Route, TaskSpec
from nuage.domain.permissions import Permission
from nuage.services.task_requests import request_task

router = APIRouter(prefix=PREFIX)
TAGS = {Resource.INSTANCE: "instances"}
Endpoint = Callable[..., Awaitable[Response]]
_P = inspect.Parameter


def _parameters(spec: TaskSpec, route: Route) -> list[inspect.Parameter]:
    ids = [_P(name, _P.POSITIONAL_OR_KEYWORD, annotation=UUID) for name in path_ids(route)]
    body = [_P("body", _P.POSITIONAL_OR_KEYWORD, annotation=spec.params)] if route.body else []
    access = ReadAccess if spec.permission is Permission.READ else WriteAccess
    idem = [_P("idem", _P.POSITIONAL_OR_KEYWORD, annotation=IdempotencyDep)]
    return [
        *ids,
        *body,
        _P("request", _P.POSITIONAL_OR_KEYWORD, annotation=Request),
        _P("session", _P.POSITIONAL_OR_KEYWORD, annotation=SessionDep),
        _P("access", _P.POSITIONAL_OR_KEYWORD, annotation=access),
        *(idem if route.method == "POST" else []),
        _P(
            "on_conflict",
            _P.POSITIONAL_OR_KEYWORD,
            annotation=OnConflict,
            default=enums.OnConflict.QUEUE,
        ),
    ]


def path_ids(route: Route) -> list[str]:
    return re.findall(r"{(\w+)}", route.path)


def endpoint_for(spec: TaskSpec, route: Route) -> Endpoint:
    """The endpoint that queues `spec`'s type, named and documented by its route."""
    ids = path_ids(route)

    async def endpoint(**values: Any) -> Response:
        body = values.get("body")
        task = await request_task(
            values["session"],
            values["access"],
            spec.task_type,
            {name: values[name] for name in ids},
            body.model_dump(mode="json") if body is not None else None,
            reject_if_busy=values["on_conflict"] is enums.OnConflict.REJECT,
        )
        return await task_accepted(
            values["request"], values["session"], values.get("idem"), values["access"], task
        )

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        _parameters(spec, route), return_annotation=Response
    )
    endpoint.__name__ = endpoint.__qualname__ = route.name
    endpoint.__doc__ = f"Queues `{spec.task_type}`: {route.doc}"
    return endpoint


for _spec in CATALOGUE.values():
    _route = _spec.route
    if _spec.supported and _route is not None and _route.generated:
        router.add_api_route(
            _route.path,
            endpoint_for(_spec, _route),
            methods=[_route.method],
            status_code=202,
            response_model=TaskOut,
            tags=[TAGS[_spec.resource]],
        )
