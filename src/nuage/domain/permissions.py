"""Who may do what: organization roles, API key scopes and project tokens, in one table.

A caller holds a role in an organization (`Role`) and, with an API key, a set of scopes (`Scope`;
an access token holds them all, `admin` only for staff). An action is allowed when the role
grants it and the scopes cover it; staff-only actions also need an operator (`User.is_staff`).
A project token is an API key confined to one project: it never manages the organization, the
caller's credentials or the platform. Tenancy (which projects a guest or a project token sees)
is not decided here: it decides whether a project exists for the caller at all (a 404).
docs/permissions.md is the whole matrix, route by route, and a test walks it.
"""

from collections.abc import Mapping
from enum import StrEnum

from nuage.domain.enums import Role, Scope


class Permission(StrEnum):
    READ = "read"  # see a project's resources and tasks
    WRITE = "write"  # change them: queue tasks, edit instances
    MANAGE = "manage"  # change the organization's structure: create projects
    AUDIT = "audit"  # read the organization's audit log
    ACCOUNT = "account"  # manage the caller's own credentials (API keys, project tokens)
    STAFF = "staff"  # operators only (the admin API, apply_config); a project writer besides


# Every member manages its own credentials (they never exceed the user's own rights).
_ANYONE = frozenset({Permission.ACCOUNT})
_MEMBER = _ANYONE | {Permission.READ, Permission.WRITE, Permission.STAFF}
ROLE_GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.OWNER: _MEMBER | {Permission.MANAGE, Permission.AUDIT},
    Role.EDITOR: _MEMBER | {Permission.MANAGE},
    Role.VIEWER: _ANYONE | {Permission.READ},
    Role.GUEST: _MEMBER,  # a guest works inside the projects it was added to
}

_ANY_COMPUTE = frozenset({Scope.COMPUTE_READ, Scope.COMPUTE_WRITE})
# The scopes that cover a permission: any one of them does (a write key may also read).
COVERING_SCOPES: Mapping[Permission, frozenset[Scope]] = {
    Permission.READ: _ANY_COMPUTE,
    Permission.WRITE: frozenset({Scope.COMPUTE_WRITE}),
    Permission.MANAGE: frozenset({Scope.COMPUTE_WRITE}),
    Permission.AUDIT: _ANY_COMPUTE,
    Permission.ACCOUNT: _ANY_COMPUTE,
    Permission.STAFF: frozenset({Scope.ADMIN}),
}
# The scope a refusal names.
NAMED_SCOPE: Mapping[Permission, Scope] = {
    Permission.READ: Scope.COMPUTE_READ,
    Permission.WRITE: Scope.COMPUTE_WRITE,
    Permission.MANAGE: Scope.COMPUTE_WRITE,
    Permission.AUDIT: Scope.COMPUTE_READ,
    Permission.ACCOUNT: Scope.COMPUTE_READ,
    Permission.STAFF: Scope.ADMIN,
}
# What a project token may do at all: work inside its project.
PROJECT_TOKEN_PERMISSIONS = frozenset({Permission.READ, Permission.WRITE})


def scope_refusal(permission: Permission, scopes: frozenset[Scope]) -> str | None:
    """Why these key scopes do not cover `permission`, or None if they do."""
    if scopes & COVERING_SCOPES[permission]:
        return None
    return f"This API key lacks the `{NAMED_SCOPE[permission]}` scope."


def role_refusal(permission: Permission, role: Role | None, *, staff: bool) -> str | None:
    """Why this role (None: the caller's own things, no role applies) does not grant
    `permission`, or None if it does."""
    if permission is Permission.STAFF and not staff:
        return "Only operators (staff users) may do this."
    if role is None or permission in ROLE_GRANTS[role]:
        return None
    if permission is Permission.MANAGE:
        return "Only owners and editors create projects."
    if permission is Permission.AUDIT:
        return "Only owners read the audit log."
    return "Your role in this organization is read-only."


def refusal(
    permission: Permission,
    *,
    role: Role | None,
    scopes: frozenset[Scope],
    staff: bool,
    project_token: bool = False,
) -> str | None:
    """Why a caller may not do something that needs `permission`, or None if they may. A project
    token is refused outside its project first, then scopes: a read-only key is refused for what
    it is, whatever its owner's role."""
    if project_token and permission not in PROJECT_TOKEN_PERMISSIONS:
        return "A project token works only inside its project."
    return scope_refusal(permission, scopes) or role_refusal(permission, role, staff=staff)


def scopes_refusal(wanted: frozenset[Scope], *, held: frozenset[Scope], staff: bool) -> str | None:
    """Why a caller holding `held` may not mint a key with `wanted`, or None if they may."""
    if Scope.ADMIN in wanted and not staff:
        return "Only operators (staff users) may hold the `admin` scope."
    if not wanted <= held:
        return "An API key cannot create a key with more scopes than its own."
    return None
