"""Users, organizations, projects and memberships; bootstrap of a first account."""

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import counters
from nuage.db.models import Membership, Organization, Project, ProjectMember, User
from nuage.domain.enums import Role, Scope
from nuage.domain.errors import NotFound, PermissionDenied, ValidationFailed
from nuage.domain.permissions import Permission
from nuage.services import api_keys, security
from nuage.services.access import organization_role, require, visible_projects
from nuage.services.principals import Principal

DEFAULT_INSTANCE_QUOTA = 10


@dataclass(frozen=True, slots=True)
class Bootstrap:
    user_id: UUID
    organization_id: UUID
    project_id: UUID
    api_key: str


async def ensure_user(
    session: AsyncSession, email: str, password: str, *, first_name: str = "", last_name: str = ""
) -> User:
    """The user with `email`, created if missing; an existing user's password must match."""
    email = email.strip().lower()
    if "@" not in email or len(password) < 8:
        raise ValidationFailed(
            {"email": ["Enter a valid email."]}
            if "@" not in email
            else {"password": ["Use at least 8 characters."]}
        )
    user = await session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            password_hash=security.hash_password(password),
            first_name=first_name,
            last_name=last_name,
        )
        session.add(user)
        await session.flush()
    elif not security.verify_password(user.password_hash, password):
        raise PermissionDenied(f"A user {email} exists with another password.")
    return user


async def create_organization(
    session: AsyncSession, owner: User, name: str, *, instance_quota: int = DEFAULT_INSTANCE_QUOTA
) -> Organization:
    legacy_id = await counters.next_value(session, counters.ORGANIZATIONS)
    org = Organization(name=name, legacy_id=legacy_id, instance_quota=instance_quota)
    session.add(org)
    await session.flush()
    session.add(Membership(organization_id=org.id, user_id=owner.id, role=Role.OWNER.value))
    await session.flush()
    return org


async def add_member(session: AsyncSession, org: Organization, user: User, role: Role) -> None:
    existing = await session.scalar(
        sa.select(Membership).where(
            Membership.organization_id == org.id, Membership.user_id == user.id
        )
    )
    if existing is None:
        session.add(Membership(organization_id=org.id, user_id=user.id, role=role.value))
    else:
        existing.role = role.value
    await session.flush()


async def add_project_member(session: AsyncSession, project: Project, user: User) -> None:
    session.add(ProjectMember(project_id=project.id, user_id=user.id))
    await session.flush()


async def bootstrap(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    organization: str,
    project: str,
    instance_quota: int | None = None,
    staff: bool = False,
) -> Bootstrap:
    """Create or reuse the user, their organization and project (by name); mint a new API key."""
    user = await ensure_user(session, email, password)
    user.is_staff = user.is_staff or staff
    org = await session.scalar(
        sa.select(Organization)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id, Organization.name == organization)
        .order_by(Organization.created)
    )
    if org is None:
        org = await create_organization(session, user, organization)
    if instance_quota is not None:
        if instance_quota < 0:
            raise ValidationFailed.on("instance_quota", "Use a number of 0 or more.")
        org.instance_quota = instance_quota
    proj = await session.scalar(
        sa.select(Project).where(Project.organization_id == org.id, Project.name == project)
    )
    if proj is None:
        proj = Project(organization_id=org.id, name=project)
        session.add(proj)
        await session.flush()
    scopes = [Scope.COMPUTE_READ, Scope.COMPUTE_WRITE] + ([Scope.ADMIN] if user.is_staff else [])
    key, _row = await api_keys.create(session, user.id, name="bootstrap", scopes=scopes)
    await session.commit()
    return Bootstrap(user.id, org.id, proj.id, key)


async def list_organizations(session: AsyncSession, principal: Principal) -> list[Organization]:
    stmt = (
        sa.select(Organization)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == principal.user_id)
        .order_by(Organization.created)
    )
    if principal.project_token:
        theirs = sa.select(Project.organization_id).where(Project.id == principal.project_id)
        stmt = stmt.where(Organization.id.in_(theirs))
    return list((await session.scalars(stmt)).all())


async def list_projects(session: AsyncSession, principal: Principal, org_id: UUID) -> list[Project]:
    role = await organization_role(session, principal, org_id)
    stmt = sa.select(Project).where(
        Project.organization_id == org_id, visible_projects(principal, role)
    )
    return list((await session.scalars(stmt.order_by(Project.created))).all())


async def create_project(
    session: AsyncSession, principal: Principal, org_id: UUID, *, name: str, description: str
) -> Project:
    role = await organization_role(session, principal, org_id)
    require(principal, Permission.MANAGE, role=role)
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed.on("name", "Enter a name of 1 to 200 characters.")
    project = Project(organization_id=org_id, name=name, description=description)
    session.add(project)
    await session.flush()
    return project


async def get_user(session: AsyncSession, user_id: UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user
