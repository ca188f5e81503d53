"""The OpenAPI document as the API really answers: validation errors are DRF's 400, not
FastAPI's default 422, and the error shapes are documented."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "type": "object",
    "required": ["detail", "code"],
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Field name → list of messages (nested for nested fields), as DRF answers.",
    "additionalProperties": True,
}
COMMON = {
    "401": ("Not authenticated.", ERROR),
    "404": ("Not found (also another tenant's resources).", ERROR),
    "503": ("The database is unreachable; nothing was changed.", ERROR),
}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for path, path_item in schema.get("paths", {}).items():
                authenticated = path.startswith("/v1/") and not path.startswith("/v1/auth/")
                for operation in path_item.values():
                    _rewrite(operation.setdefault("responses", {}), authenticated=authenticated)
            schemas = schema.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(responses: dict[str, Any], *, authenticated: bool) -> None:
    if responses.pop("422", None) is not None:
        responses["400"] = _response(
            "Invalid input: field errors, or {detail, code}.", FIELD_ERRORS
        )
    if not authenticated:
        return
    for status, (text, body) in COMMON.items():
        responses.setdefault(status, _response(text, body))


def _response(description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": body}}}
