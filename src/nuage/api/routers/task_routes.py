"""The routes that queue a task, generated from the catalogue: one per supported spec with a
generated `Route`. Each answers 202 with the task and a `Location` header.

An endpoint's inputs are in its signature (built with `inspect.Signature`): its path ids, its
body (the spec's parameters model, so the OpenAPI document shows each action's own schema), the
caller's access (read or write, from the spec's permission), `Idempotency-Key` on a POST or PUT,
`?on_conflict=`, and the parameters of a `query` route (given only when not their default).
"""

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from nuage.api.deps import ReadAccess, SessionDep, WriteAccess
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain import enums
from nuage.domain.catalogue import CATALOGUE, Params, Resource, Route, TaskSpec
from nuage.domain.permissions import Permission
from nuage.services.task_requests import request_task

router = APIRouter(prefix=PREFIX)
R = Resource
TAGS = {  # the OpenAPI tag of each resource's routes
    R.INSTANCE: "instances",
    R.SNAPSHOT: "snapshots",
    R.BACKUP: "backups",
    R.IMAGE: "images",
    R.VOLUME: "volumes",
    R.IP_ADDRESS: "ips",
    R.VPC: "vpcs",
    R.FIREWALL: "firewall",
    R.SOFTWARE: "software",
    R.CONSOLE: "console",
}
Endpoint = Callable[..., Awaitable[Response]]
_P = inspect.Parameter


def body_model(spec: TaskSpec, route: Route) -> type[BaseModel]:
    """The request body: the spec's parameters model, less the parameters its path gives (a
    model derived from the one, named after it, so a path id is never asked for twice)."""
    from_path = set(route.named(dict.fromkeys(route.ids, UUID(int=0))))
    fields = spec.params.model_fields
    if not from_path & set(fields):
        return spec.params
    kept: dict[str, Any] = {n: (f.annotation, f) for n, f in fields.items() if n not in from_path}
    model: type[BaseModel] = create_model(f"{spec.params.__name__}Body", __base__=Params, **kept)
    return model


def _query(spec: TaskSpec, route: Route) -> dict[str, FieldInfo]:
    """The parameters a route takes from its query string (none unless `route.query`)."""
    return dict(body_model(spec, route).model_fields) if route.query else {}


def _parameters(spec: TaskSpec, route: Route) -> list[inspect.Parameter]:
    ids = [_P(name, _P.POSITIONAL_OR_KEYWORD, annotation=UUID) for name in route.ids]
    body_type = body_model(spec, route)
    body = [_P("body", _P.POSITIONAL_OR_KEYWORD, annotation=body_type)] if route.body else []
    query = [
        _P(
            name,
            _P.KEYWORD_ONLY,
            annotation=Annotated[field.annotation, Query(description=field.description)],
            default=field.default,
        )
        for name, field in _query(spec, route).items()
    ]
    access = ReadAccess if spec.permission is Permission.READ else WriteAccess
    idem = [_P("idem", _P.POSITIONAL_OR_KEYWORD, annotation=IdempotencyDep)]
    return [
        *ids,
        *body,
        _P("request", _P.POSITIONAL_OR_KEYWORD, annotation=Request),
        _P("session", _P.POSITIONAL_OR_KEYWORD, annotation=SessionDep),
        _P("access", _P.POSITIONAL_OR_KEYWORD, annotation=access),
        *(idem if route.method in ("POST", "PUT") else []),
        _P(
            "on_conflict",
            _P.POSITIONAL_OR_KEYWORD,
            annotation=OnConflict,
            default=enums.OnConflict.QUEUE,
        ),
        *query,
    ]


def endpoint_for(spec: TaskSpec, route: Route) -> Endpoint:
    """The endpoint that queues `spec`'s type, named and documented by its route."""

    query = _query(spec, route)

    async def endpoint(**values: Any) -> Response:
        body = values.get("body")
        given = {name: values[name] for name, f in query.items() if values[name] != f.default}
        task = await request_task(
            values["session"],
            values["access"],
            spec.task_type,
            route.named({name: values[name] for name in route.ids}),
            body.model_dump(mode="json") if body is not None else given or None,
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
            name=_route.name,
            status_code=202,
            response_model=TaskOut,
            tags=[TAGS[_spec.resource]],
        )
