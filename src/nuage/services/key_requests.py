"""The rules of `principals.authenticate` and `access.project_access`, applied to facts read in
the same statement as what a request asks for (the fast paths: `task_reads`, `action_writes`).

`key_access` is the statement's part that reads the caller: the key by its lookup prefix, its
user, their membership of the path's organization, the path's project and whether the user was
added to it. `allowed` applies the rules to one such row. It only ever allows: a refusal, or a
`last_used` the full path would record, is None, and the caller takes the full path, whose
answer (or write) is then the only one.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.driver_sql import plan_of
from nuage.db.models import ApiKey, Membership, Project, ProjectMember, User
from nuage.db.session import first_row_raw
from nuage.domain.enums import Role
from nuage.domain.permissions import Permission
from nuage.services.access import permission_refusal, sees_project
from nuage.services.principals import Principal, key_refusal, key_scopes, last_used_due

_KEY_COLUMNS: tuple[Any, ...] = (
    ApiKey.id.label("key_id"),
    ApiKey.key_hash,
    ApiKey.scopes,
    ApiKey.expires_at,
    ApiKey.last_used,
    ApiKey.revoked_at,
    ApiKey.project_id.label("key_project_id"),
    User.id.label("user_id"),
    User.is_active,
    User.is_staff,
    Membership.role,
    Project.id.label("project_found"),
    ProjectMember.id.label("project_member"),
)


def key_access(
    *columns: Any, org: sa.BindParameter[Any], project: sa.BindParameter[Any]
) -> sa.Select[Any]:
    """One row per key prefix (`prefix`): the caller's facts, then `columns` (their joins are
    the caller's to add; NULLs where nothing matches)."""
    return (
        sa.select(*_KEY_COLUMNS, *columns)
        .select_from(ApiKey)
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(
            Membership, (Membership.user_id == User.id) & (Membership.organization_id == org)
        )
        .outerjoin(Project, (Project.id == project) & (Project.organization_id == org))
        .outerjoin(
            ProjectMember,
            (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == User.id),
        )
        .where(ApiKey.prefix == sa.bindparam("prefix"))
    )


def allowed(row: Any, key: str, permission: Permission, now: datetime) -> Principal | None:
    """The caller, if the full path would let them do what needs `permission` in the project
    with nothing to write; None otherwise."""
    refused = key_refusal(
        key,
        key_hash=row.key_hash,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        user_active=row.is_active,
        now=now,
    )
    if refused is not None or last_used_due(row.last_used, now):
        return None
    if row.role is None or row.project_found is None:
        return None
    principal = Principal(
        user_id=row.user_id,
        scopes=key_scopes(row.scopes),
        api_key_id=row.key_id,
        is_staff=row.is_staff,
        project_id=row.key_project_id,
    )
    role = Role(row.role)
    listed = row.project_member is not None
    if not sees_project(principal, role, row.project_found, listed=listed):
        return None
    return principal if permission_refusal(principal, permission, role=role) is None else None


def first_row(conn: Connection, statement: sa.Select[Any], params: dict[str, Any]) -> Any:
    """The statement's first row. On PostgreSQL it is compiled once and sent as its SQL: asyncpg
    returns the columns' own types (UUID, aware datetimes, decoded JSON), which saves
    SQLAlchemy's per-execution work. SQLite's values need SQLAlchemy's result processing (UUID
    text, datetimes)."""
    if conn.dialect.name == "postgresql":
        plan = plan_of(statement, conn.dialect, typed=False)
        return conn.exec_driver_sql(plan.sql, tuple(plan.values(params))).first()
    return conn.execute(statement, params).first()


async def read_first_row(
    reader: AsyncEngine, statement: sa.Select[Any], params: dict[str, Any]
) -> Any:
    """`first_row` on its own connection of `reader` (`db.session.make_reader`): the statement
    compiled once, sent as the driver's SQL (`db.session.first_row_raw`), its values converted
    as SQLAlchemy would (on SQLite: UUID text, datetimes, JSON; asyncpg returns the columns' own
    types), without SQLAlchemy's per-execution work. The row's columns are attributes."""
    dialect = reader.dialect
    plan = plan_of(statement, dialect, typed=dialect.name != "postgresql")
    found = await first_row_raw(reader, plan.sql, plan.values(params))
    return None if found is None else plan.make_row(found)
