"""Shapes shared by every resource: DRF's list envelope and error bodies; how a field is
documented when the document must say more (or other) than its Python type."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    field_validator,
)

from nuage.domain.text import check_storable_text

T = TypeVar("T")


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UTC_ASSUMED = "ISO 8601. Without an offset the time is taken as UTC; a date alone is midnight UTC."
# Every datetime the API reads: a time without an offset (or a bare date) is UTC, as documented.
UtcDateTime = Annotated[datetime, AfterValidator(_assume_utc)]


class Page(BaseModel, Generic[T]):
    """DRF's list envelope. `count` is exact up to the server's `list_count_limit` (10,000 by
    default); a longer list answers that number and `count_capped: true`, a key answered only
    then. `next` and `previous` are right either way."""

    count: int = Field(
        description="How many items the list has: exact up to the server's `list_count_limit`; "
        "past it, that limit, with `count_capped`."
    )
    next: str | None = Field(description="The next page, whenever an item follows this one.")
    previous: str | None
    results: list[T]
    count_capped: bool = Field(
        default=False,
        exclude_if=lambda capped: not capped,
        description="Present, and true, only when the list has more items than `count` says: "
        "`count` is the server's `list_count_limit`, not the total.",
    )


class Error(BaseModel):
    """Every error that is not about fields: `{"detail", "code"}`, as DRF answers."""

    detail: str = Field(description="A sentence for people.")
    code: str = Field(description="A stable code for programs (e.g. `instance_busy`).")


class FieldErrors(RootModel[dict[str, list[str] | dict[str, Any]]]):
    """Bad input, as DRF answers it: field name → messages, nested for nested fields
    (`{"parameters": {"size_id": ["…"]}}`); `non_field_errors` for the body as a whole."""


def documented_as(schema: dict[str, Any]) -> WithJsonSchema:
    """Document a field or parameter as `schema`: for what the server checks itself (with its own
    messages), or accepts in more forms than the document needs to promise."""
    return WithJsonSchema(schema)


def reference(enum: type[StrEnum]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{enum.__name__}"}


def list_of(enum: type[StrEnum]) -> WithJsonSchema:
    """A repeatable query parameter whose values are `enum`'s (the component of that name)."""
    return documented_as({"type": "array", "items": reference(enum)})


def optional_in_contract(*names: str) -> ConfigDict:
    """Fields always answered but not promised by the contract (the seed does not have them, or
    marks them optional): left out of the document's `required`."""

    def drop(schema: dict[str, Any]) -> None:
        schema["required"] = [name for name in schema.get("required", []) if name not in names]

    return ConfigDict(json_schema_extra=drop)


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        check_storable_text(value)
        return value
