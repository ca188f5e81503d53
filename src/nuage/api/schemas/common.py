"""Shapes shared by every resource: DRF's list envelope and error bodies."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class ErrorOut(BaseModel):
    detail: str
    code: str


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")
