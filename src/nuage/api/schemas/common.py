"""Shapes shared by every resource: DRF's list envelope and error bodies."""

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

T = TypeVar("T")


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UTC_ASSUMED = "ISO 8601. Without an offset the time is taken as UTC; a date alone is midnight UTC."
# Every datetime the API reads: a time without an offset (or a bare date) is UTC, as documented.
UtcDateTime = Annotated[datetime, AfterValidator(_assume_utc)]


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class ErrorOut(BaseModel):
    detail: str
    code: str


def _check_text(value: Any) -> None:
    """Refuse text no database or JSON encoder can store: NUL (PostgreSQL refuses it, as DRF
    does) and lone surrogates (`"\\udfff"` is valid JSON syntax, but not encodable as UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("null_characters", "Null characters are not allowed.")
        if any("\ud800" <= char <= "\udfff" for char in value):
            raise PydanticCustomError("surrogates", "Lone surrogate characters are not allowed.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        _check_text(value)
        return value
