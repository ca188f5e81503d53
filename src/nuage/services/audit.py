"""The audit log: one row per mutating request, readable by the organization's owners.

A request that changes something writes its row in the transaction of the change (`add`, called
by the API's one commit point), so a change is never without its row, nor a row without its
change. A request that changes nothing (refused, failed, an idempotent replay) gets a row in a
transaction of its own after its answer (`add_apart`): its change, if any, was rolled back.
Rows hold ids, never a body, a header or a secret. `prune` is the retention (a setting).
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import AuditRecord, Membership
from nuage.db.session import transaction
from nuage.domain.permissions import Permission
from nuage.services.access import organization_role, require
from nuage.services.pagination import PageRequest, PageResult, paginate
from nuage.services.principals import Principal


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"  # the change committed, with this row
    REFUSED = "refused"  # a 4xx: nothing changed
    FAILED = "failed"  # a 5xx: nothing changed
    REPLAYED = "replayed"  # an idempotent replay, or an answer that changed nothing


class CredentialKind(StrEnum):
    ACCESS_TOKEN = "access_token"
    API_KEY = "api_key"
    PROJECT_TOKEN = "project_token"


def outcome_of(status_code: int, *, committed: bool) -> Outcome:
    if status_code >= 500:
        return Outcome.FAILED
    if status_code >= 400:
        return Outcome.REFUSED
    return Outcome.SUCCEEDED if committed else Outcome.REPLAYED


def credential_kind(principal: Principal) -> CredentialKind:
    if principal.project_token:
        return CredentialKind.PROJECT_TOKEN
    return CredentialKind.API_KEY if principal.api_key_id else CredentialKind.ACCESS_TOKEN


@dataclass(slots=True)
class Entry:
    """What the API knows of a request when it records it."""

    principal: Principal
    method: str
    route: str  # the route's template, e.g. /v1/organizations/{organization_id}/projects
    target_ids: dict[str, str] = field(default_factory=dict)  # the path's parameters
    source_address: str | None = None
    request_id: str | None = None

    @property
    def organization_id(self) -> UUID | None:
        raw = self.target_ids.get("organization_id")
        try:
            return UUID(raw) if raw else None
        except ValueError:
            return None

    def row(self, status_code: int, outcome: Outcome, organization_id: UUID | None) -> AuditRecord:
        return AuditRecord(**self.columns(status_code, outcome, organization_id))

    def columns(
        self, status_code: int, outcome: Outcome, organization_id: UUID | None
    ) -> dict[str, Any]:
        """The row's columns; `created` and `id` take their defaults."""
        return {
            "organization_id": organization_id,
            "actor_id": self.principal.user_id,
            "credential_id": self.principal.api_key_id,
            "credential_kind": credential_kind(self.principal).value,
            "source_address": self.source_address,
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route[:300],
            "target_ids": self.target_ids,
            "status_code": status_code,
            "outcome": outcome.value,
        }


def add(session: AsyncSession, entry: Entry, status_code: int) -> None:
    """The row of a change, in the change's transaction (the path's organization was checked)."""
    session.add(AuditRecord(**change_columns(entry, status_code)))


def change_columns(entry: Entry, status_code: int) -> dict[str, Any]:
    """The columns of a change's row (`add`), for a writer without the ORM."""
    return entry.columns(status_code, Outcome.SUCCEEDED, entry.organization_id)


async def add_apart(
    sessions: async_sessionmaker[AsyncSession], entry: Entry, status_code: int
) -> None:
    """The row of a request that changed nothing, in its own transaction. It goes to the path's
    organization only if the caller is a member: a stranger cannot write into another
    organization's log (its attempts are kept with no organization, for operators)."""
    async with transaction(sessions) as session:
        org_id = entry.organization_id
        if org_id is not None:
            member = await session.scalar(
                sa.select(Membership.organization_id).where(
                    Membership.organization_id == org_id,
                    Membership.user_id == entry.principal.user_id,
                )
            )
            org_id = member
        session.add(entry.row(status_code, outcome_of(status_code, committed=False), org_id))


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor_id: UUID | None = None
    credential_id: UUID | None = None
    method: str | None = None
    outcome: Outcome | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


async def list_records(
    session: AsyncSession,
    principal: Principal,
    org_id: UUID,
    filters: AuditFilters,
    page: PageRequest,
) -> PageResult[AuditRecord]:
    """The organization's rows, newest first; owners only."""
    role = await organization_role(session, principal, org_id)
    require(principal, Permission.AUDIT, role=role)
    stmt = sa.select(AuditRecord).where(*_conditions(org_id, filters))
    return await paginate(session, stmt.order_by(AuditRecord.id.desc()), page)


def _conditions(org_id: UUID, filters: AuditFilters) -> list[sa.ColumnElement[bool]]:
    found = [AuditRecord.organization_id == org_id]
    if filters.actor_id is not None:
        found.append(AuditRecord.actor_id == filters.actor_id)
    if filters.credential_id is not None:
        found.append(AuditRecord.credential_id == filters.credential_id)
    if filters.method is not None:
        found.append(AuditRecord.method == filters.method.upper())
    if filters.outcome is not None:
        found.append(AuditRecord.outcome == filters.outcome.value)
    if filters.created_after is not None:
        found.append(AuditRecord.created >= filters.created_after)
    if filters.created_before is not None:
        found.append(AuditRecord.created < filters.created_before)
    return found


async def prune(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete the rows created before `older_than` (the retention job calls this with
    now - `audit_retention_days`); how many went. The caller commits."""
    result = await session.execute(sa.delete(AuditRecord).where(AuditRecord.created < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]
