"""Request dependencies as `Annotated` aliases: the session, the caller, the project in the path."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api.runtime import Runtime
from nuage.db.errors import translate_db_errors
from nuage.services.access import ProjectAccess, project_access
from nuage.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from nuage.services.principals import Principal, authenticate


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with translate_db_errors(), runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_principal(
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return await authenticate(session, authorization, secret=runtime.settings.secret_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def read_access(
    organization_id: UUID, project_id: UUID, session: SessionDep, principal: PrincipalDep
) -> ProjectAccess:
    return await project_access(session, principal, organization_id, project_id, write=False)


async def write_access(
    organization_id: UUID, project_id: UUID, session: SessionDep, principal: PrincipalDep
) -> ProjectAccess:
    return await project_access(session, principal, organization_id, project_id, write=True)


ReadAccess = Annotated[ProjectAccess, Depends(read_access)]
WriteAccess = Annotated[ProjectAccess, Depends(write_access)]


def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    return PageRequest(page=page, page_size=page_size)


PageDep = Annotated[PageRequest, Depends(page_request)]
