"""Request dependencies as `Annotated` aliases: the session, the caller, the project in the path."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api import audit_trail
from nuage.api.request_log import credential_of
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


class BearerHeader(SecurityBase):
    """The `Authorization` header as it came, declared as the document's HTTP bearer scheme (so
    clients take the token once). It refuses nothing itself: `authenticate` gives the 401s."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            description="`Authorization: Bearer <token>`: a JWT from `/v1/auth/login`, or an API "
            "key (`sk-onetsolutions-…`)."
        )
        self.scheme_name = "bearer"

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get("Authorization")


bearer = BearerHeader()


async def get_principal(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Depends(bearer)],
) -> Principal:
    settings = runtime.settings
    principal = await authenticate(
        session,
        authorization,
        secret=settings.secret_key,
        accepted=settings.accepted_secret_keys,
    )
    audit_trail.note_principal(principal)
    # For the access log (api/request_log.py): which credential, never the token.
    request.state.credential_id = credential_of(principal)
    return principal


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
    runtime: RuntimeDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    return PageRequest(page, page_size, count_limit=runtime.settings.list_count_limit)


PageDep = Annotated[PageRequest, Depends(page_request)]
