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
    role = await session.scalar(sa.select(Membership.role).where(_member(principal, org_id)))
    if role is None:
        raise NotFound()
    return Role(role)


def _member(principal: Principal, org_id: UUID) -> sa.ColumnElement[bool]:
    """The caller's membership row of the organization (a project token's organization only)."""
    mine = sa.and_(Membership.organization_id == org_id, Membership.user_id == principal.user_id)
    if not principal.project_token:
        return mine
    theirs = sa.select(Project.organization_id).where(Project.id == principal.project_id)
    return sa.and_(mine, Membership.organization_id.in_(theirs))


async def project_access(
    session: AsyncSession, principal: Principal, org_id: UUID, project_id: UUID, *, write: bool
) -> ProjectAccess:
    """The caller's role, the organization and the project, in one statement."""
    project_of_org = sa.and_(
        Project.id == project_id,
        Project.organization_id == Membership.organization_id,
        visible_projects(principal, Membership.role),
    )
    found = (
        await session.execute(
            sa.select(Membership.role, Organization, Project)
            .join(Organization, Organization.id == Membership.organization_id)
            .outerjoin(Project, project_of_org)
            .where(_member(principal, org_id))
        )
    ).first()
    if found is None:
        raise NotFound()
    stored_role, organization, project = found
    if project is None:  # an outer join's missing side, whatever the type says
        raise NotFound()
    role = Role(stored_role)
    permission = Permission.WRITE if write else Permission.READ
    require(principal, permission, role=role)
    return ProjectAccess(principal, organization, project, role)


def require(principal: Principal, permission: Permission, *, role: Role | None) -> None:
    """Refuse unless the caller's role (None: no organization is involved) and key scopes allow
    `permission` (the table is `domain/permissions.py`)."""
    reason = permission_refusal(principal, permission, role=role)
    if reason is not None:
        raise PermissionDenied(reason)


def permission_refusal(
    principal: Principal, permission: Permission, *, role: Role | None
) -> str | None:
    """Why the caller may not do what needs `permission` (`require`'s rule), or None."""
    return refusal(
        permission,
        role=role,
        scopes=principal.scopes,
        staff=principal.is_staff,
        project_token=principal.project_token,
    )


def authorize(access: ProjectAccess, permission: Permission) -> None:
    """Refuse a project action (e.g. a staff-only task type) the caller may not do."""
    require(access.principal, permission, role=access.role)


def sees_project(principal: Principal, role: Role, project_id: UUID, *, listed: bool) -> bool:
    """`visible_projects` for one project of the member's organization, applied in Python to
    facts read beside it: `listed` says whether the caller was added to the project."""
    if principal.project_token and principal.project_id != project_id:
        return False
    return role is not Role.GUEST or listed


def visible_projects(
    principal: Principal, role: Role | sa.orm.InstrumentedAttribute[str]
) -> sa.ColumnElement[bool]:
    """Which projects of their organization a member sees: all, or for a guest only the projects
    they were added to, and for a project token only its project (the others do not exist for
    them: NotFound). `role` is the member's, or the column that holds it (then the rule is
    applied by the database, in the statement that reads the membership)."""
    confined = Project.id == principal.project_id if principal.project_token else sa.true()
    if isinstance(role, Role) and role is not Role.GUEST:
        return confined
    mine = sa.select(ProjectMember.project_id).where(ProjectMember.user_id == principal.user_id)
    if isinstance(role, Role):
        return sa.and_(confined, Project.id.in_(mine))
    return sa.and_(confined, sa.or_(role != Role.GUEST.value, Project.id.in_(mine)))
