"""The SDK's models (nuage.client.models) against the served OpenAPI document: each model has
exactly its schema's fields, each field the schema's type (enums with the same values), and a
field is required in the model exactly when the document requires it. Every object the API
answers has a model, so a new resource or field cannot be forgotten by the SDK."""

from typing import Any

import pytest
from pydantic import BaseModel

from nuage.client.models import SCHEMAS
from nuage.client.sse import Event

# Operator objects (/v1/admin/…), which the SDK does not cover: `nuage hosts` and `nuage
# ip-pools` manage them on the server's machine. And the web console's cookie sign-in, which
# only a browser on the console's own origin may use (its refresh token never leaves the cookie).
NOT_IN_SDK = {"HostOut", "CapacityOut", "IpPoolOut", "BrowserSessionOut"}
DOC_NAMES = {name: model for model, name in SCHEMAS.items()}
# Models of schemas that other branches bring (the event stream's `EventOut`): checked once the
# served document has them.
ARRIVING: dict[type[BaseModel], str] = {Event: "EventOut"}
# Documented enums the SDK reads as plain strings, as their values grow with the product.
OPEN_ENUMS = {("Event", "type")}


def shape(schema: dict[str, Any], components: dict[str, Any]) -> frozenset[Any]:
    """A comparable description of a JSON schema: its kinds, with enum values and model names."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        target = components[name]
        if "enum" in target:
            return frozenset({("enum", tuple(sorted(map(str, target["enum"]))))})
        return frozenset({("model", name)})
    if "anyOf" in schema:
        return frozenset().union(*(shape(s, components) for s in schema["anyOf"]))
    if "enum" in schema:
        return frozenset({("enum", tuple(sorted(map(str, schema["enum"]))))})
    kind = schema.get("type")
    if kind is None:
        return frozenset({"any"})
    if kind == "array":
        return frozenset({("array", shape(schema.get("items", {}), components))})
    if kind == "string" and schema.get("format") in ("uuid", "date-time"):
        return frozenset({schema["format"]})
    return frozenset({kind})


def documented_name(model: type[BaseModel]) -> str:
    return SCHEMAS.get(model) or ARRIVING[model]


def client_components(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's JSON schema, with its nested models renamed to the document's names."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    renamed = {}
    for name, sub in defs.items():
        doc_name = next((n for m, n in SCHEMAS.items() if m.__name__ == name), name)
        renamed[doc_name] = sub
    for sub in [schema, *defs.values()]:
        for prop in sub.get("properties", {}).values():
            _rename_refs(prop)
    return schema, renamed | {documented_name(model): schema}


def _rename_refs(node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            doc = next((n for m, n in SCHEMAS.items() if m.__name__ == name), name)
            node["$ref"] = f"#/components/schemas/{doc}"
        for value in node.values():
            _rename_refs(value)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value)


@pytest.mark.parametrize("model", [*SCHEMAS, *ARRIVING], ids=lambda m: m.__name__)
def test_a_model_has_its_schemas_fields_types_and_required(
    model: type[BaseModel], openapi: dict[str, Any]
) -> None:
    documented = openapi["components"]["schemas"]
    if documented_name(model) not in documented:
        pytest.skip(f"{documented_name(model)} is not in the document yet")
    schema = documented[documented_name(model)]
    ours, our_components = client_components(model)
    assert set(ours["properties"]) == set(schema["properties"]), "fields"
    assert set(ours.get("required", [])) == set(schema.get("required", [])), "required fields"
    required = set(schema.get("required", []))
    for name, prop in schema["properties"].items():
        want = shape(prop, documented)
        got = shape(ours["properties"][name], our_components)
        if name not in required:  # a field the contract may leave out reads as None
            got -= {"null"}
            want -= {"null"}
        if (model.__name__, name) in OPEN_ENUMS:
            want = frozenset(
                "string" if isinstance(k, tuple) and k[0] == "enum" else k for k in want
            )
        assert got == want, f"{model.__name__}.{name}"


def test_every_object_the_api_answers_has_a_model(openapi: dict[str, Any]) -> None:
    answered = {
        name
        for name in openapi["components"]["schemas"]
        if name.endswith("Out") or name in {"InstanceCreated", "ApiKeyCreated", "InstanceRef"}
    }
    assert answered - NOT_IN_SDK - set(DOC_NAMES) - set(ARRIVING.values()) == set()
