"""Validation errors in DRF's shape, the one answer to bad input: `{"field": ["message"]}`,
nested for nested fields (`{"parameters": {"size_id": ["…"]}}`)."""

from collections.abc import Iterable, Mapping
from typing import Any

UNKNOWN_FIELD = "Unknown field."


def field_errors(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> dict[str, Any]:
    """Pydantic's error list (`ValidationError.errors()`) as DRF field errors. `skip` drops the
    first parts of each location (FastAPI's `body`, `query`…); no location is `non_field_errors`."""
    fields: dict[str, Any] = {}
    for item in errors:
        where = [str(part) for part in item.get("loc", ())][skip:] or ["non_field_errors"]
        message = UNKNOWN_FIELD if item.get("type") == "extra_forbidden" else str(item["msg"])
        _add(fields, where, message)
    return fields


def _add(fields: dict[str, Any], where: list[str], message: str) -> None:
    node = fields
    for part in where[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):  # a message for the whole field is already there
            return
    messages = node.setdefault(where[-1], [])
    if isinstance(messages, list):
        messages.append(message)
