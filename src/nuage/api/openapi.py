"""The OpenAPI document as the API really answers, built in one place from facts about each route:
who must be authenticated (one HTTP bearer scheme), which errors it can give (from the error table
in `api.errors`, with their codes), shared components for errors and enums, short operation ids
(the endpoints' names), and links between operations for clients and stateful testers."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from itertools import pairwise
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from nuage.api import errors
from nuage.api.deps import get_principal, get_runtime, page_request
from nuage.api.routers.metrics import allowed as metrics_allowed
from nuage.api.schemas.accounts import TokenOut
from nuage.api.schemas.common import Error, FieldErrors
from nuage.api.schemas.events import EventOut
from nuage.api.schemas.instances import InstanceCreated
from nuage.api.schemas.tasks import TaskOut
from nuage.api.schemas.web import BrowserSessionOut
from nuage.api.web.session import check_origin
from nuage.api.writes import idempotency_key
from nuage.domain import enums
from nuage.domain import errors as e
from nuage.domain.catalogue import CATALOGUE, TaskSpec
from nuage.domain.catalogue.volumes import VOLUME_QUOTA_TYPES
from nuage.domain.events import EventType

BEARER = "bearer"
ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION = {"$ref": "#/components/schemas/ValidationError"}
SHARED_ENUMS = (
    enums.TaskType,
    enums.TaskStatus,
    enums.InstanceStatus,
    enums.PowerState,
    enums.BillingCycle,
    enums.OnConflict,
    enums.Scope,
    enums.HostState,
    enums.IpVersion,
    EventType,
)
HEADERS = {
    401: {"WWW-Authenticate": "How to authenticate: `Bearer`."},
    503: {"Retry-After": "Seconds to wait before trying again."},
    429: {
        "Retry-After": "Seconds until the request would be admitted.",
        "RateLimit-Limit": "The quota closest to exhaustion (see `RateLimit-Policy`).",
        "RateLimit-Remaining": "Requests left in it.",
        "RateLimit-Reset": "Seconds until it is full again.",
    },
}
FIELD_ERRORS = None  # the "code" of DRF field errors: they have none
MORE = {
    401: " The code may be more precise: `not_authenticated`, `token_expired`, `token_invalid`, "
    "`api_key_revoked`, `api_key_expired`, `invalid_credentials`…",
}
PROJECT = ("organization_id", "project_id")
# Link sources: a response schema → the path parameters (by `collection/{parameter}`) it names.
LINK_SOURCES: dict[str, dict[str, str]] = {
    "InstanceOut": {"instances/{instance_id}": "$response.body#/id"},
    "InstanceCreated": {
        "instances/{instance_id}": "$response.body#/id",
        "tasks/{id}": "$response.body#/task_id",
    },
    "TaskOut": {
        "tasks/{id}": "$response.body#/id",
        "instances/{instance_id}": "$response.body#/instance_id",
    },
}


def operation_id(route: APIRoute) -> str:
    """An operation's id is its endpoint's name (`create_instance`, `get_task`, …)."""
    return route.name


@dataclass(frozen=True, slots=True)
class Facts:
    """What a route is, as far as the errors it can give are concerned."""

    uses_database: bool
    authenticated: bool
    issues_tokens: bool
    checks_origin: bool  # the web console's cookie endpoints: 403 for a foreign Origin
    inputs: bool  # query, header or body parameters
    body: bool
    names_objects: bool  # path parameters, or pages that may not exist
    idempotent: bool
    queues_task: bool
    may_reject_busy: bool
    creates_instance: bool
    changes_task: bool
    moves_resource: bool = False  # the task it queues sets its resource's status when asked for
    refuses_unmet: bool = False  # its task is refused when its instance is idle and not ready
    attaches_volume: bool = False
    takes_volume_quota: bool = False
    allocates_address: bool = False  # hands out an address from a pool
    acts_on_address: bool = False  # queues a task on one of an instance's addresses
    checks_webhook_url: bool = False  # saves a webhook's URL
    installs_software: bool = False
    uninstalls_software: bool = False
    joins_vpc: bool = False  # reserves a private address in a VPC
    places_vpc: bool = False  # writes a VPC's block (never overlapping another's)
    changes_used_vpc: bool = False  # refused while the VPC has members
    guarded: bool = False  # no credential, but refuses some callers (GET /metrics)


_NOT_TASKS = (e.WebhookUrlRefused,)  # 400s that no task request gives
WEBHOOK_URL_ROUTES = frozenset({"create_webhook", "replace_webhook"})
# Which errors a route can give, by what it is. A new error class mapped to 400 in the error
# table is documented on every route that queues a task.
Rule = tuple[Callable[[Facts], bool], Callable[[], list[type[e.NuageError]]]]
RULES: list[Rule] = [
    (lambda f: f.inputs, lambda: [e.ValidationFailed]),
    (
        lambda f: f.queues_task,
        lambda: [k for k, s in errors.STATUS if s == 400 and k not in _NOT_TASKS],
    ),
    (lambda f: f.checks_webhook_url, lambda: [e.WebhookUrlRefused]),
    (lambda f: f.authenticated or f.issues_tokens, lambda: [e.AuthenticationFailed]),
    (lambda f: f.checks_origin, lambda: [e.OriginRefused]),
    (lambda f: f.authenticated or f.guarded, lambda: [e.PermissionDenied]),
    (lambda f: f.creates_instance or f.takes_volume_quota, lambda: [e.QuotaExceeded]),
    (lambda f: f.moves_resource, lambda: [e.InvalidResourceState]),
    (lambda f: f.attaches_volume, lambda: [e.VolumeElsewhere]),
    (lambda f: f.allocates_address, lambda: [e.AddressPoolExhausted, e.AddressTaken]),
    (lambda f: f.acts_on_address, lambda: [e.PrimaryAddress, e.AddressNotAssigned]),
    (lambda f: f.installs_software, lambda: [e.SoftwareNotForImage, e.SoftwareInstalled]),
    (lambda f: f.uninstalls_software, lambda: [e.SoftwareNotInstalled]),
    (lambda f: f.joins_vpc, lambda: [e.VpcFull, e.AddressTaken]),
    (lambda f: f.places_vpc, lambda: [e.VpcCidrOverlap]),
    (lambda f: f.changes_used_vpc, lambda: [e.VpcHasMembers]),
    (lambda f: f.names_objects, lambda: [e.NotFound]),
    (lambda f: True, lambda: [e.Throttled]),  # rate limits, before any endpoint runs
    (lambda f: f.may_reject_busy, lambda: [e.InstanceBusy]),
    (lambda f: f.queues_task, lambda: [e.InstanceDeleting]),
    (lambda f: f.refuses_unmet, lambda: [e.InstanceNotReady]),
    (lambda f: f.changes_task, lambda: [e.InvalidTaskState]),
    (lambda f: f.idempotent, lambda: [e.IdempotencyKeyReused]),
    (lambda f: f.uses_database, lambda: [e.DatabaseUnavailable]),
]


OPENAPI_PATH = "/openapi.json"


def install(app: FastAPI) -> None:
    """Serve the document at `/openapi.json` and at `/schema` (where the seed's API has it).

    The app is created with `openapi_url=None`: the endpoints here are module functions that
    reach the app through the request. FastAPI caches facts about every endpoint callable in
    process-wide LRU caches, so an endpoint closing over its app would keep that app (and its
    engine) alive after it is gone."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_api_route(OPENAPI_PATH, _document, include_in_schema=False)
    app.add_api_route("/schema", _document, include_in_schema=False)


async def _document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = Error.model_json_schema()
    schemas["ValidationError"] = {**FieldErrors.model_json_schema(), "title": "ValidationError"}
    # The `data` of each event frame of `GET P/events` (a stream has no JSON body to name it).
    schemas["EventOut"] = EventOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["EventOut"].pop("$defs", None)  # EventType is a shared enum
    for enum in SHARED_ENUMS:
        schemas.setdefault(enum.__name__, TypeAdapter(enum).json_schema())
    doc["security"] = [{BEARER: []}]
    for route, operation in _operations(app, doc):
        facts = facts_of(route, operation)
        if facts.authenticated:
            operation.pop("security", None)  # the document's own
        else:
            operation["security"] = []
        _document_errors(operation["responses"], _outcomes(facts))
        _document_success(operation["responses"], facts)
        _parameters_without_null(operation)
    _link(doc)
    return doc


def _operations(app: FastAPI, doc: dict[str, Any]) -> Iterator[tuple[APIRoute, Any]]:
    for context in iter_route_contexts(app.routes):  # included routers' routes too
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            for method in sorted(route.methods or ()):
                yield route, doc["paths"][context.path_format][method.lower()]


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


# The spec whose route each endpoint is (generated or written by hand), by endpoint name.
_SPEC_BY_ROUTE: dict[str, TaskSpec] = {s.route.name: s for s in CATALOGUE.values() if s.route}


def facts_of(route: APIRoute, operation: dict[str, Any]) -> Facts:
    calls = set(_calls(route.dependant))
    spec = _SPEC_BY_ROUTE.get(route.name)
    effects = spec.resource_effects if spec is not None else None
    parameters = operation.get("parameters", [])
    answers_task = route.response_model is TaskOut
    task_type = None if spec is None else spec.task_type
    return Facts(
        uses_database=get_runtime in calls,
        authenticated=get_principal in calls,
        issues_tokens=route.response_model in (TokenOut, BrowserSessionOut),
        checks_origin=check_origin in calls,
        inputs="requestBody" in operation or any(p["in"] != "path" for p in parameters),
        body="requestBody" in operation,
        names_objects=any(p["in"] == "path" for p in parameters) or page_request in calls,
        idempotent=idempotency_key in calls,
        queues_task=answers_task and route.status_code == 202,
        may_reject_busy=any(p["name"] == "on_conflict" for p in parameters),
        creates_instance=route.response_model is InstanceCreated,
        changes_task=answers_task
        and "POST" in (route.methods or ())
        and "/tasks/{id}/" in route.path,
        moves_resource=effects is not None and effects.on_request is not None,
        refuses_unmet=spec is not None and spec.refuse_unmet_when_idle,
        attaches_volume=task_type is enums.TaskType.ATTACH_VOLUME,
        takes_volume_quota=task_type in VOLUME_QUOTA_TYPES,
        allocates_address=route.response_model is InstanceCreated
        or task_type is enums.TaskType.ASSIGN_IP,
        acts_on_address=task_type in {enums.TaskType.REMOVE_IP, enums.TaskType.UPDATE_REVERSE_DNS},
        checks_webhook_url=route.name in WEBHOOK_URL_ROUTES,
        installs_software=task_type is enums.TaskType.INSTALL_SOFTWARE,
        uninstalls_software=task_type is enums.TaskType.UNINSTALL_SOFTWARE,
        joins_vpc=task_type is enums.TaskType.UPDATE_VPC,
        places_vpc=route.name in {"create_vpc", "change_vpc"},
        changes_used_vpc=route.name in {"change_vpc", "delete_vpc"},
        guarded=metrics_allowed in calls,
    )


def _outcomes(facts: Facts) -> dict[int, list[str | None]]:
    """Status → the codes a route can answer with it (None: DRF field errors, which have none)."""
    outcomes: dict[int, list[str | None]] = {}

    def add(status: int, code: str | None) -> None:
        if code not in outcomes.setdefault(status, []):
            outcomes[status].append(code)

    for applies, kinds in RULES:
        if applies(facts):
            for kind in (k for base in kinds() for k in _with_subclasses(base)):
                is_fields = issubclass(kind, e.ValidationFailed)
                add(errors.status_for(kind), FIELD_ERRORS if is_fields else kind.code)
    if facts.body:
        add(400, errors.PARSE_ERROR)
        add(413, errors.HTTP_CODES[413])
        add(415, errors.HTTP_CODES[415])
    return outcomes


def _with_subclasses(kind: type[e.NuageError]) -> Iterator[type[e.NuageError]]:
    yield kind
    for sub in kind.__subclasses__():
        yield from _with_subclasses(sub)


def _document_errors(responses: dict[str, Any], outcomes: dict[int, list[str | None]]) -> None:
    responses.pop("422", None)  # FastAPI's; validation errors are DRF's 400 here
    for status, codes in sorted(outcomes.items()):
        named = [f"`{code}`" for code in codes if code is not FIELD_ERRORS]
        fields = FIELD_ERRORS in codes
        text = HTTPStatus(status).phrase
        if fields:
            text += ": field errors (`ValidationError`)" + (", or " if named else "")
        elif named:
            text += ": "
        text += ", ".join(named) + "." + MORE.get(status, "")
        schema = {"anyOf": [ERROR, VALIDATION]} if fields and named else VALIDATION
        response: dict[str, Any] = {
            "description": text,
            "content": {"application/json": {"schema": schema if fields else ERROR}},
        }
        if status in HEADERS:
            response["headers"] = _headers(HEADERS[status], required=True)
        responses[str(status)] = response


def _document_success(responses: dict[str, Any], facts: Facts) -> None:
    success = next(status for status in responses if status.startswith("2"))
    headers: dict[str, str] = {}
    if facts.queues_task or facts.creates_instance:
        headers["Location"] = "The URL of the queued task."
    extra = {"Idempotent-Replayed": "`true` when this is the stored answer to a replay."}
    documented = _headers(headers, required=True) | (
        _headers(extra, required=False) if facts.idempotent else {}
    )
    if documented:
        responses[success]["headers"] = documented


def _headers(described: dict[str, str], *, required: bool) -> dict[str, Any]:
    return {
        name: {"description": text, "required": required, "schema": {"type": "string"}}
        for name, text in described.items()
    }


def _parameters_without_null(operation: dict[str, Any]) -> None:
    """An optional parameter is absent, never null: `T | None` is documented as `T`."""
    for parameter in operation.get("parameters", []):
        schema = parameter["schema"]
        kept = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
        if len(kept) == 1 and len(schema["anyOf"]) == 2:
            del schema["anyOf"]
            parameter["schema"] = {**kept[0], **schema}


def _link(doc: dict[str, Any]) -> None:
    """Links from each answer that names an instance or a task to the operations that take it."""
    targets = [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if "{project_id}" in path
    ]
    for item in doc["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    _link_response(response, targets)


def _link_response(response: dict[str, Any], targets: list[tuple[str, str, Any]]) -> None:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    named = LINK_SOURCES.get(str(ref).rsplit("/", 1)[-1]) if ref else None
    if named is None:
        return
    links: dict[str, Any] = {}
    for path, _method, target in targets:
        wanted = _resource_parameters(path)
        if wanted and set(wanted) <= set(named):
            parameters = {name: f"$request.path.{name}" for name in PROJECT}
            parameters |= {wanted[segment]: named[segment] for segment in wanted}
            links[target["operationId"]] = {
                "operationId": target["operationId"],
                "parameters": parameters,
            }
    if links:
        response["links"] = links


def _resource_parameters(path: str) -> dict[str, str]:
    """`…/instances/{instance_id}/tasks/{id}` → {"instances/{instance_id}": "instance_id", …}."""
    parts = path.strip("/").split("/")
    return {
        f"{collection}/{part}": part.strip("{}")
        for collection, part in pairwise(parts)
        if part.startswith("{") and part.strip("{}") not in PROJECT
    }
