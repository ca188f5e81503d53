"""DRF-style page-number pagination over a select."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.domain.errors import NotFound

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    count: int
    items: list[T]
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count

    @property
    def has_previous(self) -> bool:
        return self.page > 1


async def paginate(
    session: AsyncSession, stmt: sa.Select[Any], request: PageRequest
) -> PageResult[Any]:
    """Count and fetch one page; a page past the last is NotFound("Invalid page."), as in DRF."""
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    total = count or 0
    if request.page > 1 and (request.page - 1) * request.page_size >= total:
        raise NotFound("Invalid page.")
    offset = (request.page - 1) * request.page_size
    rows = (await session.scalars(stmt.limit(request.page_size).offset(offset))).unique().all()
    return PageResult(total, list(rows), request.page, request.page_size)


def paginate_list(rows: list[T], request: PageRequest) -> PageResult[T]:
    """The same envelope over a short list already in memory (a user's keys, projects)."""
    if request.page > 1 and (request.page - 1) * request.page_size >= len(rows):
        raise NotFound("Invalid page.")
    start = (request.page - 1) * request.page_size
    return PageResult(
        len(rows), rows[start : start + request.page_size], request.page, request.page_size
    )
