"""Text every store accepts: the one rule applied to request bodies and task parameters alike."""

from typing import Any

from pydantic_core import PydanticCustomError


def check_storable_text(value: Any) -> None:
    """Refuse text no database or JSON encoder can store: NUL (PostgreSQL refuses it, as DRF
    does) and lone surrogates (`"\\udfff"` is valid JSON syntax, but not encodable as UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("null_characters", "Null characters are not allowed.")
        if any("\ud800" <= char <= "\udfff" for char in value):
            raise PydanticCustomError("surrogates", "Lone surrogate characters are not allowed.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable_text(key)
            check_storable_text(item)
    elif isinstance(value, list):
        for item in value:
            check_storable_text(item)
