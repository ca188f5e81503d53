"""An organization's audit log, for its owners: every mutating request, newest first."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from nuage.api.deps import PageDep, PrincipalDep, SessionDep
from nuage.api.pages import page_of
from nuage.api.schemas.audit import AuditRecordOut
from nuage.api.schemas.common import UTC_ASSUMED, Page, UtcDateTime
from nuage.services import audit

router = APIRouter(prefix="/v1/organizations", tags=["audit-log"])
MethodFilter = Literal["POST", "PUT", "PATCH", "DELETE"]


@router.get("/{organization_id}/audit-log")
async def list_audit_log(
    organization_id: UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    actor_id: UUID | None = None,
    credential_id: UUID | None = None,
    method: MethodFilter | None = None,
    outcome: audit.Outcome | None = None,
    created_after: Annotated[UtcDateTime | None, Query(description=UTC_ASSUMED)] = None,
    created_before: Annotated[UtcDateTime | None, Query(description=UTC_ASSUMED)] = None,
) -> Page[AuditRecordOut]:
    """Filters: `actor_id`, `credential_id`, `method`, `outcome`, `created_after`,
    `created_before`. Owners only (an owner's read-only key reads it too)."""
    filters = audit.AuditFilters(
        actor_id=actor_id,
        credential_id=credential_id,
        method=method,
        outcome=outcome,
        created_after=created_after,
        created_before=created_before,
    )
    result = await audit.list_records(session, principal, organization_id, filters, page)
    return page_of(request, result, AuditRecordOut.of)
