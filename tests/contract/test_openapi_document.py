"""The OpenAPI document is what clients are generated from: one bearer scheme, every status and
error code an operation answers, shared components, short stable operation ids, inputs typed as
the server checks them, and the create answer's task in its body."""

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from jsonschema import Draft202012Validator

from nuage.api import errors
from nuage.domain import errors as e
from tests.support import Stack, TenantFactory

OPERATIONS = Path(__file__).parent / "openapi_operations.json"
P = "/v1/organizations/{organization_id}/projects/{project_id}/compute"
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("post", "/v1/auth/login")}
PUBLIC |= {("post", "/v1/auth/refresh")}
PUBLIC |= {("post", "/v1/auth/session"), ("post", "/v1/auth/session/refresh")}
PUBLIC |= {("delete", "/v1/auth/session")}  # the console's cookie sign-in
PUBLIC |= {("get", "/metrics")}  # no API credential: loopback clients or the metrics token


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(op for _m, _p, op in operations(doc) if op["operationId"] == operation_id)


def described(doc: dict[str, Any], operation_id: str, status: int) -> str:
    text: str = operation(doc, operation_id)["responses"][str(status)]["description"]
    return text


# --- item 2: one bearer scheme ---------------------------------------------------------------


def test_one_bearer_scheme_applies_everywhere_but_health_and_auth(openapi: dict[str, Any]) -> None:
    assert openapi["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert openapi["security"] == [{"bearer": []}]
    for method, path, op in operations(openapi):
        expected = [] if (method, path) in PUBLIC else [{"bearer": []}]
        assert op.get("security", openapi["security"]) == expected, (method, path)
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "authorization" not in names, (method, path)


# --- item 3: every status an operation answers, with the error schema -------------------------


@pytest.mark.parametrize(
    ("operation_id", "status", "codes"),
    [
        ("create_instance", 403, ["permission_denied", "quota_exceeded"]),
        ("create_instance", 409, ["idempotency_key_reused"]),
        ("create_instance", 413, ["request_too_large"]),
        ("create_instance", 415, ["unsupported_media_type"]),
        ("create_instance", 400, ["parse_error"]),
        ("start_instance", 409, ["instance_busy", "instance_deleting", "idempotency_key_reused"]),
        ("delete_instance", 409, ["instance_busy", "instance_deleting"]),
        ("create_task", 400, ["task_type_not_supported"]),
        ("cancel_task", 409, ["invalid_task_state"]),
        ("retry_task", 409, ["invalid_task_state", "instance_deleting"]),
        ("login", 401, ["authentication_failed"]),
        ("refresh", 401, ["authentication_failed"]),
        ("get_task", 404, ["not_found"]),
        ("list_tasks", 503, ["database_unavailable"]),
    ],
)
def test_operations_name_the_codes_they_answer(
    openapi: dict[str, Any], operation_id: str, status: int, codes: list[str]
) -> None:
    text = described(openapi, operation_id, status)
    assert all(f"`{code}`" in text for code in codes), text


# The console's WebSocket bridge answers these to its upgrade request; OpenAPI describes no
# WebSocket, so docs/api.md ("Console sessions") documents them.
NOT_IN_THE_DOCUMENT = {e.ConsoleTokenRefused, e.ConsoleUnreachable}


def test_every_error_of_the_table_is_documented_somewhere(openapi: dict[str, Any]) -> None:
    """A new error class mapped in `api.errors.STATUS` shows up in the document by itself."""

    def kinds(base: type[e.NuageError]) -> Iterator[type[e.NuageError]]:
        yield base
        for sub in base.__subclasses__():
            yield from kinds(sub)

    texts: dict[str, list[str]] = {}
    for _m, _p, op in operations(openapi):
        for status, response in op["responses"].items():
            texts.setdefault(status, []).append(response["description"])
    for base, _status in errors.STATUS:
        for kind in kinds(base):
            if kind in NOT_IN_THE_DOCUMENT:
                continue
            if kind.__subclasses__():
                continue  # a family: its members are what is raised
            name = "`ValidationError`" if issubclass(kind, e.ValidationFailed) else f"`{kind.code}`"
            status = str(errors.status_for(kind))
            assert any(name in text for text in texts.get(status, [])), (status, name)


def test_error_responses_use_the_shared_error_schemas(openapi: dict[str, Any]) -> None:
    shared = {"#/components/schemas/Error", "#/components/schemas/ValidationError"}
    for method, path, op in operations(openapi):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                refs = {s["$ref"] for s in schema.get("anyOf", [schema])}
                assert refs <= shared, (method, path, status)
            if status == "401":
                assert "WWW-Authenticate" in response["headers"], (method, path)
    assert set(openapi["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}


# --- item 4: shared components, never inlined -------------------------------------------------


def inline_schemas(node: Any, *, top: bool = False) -> Iterator[dict[str, Any]]:
    """Every schema object in the document except the components' own top level."""
    if isinstance(node, dict):
        if not top and ("enum" in node or {"detail", "code"} <= set(node.get("properties", {}))):
            yield node
        for key, value in node.items():
            yield from inline_schemas(value, top=top and key not in ("properties", "items"))
    elif isinstance(node, list):
        for value in node:
            yield from inline_schemas(value)


def test_no_enum_or_error_shape_is_inlined(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    shared_enums = {frozenset(s["enum"]) for s in components.values() if "enum" in s}
    found: list[frozenset[str]] = []
    for item in openapi["paths"].values():
        found += [frozenset(s.get("enum", ["error shape"])) for s in inline_schemas(item)]
    for schema in components.values():
        for prop in schema.get("properties", {}).values():
            found += [frozenset(s.get("enum", ["error shape"])) for s in inline_schemas(prop)]
    copies = {values: n for values, n in Counter(found).items() if n > 1 or values in shared_enums}
    assert copies == {}
    for name in ("Error", "ValidationError", "OnConflict", "TaskType", "TaskStatus"):
        assert name in components
    assert "InstanceStatus" in components


# --- item 5: short, stable operation ids ------------------------------------------------------


def test_operation_ids_are_the_committed_ones(openapi: dict[str, Any]) -> None:
    """A change here is a change for every generated client: update the file in review."""
    served = sorted(f"{m.upper()} {p} {op['operationId']}" for m, p, op in operations(openapi))
    assert served == json.loads(OPERATIONS.read_text(encoding="utf-8"))
    ids = [op["operationId"] for _m, _p, op in operations(openapi)]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalpha() and i.islower() and len(i) <= 30 for i in ids), ids


# --- item 6: inputs as the server checks them -------------------------------------------------


def test_instance_create_says_what_the_server_takes(openapi: dict[str, Any]) -> None:
    create = openapi["components"]["schemas"]["InstanceCreate"]
    assert create["properties"]["vpc_id"]["type"] == "null"
    validator = Draft202012Validator(create)
    body = {"name": "a", "size_id": str(uuid4()), "location_id": str(uuid4())}
    assert not validator.is_valid(body)  # neither image_id nor os_name
    assert not validator.is_valid({**body, "image_id": None})
    assert not validator.is_valid({**body, "os_name": ""})
    assert validator.is_valid({**body, "os_name": "debian"})
    assert validator.is_valid({**body, "image_id": str(uuid4())})


def test_task_filters_are_typed_as_the_enums(openapi: dict[str, Any]) -> None:
    params = {p["name"]: p["schema"] for p in operation(openapi, "list_tasks")["parameters"]}
    assert params["status"]["items"] == {"$ref": "#/components/schemas/TaskStatus"}
    assert params["task_type"]["items"] == {"$ref": "#/components/schemas/TaskType"}
    assert params["status"]["type"] == params["task_type"]["type"] == "array"
    assert params["instance_id"] == {"type": "string", "format": "uuid", "title": "Instance Id"}


KEYS = ["k", "a b", "k" * 255, "k" * 256, "", "clé", "\x7f", "tab\tinside", "~!@#$%^&*()"]


@pytest.mark.anyio
async def test_the_idempotency_key_rule_is_the_documented_one(
    openapi: dict[str, Any], stack: Stack, tenants: TenantFactory
) -> None:
    """The server accepts a key exactly when the documented schema does."""
    parameter = next(
        p
        for p in operation(openapi, "sync_instance")["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    validator = Draft202012Validator(parameter["schema"])
    tenant = await tenants()
    instance, _task = await tenant.create_instance()
    for key in KEYS:
        try:
            response = await tenant.post(
                f"/instances/{instance['id']}/sync", headers={"Idempotency-Key": key.encode()}
            )
        except httpx.LocalProtocolError:  # not sendable: nothing to compare
            continue
        assert (response.status_code == 202) == validator.is_valid(key), (key, response.text)


# --- item 9: the create answer carries its task -----------------------------------------------


@pytest.mark.anyio
async def test_the_create_answer_names_its_task_in_the_body(
    openapi: dict[str, Any], tenants: TenantFactory
) -> None:
    created = openapi["components"]["schemas"]["InstanceCreated"]
    assert "task_id" in created["properties"] and "task_id" not in created["required"]
    assert operation(openapi, "create_instance")["responses"]["201"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/InstanceCreated"}
    tenant = await tenants()
    body, task_id = await tenant.create_instance()
    assert body["task_id"] == task_id
    task = (await tenant.get(f"/tasks/{body['task_id']}")).json()
    assert task["task_type"] == "create_vps" and task["instance_id"] == body["id"]


# --- item 11: /schema and / -------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_document_is_at_schema_and_the_root_is_the_web_console(stack: Stack) -> None:
    served = await stack.client.get("/schema")
    assert served.status_code == 200
    assert served.json() == (await stack.client.get("/openapi.json")).json()
    root = await stack.client.get("/")
    assert root.status_code == 200 and "text/html" in root.headers["content-type"]  # the console


# --- links: what a stateful client (or tester) follows ----------------------------------------


def test_the_create_answer_links_to_its_instance_and_its_task(openapi: dict[str, Any]) -> None:
    links = operation(openapi, "create_instance")["responses"]["201"]["links"]
    project = {
        "organization_id": "$request.path.organization_id",
        "project_id": "$request.path.project_id",
    }
    assert links["get_instance"]["parameters"] == {**project, "instance_id": "$response.body#/id"}
    assert links["get_task"]["parameters"] == {**project, "id": "$response.body#/task_id"}
    accepted = operation(openapi, "start_instance")["responses"]["202"]["links"]
    assert accepted["cancel_task"]["parameters"] == {**project, "id": "$response.body#/id"}
    assert accepted["get_instance_task"]["parameters"] == {
        **project,
        "instance_id": "$response.body#/instance_id",
        "id": "$response.body#/id",
    }
    operation_ids = {op["operationId"] for _m, _p, op in operations(openapi)}
    for _m, _p, op in operations(openapi):
        for response in op["responses"].values():
            assert set(response.get("links", {})) <= operation_ids
