"""Credentials a security reviewer asks about: refresh-token rotation and reuse, signing key
rotation (`kid`), project tokens and the `admin` scope, each through the API."""

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.models import ApiKey, Project, RefreshToken
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.enums import Role
from nuage.services import security
from tests.support import Stack, Tenant, TenantFactory, create_body, make_staff

pytestmark = pytest.mark.anyio
Headers = dict[str, str]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    body = {"email": tenant.email, "password": tenant.password}
    response = await client.post("/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh": token})


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("code")


# --- refresh tokens ------------------------------------------------------------------------------


async def test_a_reused_refresh_token_revokes_its_whole_family(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    client = stack.client
    first = await login(client, tenant)
    other_login = await login(client, tenant)  # another family: untouched by the reuse
    second = (await refresh(client, first["refresh"])).json()
    third = await refresh(client, second["refresh"])
    assert third.status_code == 200, third.text

    reused = await refresh(client, first["refresh"])  # a thief replays the first token
    assert error_code(reused) == (401, "refresh_token_reused")
    latest = await refresh(client, third.json()["refresh"])  # so the owner's latest dies too
    assert error_code(latest) == (401, "token_revoked")
    elsewhere = await refresh(client, other_login["refresh"])
    assert elsewhere.status_code == 200, elsewhere.text


async def test_refresh_tokens_are_stored_as_hashes_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    pair = await login(stack.client, tenant)
    async with stack.runtime.sessions() as session:
        rows = (await session.execute(sa.select(RefreshToken.__table__))).all()
    stored = repr(rows)
    assert rows and pair["refresh"] not in stored and pair["access"] not in stored
    assert security.token_hash(pair["refresh"]) in stored


async def test_a_forged_refresh_token_with_a_real_id_is_refused(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """The stored hash must match: a token re-signed with the same `jti` but other claims is not
    the token that was issued."""
    tenant = await tenants()
    pair = await login(stack.client, tenant)
    claims = pyjwt.decode(pair["refresh"], options={"verify_signature": False})
    forged, _ = security.issue_token(
        tenant.user_id,
        kind="refresh",
        ttl=timedelta(days=30),
        secret=settings.secret_key,
        extra={"jti": claims["jti"], "fam": claims["fam"]},
    )
    assert error_code(await refresh(stack.client, forged)) == (401, "token_invalid")


# --- signing key rotation ------------------------------------------------------------------------


def app_with_keys(stack: Stack, secret: str, accepted: tuple[str, ...]) -> httpx.AsyncClient:
    settings = replace(stack.runtime.settings, secret_key=secret, accepted_secret_keys=accepted)
    runtime = Runtime(settings, stack.runtime.sessions, stack.runtime.notifier)
    transport = httpx.ASGITransport(app=create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_signing_key_rotation_keeps_old_tokens_until_the_old_key_is_dropped(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    old_key, new_key = settings.secret_key, "a-new-signing-key-that-is-long-enough-for-hs256"
    old_pair = await login(stack.client, tenant)  # issued by a process with the old key
    header = pyjwt.get_unverified_header(old_pair["access"])
    assert header["kid"] == security.key_id(old_key) and old_key not in str(header)

    instances = f"{tenant.base}/instances"
    async with app_with_keys(stack, new_key, (old_key,)) as rotated:
        assert (await rotated.get(instances, headers=bearer(old_pair["access"]))).status_code == 200
        new_pair = (await refresh(rotated, old_pair["refresh"])).json()
        kid = pyjwt.get_unverified_header(new_pair["access"])["kid"]
        assert kid == security.key_id(new_key)
        assert (await rotated.get(instances, headers=bearer(new_pair["access"]))).status_code == 200
    # Before the rollout, a process with the new key only as accepted reads the new tokens too.
    async with app_with_keys(stack, old_key, (new_key,)) as not_yet:
        assert (await not_yet.get(instances, headers=bearer(new_pair["access"]))).status_code == 200
    async with app_with_keys(stack, new_key, ()) as done:  # the old key dropped
        refused = await done.get(instances, headers=bearer(old_pair["access"]))
        assert error_code(refused) == (401, "token_invalid")
        assert (await done.get(instances, headers=bearer(new_pair["access"]))).status_code == 200


# --- project tokens and scopes -------------------------------------------------------------------


async def make_token(stack: Stack, headers: Headers, **body: Any) -> httpx.Response:
    return await stack.client.post(
        "/v1/api-keys", json={"name": "project", **body}, headers=headers
    )


async def other_project(stack: Stack, tenant: Tenant) -> uuid.UUID:
    async with transaction(stack.runtime.sessions) as session:
        project = Project(organization_id=tenant.organization_id, name="other")
        session.add(project)
        await session.flush()
        return project.id


async def test_a_project_token_works_in_its_project_and_nowhere_else(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    other = await other_project(stack, tenant)
    created = await make_token(stack, tenant.headers, project_id=str(tenant.project_id))
    assert created.status_code == 201, created.text
    assert created.json()["project_id"] == str(tenant.project_id)
    token = bearer(created.json()["key"])
    client = stack.client

    made = await client.post(f"{tenant.base}/instances", json=create_body(), headers=token)
    assert made.status_code == 201, made.text
    elsewhere = tenant.base.replace(str(tenant.project_id), str(other))
    assert (await client.get(f"{elsewhere}/instances", headers=token)).status_code == 404
    orgs = (await client.get("/v1/organizations", headers=token)).json()
    assert [o["id"] for o in orgs] == [str(tenant.organization_id)]
    projects = f"/v1/organizations/{tenant.organization_id}/projects"
    listed = (await client.get(projects, headers=token)).json()["results"]
    assert [p["id"] for p in listed] == [str(tenant.project_id)]
    for refused in (
        await client.get("/v1/api-keys", headers=token),
        await make_token(stack, token, project_id=str(tenant.project_id)),
        await client.post(projects, json={"name": "mine"}, headers=token),
    ):
        assert error_code(refused) == (403, "permission_denied"), refused.text
        assert "only inside its project" in refused.json()["detail"]


async def test_project_tokens_revoked_expired_and_read_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    project = str(tenant.project_id)
    read_only = (
        await make_token(stack, tenant.headers, project_id=project, scopes=["compute:read"])
    ).json()
    revoked = (await make_token(stack, tenant.headers, project_id=project)).json()
    expiring = (await make_token(stack, tenant.headers, project_id=project)).json()
    deleted = await stack.client.delete(f"/v1/api-keys/{revoked['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    async with transaction(stack.runtime.sessions) as session:
        row = await session.get_one(ApiKey, uuid.UUID(expiring["id"]))
        row.expires_at = utcnow() - timedelta(seconds=1)

    instances = f"{tenant.base}/instances"
    client = stack.client
    assert (await client.get(instances, headers=bearer(read_only["key"]))).status_code == 200
    write = await client.post(instances, json=create_body(), headers=bearer(read_only["key"]))
    assert error_code(write) == (403, "permission_denied")
    assert "compute:write" in write.json()["detail"]
    gone = await client.get(instances, headers=bearer(revoked["key"]))
    assert error_code(gone) == (401, "api_key_revoked")
    old = await client.get(instances, headers=bearer(expiring["key"]))
    assert error_code(old) == (401, "api_key_expired")


async def test_a_project_token_has_no_more_than_its_users_role(
    stack: Stack, tenants: TenantFactory
) -> None:
    viewer = await tenants.member(await tenants(), Role.VIEWER)
    created = await make_token(stack, viewer.headers, project_id=str(viewer.project_id))
    assert created.status_code == 201, created.text
    token = bearer(created.json()["key"])
    instances = f"{viewer.base}/instances"
    refused = await stack.client.post(instances, json=create_body(), headers=token)
    assert error_code(refused) == (403, "permission_denied")
    assert (await stack.client.get(instances, headers=token)).status_code == 200


async def test_project_tokens_only_for_projects_the_caller_sees(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant, stranger = await tenants(), await tenants()
    for project_id in (stranger.project_id, uuid.uuid4()):
        refused = await make_token(stack, tenant.headers, project_id=str(project_id))
        assert refused.status_code == 400 and "project_id" in refused.json(), refused.text
    guest = await tenants.member(tenant, Role.GUEST)  # added to no project
    hidden = await make_token(stack, guest.headers, project_id=str(tenant.project_id))
    assert hidden.status_code == 400 and "project_id" in hidden.json(), hidden.text


async def test_only_operators_hold_the_admin_scope(stack: Stack, tenants: TenantFactory) -> None:
    customer, operator = await tenants(), await tenants()
    refused = await make_token(stack, customer.headers, scopes=["compute:read", "admin"])
    assert error_code(refused) == (403, "permission_denied")
    await make_staff(stack, operator.user_id)
    made = await make_token(stack, operator.headers, scopes=["admin"])
    assert made.status_code == 201, made.text
    admin_only = bearer(made.json()["key"])
    assert (await stack.client.get("/v1/admin/hosts", headers=admin_only)).status_code == 200
    project_admin = await make_token(
        stack, operator.headers, scopes=["admin"], project_id=str(operator.project_id)
    )
    assert project_admin.status_code == 400 and "scopes" in project_admin.json()
    plain = (await make_token(stack, operator.headers, scopes=["compute:write"])).json()
    denied = await stack.client.get("/v1/admin/hosts", headers=bearer(plain["key"]))
    assert error_code(denied) == (403, "permission_denied")
    assert "admin" in denied.json()["detail"]
