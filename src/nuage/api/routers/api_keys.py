"""API keys of the caller: list, create (the key is shown once), revoke."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, PrincipalDep, SessionDep
from nuage.api.pages import page_of
from nuage.api.schemas.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from nuage.api.schemas.common import Page
from nuage.api.writes import IdempotencyDep, commit
from nuage.services import api_keys
from nuage.services.pagination import paginate_list

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])


@router.get("")
async def list_api_keys(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> Page[ApiKeyOut]:
    rows = await api_keys.list_keys(session, principal)
    return page_of(request, paginate_list(rows, page), ApiKeyOut.of)


@router.post("", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, principal: PrincipalDep, idem: IdempotencyDep
) -> Response:
    key, row = await api_keys.create_for(
        session,
        principal,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
        project_id=body.project_id,
    )
    out = ApiKeyCreated(**ApiKeyOut.of(row).model_dump(), key=key)
    return await commit(session, idem, 201, out, secret_fields=frozenset({"key"}))


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(key_id: UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    await api_keys.revoke(session, principal, key_id)
    return await commit(session, None, 204, None)
