"""Build DRF list envelopes with absolute `next`/`previous` links."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from nuage.api.schemas.common import Page
from nuage.services.pagination import PageResult

Out = TypeVar("Out")


def page_of(request: Request, result: PageResult[Any], mapper: Callable[[Any], Out]) -> Page[Out]:
    def link(page: int) -> str:
        return str(request.url.include_query_params(page=page, page_size=result.page_size))

    return Page[Out](
        count=result.count,
        next=link(result.page + 1) if result.has_next else None,
        previous=link(result.page - 1) if result.has_previous else None,
        results=[mapper(item) for item in result.items],
        count_capped=result.count_capped,
    )


def absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path
