"""Organizations of the caller (a bare array, as the seen API answers) and their projects."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, PrincipalDep, SessionDep
from nuage.api.pages import page_of
from nuage.api.schemas.accounts import OrganizationOut, ProjectCreate, ProjectOut
from nuage.api.schemas.common import Page
from nuage.api.writes import IdempotencyDep, commit
from nuage.services import accounts
from nuage.services.pagination import paginate_list

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])


@router.get("")
async def list_organizations(session: SessionDep, principal: PrincipalDep) -> list[OrganizationOut]:
    return [OrganizationOut.of(o) for o in await accounts.list_organizations(session, principal)]


@router.get("/{organization_id}/projects")
async def list_projects(
    organization_id: UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
) -> Page[ProjectOut]:
    rows = await accounts.list_projects(session, principal, organization_id)
    return page_of(request, paginate_list(rows, page), ProjectOut.of)


@router.post("/{organization_id}/projects", status_code=201, response_model=ProjectOut)
async def create_project(
    organization_id: UUID,
    body: ProjectCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idem: IdempotencyDep,
) -> Response:
    project = await accounts.create_project(
        session, principal, organization_id, name=body.name, description=body.description
    )
    return await commit(session, idem, 201, ProjectOut.of(project))
