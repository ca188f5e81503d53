"""DRF-style page-number pagination over a select, with a bounded `count`.

`count` is exact up to `PageRequest.count_limit` matching rows (the `list_count_limit` setting);
past it, counting every match costs a read of each one, so `count` is the limit and the page says
so (`count_capped`). `next` never depends on the count: it is there when a row follows the page.
"""

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.domain.errors import NotFound

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DEFAULT_COUNT_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    count_limit: int = DEFAULT_COUNT_LIMIT

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    count: int  # exact, or count_limit when count_capped
    items: list[T]
    page: int
    page_size: int
    has_next: bool
    count_capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _page(request: PageRequest, rows: list[T], total: int) -> PageResult[T]:
    """The envelope of `rows` (the page and at most one row after it) among `total` matches
    (counted up to count_limit + 1). A page past the last is NotFound("Invalid page."), as in
    DRF."""
    if request.page > 1 and not rows:
        raise NotFound("Invalid page.")
    return PageResult(
        count=min(total, request.count_limit),
        items=rows[: request.page_size],
        page=request.page,
        page_size=request.page_size,
        has_next=len(rows) > request.page_size,
        count_capped=total > request.count_limit,
    )


async def paginate(
    session: AsyncSession, stmt: sa.Select[Any], request: PageRequest
) -> PageResult[Any]:
    """A page of the ORM entities `stmt` selects."""
    return await paginate_rows(session, stmt, request, itemgetter(0))


async def paginate_rows(
    session: AsyncSession,
    stmt: sa.Select[Any],
    request: PageRequest,
    item: Callable[[sa.Row[Any]], T],
) -> PageResult[T]:
    """A page of `item(row)` for the rows of `stmt`. One statement: the page, one row more (is
    there a next page?) and, in each row, the count of the matches up to count_limit + 1; the
    count and the rows see the same snapshot."""
    matches: sa.Select[Any] = stmt.order_by(None).with_only_columns(
        sa.literal_column("1"), maintain_column_froms=True
    )
    bounded = matches.limit(request.count_limit + 1).subquery()
    total = sa.select(sa.func.count()).select_from(bounded).scalar_subquery()
    paged = stmt.add_columns(total).limit(request.page_size + 1).offset(request.offset)
    rows = (await session.execute(paged)).all()
    return _page(request, [item(row) for row in rows], rows[0][-1] if rows else 0)


def paginate_list(rows: list[T], request: PageRequest) -> PageResult[T]:
    """The same envelope over a short list already in memory (a user's keys, projects)."""
    start = request.offset
    return _page(request, rows[start : start + request.page_size + 1], len(rows))
