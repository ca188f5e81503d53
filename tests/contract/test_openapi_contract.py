"""The contract only grows: the OpenAPI document keeps every field and path of the committed
snapshot `openapi_seed_fields.json`, with the same types. New fields, paths and enum values are
fine; a removed, renamed or retyped one, a required response field made optional, or a new required
parameter on a seed path fails here.

The snapshot uses the seed page's notation (`string<uuid>`, `string<date-time> | null`, `any`, a
schema name for a nested object). To extend it after adding to the contract, print
`snapshot_of(doc, SNAPSHOT)` and keep the new lines; never edit a line away.
"""

import json
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT: dict[str, Any] = json.loads(
    (Path(__file__).parent / "openapi_seed_fields.json").read_text(encoding="utf-8")
)
TASK = "/v1/organizations/{organization_id}/projects/{project_id}/compute/tasks/{id}"
NESTED = (
    "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances/{instance_id}"
    "/tasks/{id}"
)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def signature(schema: dict[str, Any]) -> str:
    """A property's type in the seed's notation: `string<uuid>`, `integer[0..100]`,
    `string<date-time> | null`, `TaskErrorOut | null`, `any`."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = [signature(part) for part in schema[union]]
            return " | ".join(sorted(parts, key=lambda p: p == "null"))
    if "type" not in schema:
        return "any"
    text = str(schema["type"])
    if "format" in schema:
        text += f"<{schema['format']}>"
    if "minimum" in schema or "maximum" in schema:
        low, high = schema.get("minimum", ""), schema.get("maximum", "")
        text += f"[{_number(low) if low != '' else ''}..{_number(high) if high != '' else ''}]"
    if schema["type"] == "array":
        text += f" of {signature(schema['items'])}"
    return text


def schema_entry(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {"enum": list(schema["enum"])}
    return {
        "required": list(schema.get("required", [])),
        "properties": {name: signature(p) for name, p in schema.get("properties", {}).items()},
    }


def operation_entry(operation: dict[str, Any]) -> dict[str, Any]:
    parameters = {
        p["name"]: f"{p['in']}{' required' if p.get('required') else ''} {signature(p['schema'])}"
        for p in operation.get("parameters", [])
    }
    responses = {
        status: signature(response["content"]["application/json"]["schema"])
        for status, response in operation.get("responses", {}).items()
        if "application/json" in response.get("content", {})
    }
    return {"parameters": parameters, "responses": responses}


def snapshot_of(doc: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """The document reduced to the schemas and operations that `like` names."""
    schemas = doc["components"]["schemas"]
    return {
        "schemas": {
            name: schema_entry(schemas[name]) for name in like["schemas"] if name in schemas
        },
        "paths": {
            path: {
                method: operation_entry(doc["paths"][path][method])
                for method in methods
                if method in doc["paths"][path]
            }
            for path, methods in like["paths"].items()
            if path in doc["paths"]
        },
    }


def breaking_changes(snapshot: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """What `doc` lost or changed relative to `snapshot`; additions are not reported."""
    now = snapshot_of(doc, snapshot)
    problems: list[str] = []
    for name, then in snapshot["schemas"].items():
        current = now["schemas"].get(name)
        if current is None:
            problems.append(f"schema {name} is gone")
            continue
        if "enum" in then:
            lost = [v for v in then["enum"] if v not in current.get("enum", [])]
            problems += [f"{name}: enum value {v!r} is gone" for v in lost]
            continue
        for prop, kind in then["properties"].items():
            got = current["properties"].get(prop)
            if got is None:
                problems.append(f"{name}.{prop} is gone")
            elif got != kind:
                problems.append(f"{name}.{prop} was {kind}, is now {got}")
        optional = [p for p in then["required"] if p not in current["required"]]
        problems += [f"{name}.{p} is no longer required" for p in optional]
    for path, methods in snapshot["paths"].items():
        for method, then in methods.items():
            current = now["paths"].get(path, {}).get(method)
            if current is None:
                problems.append(f"{method.upper()} {path} is gone")
                continue
            for section in ("parameters", "responses"):
                for key, kind in then[section].items():
                    got = current[section].get(key)
                    if got != kind:
                        problems.append(f"{method.upper()} {path} {section} {key}: {kind} → {got}")
            new_required = [
                name
                for name, kind in current["parameters"].items()
                if name not in then["parameters"] and " required " in kind
            ]
            problems += [
                f"{method.upper()} {path} requires new parameter {n}" for n in new_required
            ]
    return problems


def test_snapshot_covers_the_seed() -> None:
    """The snapshot itself keeps what it must: the seed paths, the seed task fields, the enums."""
    assert set(SNAPSHOT["paths"]) == {TASK, NESTED}
    assert all(set(methods) == {"get"} for methods in SNAPSHOT["paths"].values())
    task = SNAPSHOT["schemas"]["TaskOut"]
    seed = ["id", "instance_id", "instance", "task_type", "status", "result", "started_at"]
    seed += ["completed_at", "retry_count", "created", "modified", "created_by"]
    assert task["required"] == seed  # the seed's required fields, no more
    assert list(task["properties"])[: len(seed) + 2] == [*seed, "parameters", "max_retries"]
    assert len(SNAPSHOT["schemas"]["TaskType"]["enum"]) == 33
    assert len(SNAPSHOT["schemas"]["TaskStatus"]["enum"]) == 5


def test_openapi_keeps_every_snapshot_field_and_path(openapi: dict[str, Any]) -> None:
    assert breaking_changes(SNAPSHOT, openapi) == []


def _property(doc: dict[str, Any], schema: str) -> dict[str, Any]:
    properties: dict[str, Any] = doc["components"]["schemas"][schema]["properties"]
    return properties


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: _property(d, "TaskOut").pop("retry_count"), "TaskOut.retry_count is gone"),
        (
            lambda d: _property(d, "TaskOut").__setitem__("created", {"type": "string"}),
            "TaskOut.created was string<date-time>, is now string",
        ),
        (
            lambda d: _property(d, "TaskOut")["started_at"].__setitem__(
                "anyOf", [{"type": "null"}]
            ),
            "TaskOut.started_at was string<date-time> | null, is now null",
        ),
        (
            lambda d: _property(d, "TaskOut")["max_retries"].__setitem__("maximum", 2**31 - 1),
            "TaskOut.max_retries was integer[0..4294967295], is now integer[0..2147483647]",
        ),
        (
            lambda d: _property(d, "UserRef").__setitem__(
                "mail", _property(d, "UserRef").pop("email")
            ),
            "UserRef.email is gone",
        ),
        (
            lambda d: d["components"]["schemas"]["TaskOut"]["required"].remove("result"),
            "TaskOut.result is no longer required",
        ),
        (
            lambda d: d["components"]["schemas"]["TaskType"]["enum"].remove("apply_config"),
            "TaskType: enum value 'apply_config' is gone",
        ),
        (lambda d: d["paths"].pop(NESTED), f"GET {NESTED} is gone"),
        (
            lambda d: d["paths"][TASK]["get"]["responses"]["200"]["content"][
                "application/json"
            ].__setitem__("schema", {"$ref": "#/components/schemas/InstanceOut"}),
            f"GET {TASK} responses 200: TaskOut → InstanceOut",
        ),
        (
            lambda d: d["paths"][TASK]["get"]["parameters"].append(
                {"name": "fields", "in": "query", "required": True, "schema": {"type": "string"}}
            ),
            f"GET {TASK} requires new parameter fields",
        ),
    ],
)
def test_a_breaking_change_is_caught(openapi: dict[str, Any], change: Any, expected: str) -> None:
    doc = deepcopy(openapi)
    change(doc)
    assert breaking_changes(SNAPSHOT, doc) == [expected]


def test_additions_are_not_breaking(openapi: dict[str, Any]) -> None:
    doc = deepcopy(openapi)
    _property(doc, "TaskOut")["eta"] = {"type": "string", "format": "date-time"}
    doc["components"]["schemas"]["TaskStatus"]["enum"].append("paused")
    doc["paths"][TASK]["get"]["parameters"].append(
        {"name": "fields", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    doc["paths"][TASK]["post"] = {"responses": {}}
    assert breaking_changes(SNAPSHOT, doc) == []


def test_served_task_requires_exactly_the_seed_fields(openapi: dict[str, Any]) -> None:
    """The served document, not the snapshot: `parameters`, `max_retries` and our additions are
    optional, as the seed page and the notes say; the seed's required fields stay required."""
    seed = json.loads((Path(__file__).parent / "seed_task.schema.json").read_text())
    task = openapi["components"]["schemas"]["TaskOut"]
    assert task["required"] == seed["required"]
    assert set(task["properties"]) - set(seed["properties"]) == {
        "progress",
        "error",
        "cancel_requested",
    }


def test_openapi_documents_the_errors_the_api_gives(openapi: dict[str, Any]) -> None:
    """Validation errors are DRF's 400 (never FastAPI's 422), and every operation documents the
    error shapes a client must handle: 401 where a token is needed, 404 where the path names
    objects, 503 wherever the database is read."""
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if path.startswith("/v1/") and not path.startswith("/v1/auth/"):
                assert {"401", "503"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    create = openapi["paths"][
        "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances"
    ]
    assert "400" in create["post"]["responses"]
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
