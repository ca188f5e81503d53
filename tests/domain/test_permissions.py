"""Roles, key scopes and project tokens to permissions: the one table every access check reads
(the route-by-route matrix is docs/permissions.md, walked by tests/api/test_auth_tenancy.py)."""

import pytest

from nuage.domain.enums import Role, Scope
from nuage.domain.permissions import Permission, refusal, scopes_refusal

P = Permission
ALL = frozenset(Scope)
READ_WRITE = frozenset({Scope.COMPUTE_READ, Scope.COMPUTE_WRITE})
READ_ONLY = frozenset({Scope.COMPUTE_READ})
WRITE_ONLY = frozenset({Scope.COMPUTE_WRITE})

# What each organization role may do with a read-write key (or an access token), non-staff.
GRANTED = {
    Role.OWNER: {P.READ, P.WRITE, P.MANAGE, P.AUDIT, P.ACCOUNT},
    Role.EDITOR: {P.READ, P.WRITE, P.MANAGE, P.ACCOUNT},
    Role.VIEWER: {P.READ, P.ACCOUNT},
    Role.GUEST: {P.READ, P.WRITE, P.ACCOUNT},  # inside the projects it was added to
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_roles(role: Role, permission: Permission) -> None:
    allowed = refusal(permission, role=role, scopes=ALL, staff=False) is None
    assert allowed == (permission in GRANTED[role])


def test_a_read_only_key_reads_and_nothing_more_whatever_the_role() -> None:
    for role in (Role.OWNER, None):
        assert refusal(P.READ, role=role, scopes=READ_ONLY, staff=True) is None
        for permission in (P.WRITE, P.MANAGE):
            reason = refusal(permission, role=role, scopes=READ_ONLY, staff=True)
            assert reason == "This API key lacks the `compute:write` scope."
        reason = refusal(P.STAFF, role=role, scopes=READ_ONLY, staff=True)
        assert reason == "This API key lacks the `admin` scope."


def test_a_write_key_also_reads() -> None:
    assert refusal(P.READ, role=Role.EDITOR, scopes=WRITE_ONLY, staff=False) is None


def test_a_key_without_scopes_is_refused_reading() -> None:
    reason = refusal(P.READ, role=Role.OWNER, scopes=frozenset(), staff=False)
    assert reason == "This API key lacks the `compute:read` scope."


def test_staff_only_needs_an_operator_with_the_admin_scope() -> None:
    assert refusal(P.STAFF, role=None, scopes=frozenset({Scope.ADMIN}), staff=True) is None
    reason = refusal(P.STAFF, role=None, scopes=READ_WRITE, staff=True)
    assert reason == "This API key lacks the `admin` scope."


def test_a_project_token_works_only_inside_its_project() -> None:
    inside = {P.READ, P.WRITE}
    for permission in Permission:
        reason = refusal(permission, role=Role.OWNER, scopes=ALL, staff=True, project_token=True)
        assert (reason is None) == (permission in inside), permission
        if permission not in inside:
            assert reason == "A project token works only inside its project."


def test_only_operators_mint_admin_keys_and_no_key_mints_more_than_it_holds() -> None:
    admin = frozenset({Scope.ADMIN})
    assert scopes_refusal(admin, held=ALL, staff=True) is None
    assert scopes_refusal(admin, held=ALL, staff=False) is not None
    assert scopes_refusal(READ_WRITE, held=READ_ONLY, staff=True) is not None
    assert scopes_refusal(READ_ONLY, held=READ_WRITE, staff=False) is None


def test_staff_only_needs_an_operator_who_may_write_there() -> None:
    assert refusal(P.STAFF, role=Role.OWNER, scopes=ALL, staff=True) is None
    assert refusal(P.STAFF, role=Role.GUEST, scopes=ALL, staff=True) is None
    assert refusal(P.STAFF, role=Role.OWNER, scopes=ALL, staff=False) is not None
    assert refusal(P.STAFF, role=Role.VIEWER, scopes=ALL, staff=True) is not None


def test_the_callers_own_things_need_only_the_scope() -> None:
    assert refusal(P.WRITE, role=None, scopes=WRITE_ONLY, staff=False) is None
