"""The one table from errors to HTTP, and DRF-shaped bodies for every error the API can give:
`{"detail", "code"}`, or `{"field": ["message"]}` for validation. Never a bare 500 with a trace."""

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nuage.db.errors import is_unavailable
from nuage.domain import errors as e
from nuage.domain.field_errors import field_errors

log = logging.getLogger("nuage.api")

STATUS: list[tuple[type[e.NuageError], int]] = [
    (e.NotFound, 404),
    (e.AuthenticationFailed, 401),
    (e.PermissionDenied, 403),
    (e.ConsoleTokenRefused, 403),
    (e.OriginRefused, 403),
    (e.QuotaExceeded, 403),
    (e.ValidationFailed, 400),
    (e.LimitReached, 400),
    (e.TaskTypeNotSupported, 400),
    (e.CapabilityNotSupported, 400),
    (e.WebhookUrlRefused, 400),
    (e.Conflict, 409),
    (e.Throttled, 429),
    (e.DatabaseUnavailable, 503),
    (e.ConsoleUnreachable, 502),
]
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
}
PARSE_ERROR = "parse_error"


def status_for(error_type: type[e.NuageError]) -> int:
    return next((status for kind, status in STATUS if issubclass(error_type, kind)), 500)


def status_of(error: e.NuageError) -> int:
    return status_for(type(error))


def error_response(status: int, detail: str, code: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


async def _nuage_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, e.NuageError)
    return nuage_error_response(error)


def nuage_error_response(error: e.NuageError) -> JSONResponse:
    status = status_of(error)
    if isinstance(error, e.ValidationFailed):
        return JSONResponse(error.fields, status_code=400)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 503:
        headers["Retry-After"] = "5"
    if isinstance(error, e.Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if status == 500:
        log.error("unmapped error %r", error)
    return error_response(status, error.message, error.code, **headers)


def validation_fields(errors: Any) -> tuple[bool, dict[str, Any]]:
    """FastAPI's request errors as DRF fields; True first if a path parameter was malformed."""
    items = list(errors)
    in_path = any(tuple(item.get("loc", ()))[:1] == ("path",) for item in items)
    for item in items:
        if item.get("type") == "json_invalid":
            return False, {"__parse__": [item.get("ctx", {}).get("error", "invalid JSON")]}
    empty = [
        i for i in items if i.get("type") == "missing" and tuple(i.get("loc", ())) == ("body",)
    ]
    if empty:  # an empty body is not JSON
        return in_path, {"__parse__": ["Expecting value: the request body is empty"]}
    return in_path, field_errors(items, skip=1)


async def _request_validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    in_path, fields = validation_fields(error.errors())
    if in_path:  # a malformed id names nothing: the same 404 as a missing one
        return error_response(404, "Not found.", "not_found")
    if "__parse__" in fields:
        return error_response(400, f"JSON parse error - {fields['__parse__'][0]}", PARSE_ERROR)
    return JSONResponse(fields, status_code=400)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = HTTP_CODES.get(error.status_code, "error")
    detail = error.detail if isinstance(error.detail, str) else json.dumps(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = "Not found."
    headers = dict(error.headers or {})
    return error_response(error.status_code, detail, code, **headers)


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "Internal server error.", "internal_error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.NuageError, _nuage_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """A database failure that reached the API untranslated: 503 if the database is gone."""
    if is_unavailable(error):
        return nuage_error_response(e.DatabaseUnavailable())
    return await _unexpected(request, error)
