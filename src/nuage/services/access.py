"""Authorization: which organizations and projects a principal may read or change.

Another tenant's organization or project is NotFound, exactly like a missing one; a viewer or a
read-only key asking to change something is PermissionDenied.
"""

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Membership, Organization, Project, ProjectMember
from nuage.domain.enums import Role
from nuage.domain.errors import NotFound, PermissionDenied
from nuage.domain.permissions import Permission, refusal
from nuage.services.principals import Principal


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    principal: Principal
    organization: Organization
    project: Project
    role: Role


async def organization_role(session: AsyncSession, principal: Principal, org_id: UUID) -> Role:
    """The caller's role in the organization; NotFound if they are not a member (or hold a
    project token of another organization)."""
    stmt = sa.select(Membership.role).where(
        Membership.organization_id == org_id, Membership.user_id == principal.user_id
    )
    if principal.project_token:
        theirs = sa.select(Project.organization_id).where(Project.id == principal.project_id)
        stmt = stmt.where(Membership.organization_id.in_(theirs))
    role = await session.scalar(stmt)
    if role is None:
        raise NotFound()
    return Role(role)


async def project_access(
    session: AsyncSession, principal: Principal, org_id: UUID, project_id: UUID, *, write: bool
) -> ProjectAccess:
    role = await organization_role(session, principal, org_id)
    project = await session.scalar(
        sa.select(Project).where(
            Project.id == project_id,
            Project.organization_id == org_id,
            visible_projects(principal, role),
        )
    )
    if project is None:
        raise NotFound()
    permission = Permission.WRITE if write else Permission.READ
    require(principal, permission, role=role)
    organization = await session.get(Organization, org_id)
    assert organization is not None  # a membership row references it
    return ProjectAccess(principal, organization, project, role)


def require(principal: Principal, permission: Permission, *, role: Role | None) -> None:
    """Refuse unless the caller's role (None: no organization is involved) and key scopes allow
    `permission` (the table is `domain/permissions.py`)."""
    reason = refusal(
        permission,
        role=role,
        scopes=principal.scopes,
        staff=principal.is_staff,
        project_token=principal.project_token,
    )
    if reason is not None:
        raise PermissionDenied(reason)


def authorize(access: ProjectAccess, permission: Permission) -> None:
    """Refuse a project action (e.g. a staff-only task type) the caller may not do."""
    require(access.principal, permission, role=access.role)


def visible_projects(principal: Principal, role: Role) -> sa.ColumnElement[bool]:
    """Which projects of their organization a member sees: all, or for a guest only the projects
    they were added to, and for a project token only its project (the others do not exist for
    them: NotFound)."""
    confined = Project.id == principal.project_id if principal.project_token else sa.true()
    if role is not Role.GUEST:
        return confined
    mine = sa.select(ProjectMember.project_id).where(ProjectMember.user_id == principal.user_id)
    return sa.and_(confined, Project.id.in_(mine))
