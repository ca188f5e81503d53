"""Who may do what: organization roles and API key scopes to permissions, in one table.

A caller holds a role in an organization (`Role`) and, with an API key, a set of scopes (`Scope`;
an access token holds them all). An action is allowed when the role grants it and the scopes
cover it; staff-only actions also need an operator (`User.is_staff`). Tenancy (which projects a
guest sees) is not decided here: it decides whether a project exists for the caller at all.
"""

from collections.abc import Mapping
from enum import StrEnum

from nuage.domain.enums import Role, Scope


class Permission(StrEnum):
    READ = "read"  # see a project's resources and tasks
    WRITE = "write"  # change them: queue tasks, edit instances
    MANAGE = "manage"  # change the organization's structure: create projects
    STAFF = "staff"  # operators only (e.g. apply_config); a project writer besides


ROLE_GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset({Permission.READ, Permission.WRITE, Permission.MANAGE, Permission.STAFF}),
    Role.EDITOR: frozenset(
        {Permission.READ, Permission.WRITE, Permission.MANAGE, Permission.STAFF}
    ),
    Role.VIEWER: frozenset({Permission.READ}),
    # a guest works inside the projects it was added to
    Role.GUEST: frozenset({Permission.READ, Permission.WRITE, Permission.STAFF}),
}

# The scopes that cover a permission: any one of them does (a write key may also read).
COVERING_SCOPES: Mapping[Permission, frozenset[Scope]] = {
    Permission.READ: frozenset({Scope.COMPUTE_READ, Scope.COMPUTE_WRITE}),
    Permission.WRITE: frozenset({Scope.COMPUTE_WRITE}),
    Permission.MANAGE: frozenset({Scope.COMPUTE_WRITE}),
    Permission.STAFF: frozenset({Scope.COMPUTE_WRITE}),
}
# The scope a refusal names.
NAMED_SCOPE: Mapping[Permission, Scope] = {
    Permission.READ: Scope.COMPUTE_READ,
    Permission.WRITE: Scope.COMPUTE_WRITE,
    Permission.MANAGE: Scope.COMPUTE_WRITE,
    Permission.STAFF: Scope.COMPUTE_WRITE,
}


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
    return "Your role in this organization is read-only."


def refusal(
    permission: Permission, *, role: Role | None, scopes: frozenset[Scope], staff: bool
) -> str | None:
    """Why a caller may not do something that needs `permission`, or None if they may. Scopes
    are checked first: a read-only key is refused for what it is, whatever its owner's role."""
    return scope_refusal(permission, scopes) or role_refusal(permission, role, staff=staff)
