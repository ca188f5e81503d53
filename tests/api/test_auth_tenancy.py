"""Auth and tenancy, endpoint by endpoint (style item 13, after NetBox's shared API cases).

One battery per row of `tests/api/endpoints.py`, on a fresh world: missing, malformed, expired
and revoked credentials are 401; every kind of caller (roles, read-only key, project tokens,
staff, a stranger) gets the 403 or 404 that the matrix of docs/permissions.md gives; another
tenant's ids answer byte for byte like missing ones; none of these changes a row; and then every
caller the matrix allows succeeds (the control that makes each refusal mean something).
`test_table_covers_every_route` keeps the table and the page complete. Login, refresh, API keys
and guests follow, as plain tests.

The battery runs on the suite's first database only: who may call what is decided by the
services' rules above the database, and its 180 worlds on both databases were the largest part
of the API suite's time. The plain tests below, and every route's own tests, run on both.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import fastapi.routing
import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api.app import create_app
from nuage.config import Settings
from nuage.db import models
from nuage.db.models import ApiKey, Backup, Base, Image, Instance, Volume
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.console import ConsoleOptions
from nuage.domain.enums import BackupStatus, ImageStatus, Role, Scope, SnapshotStatus, TaskType
from nuage.domain.events import EventType
from nuage.domain.images import custom_image_name
from nuage.services import (
    api_keys,
    backups,
    console,
    instances,
    ip_allocation,
    security,
    task_requests,
    tasks,
    vpcs,
    webhooks,
)
from nuage.services.access import project_access
from nuage.services.instances import InstanceDraft
from nuage.services.principals import Principal
from nuage.services.webhooks import WebhookSpec
from tests.api import permission_matrix
from tests.api.asgi_stream import first_answer
from tests.api.endpoints import (
    ADMIN,
    BY_TOKEN,
    ENDPOINTS,
    PATH_FIELDS,
    PUBLIC,
    WEBHOOK_BODY,
    WITH_IDS,
    Endpoint,
    Ids,
    instance_body,
)
from tests.support import IMAGES, LOCATION, SIZES, Stack, Tenant, TenantFactory, make_staff

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
Snapshot = dict[str, list[tuple[Any, ...]]]
NOT_FOUND = b'{"detail":"Not found.","code":"not_found"}'
READ_WRITE = [Scope.COMPUTE_READ, Scope.COMPUTE_WRITE]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest (each world makes four users, ~120 ms each at the defaults). A hash
    carries its own parameters, so logins still verify for real."""
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(security, "_hasher", fast)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def jwt(user_id: uuid.UUID, kind: str, ttl: timedelta, secret: str) -> str:
    return security.issue_token(user_id, kind=kind, ttl=ttl, secret=secret)[0]


@dataclass(frozen=True, slots=True)
class World:
    """A tenant with objects of every kind, and callers of every sort on them."""

    tenant: Tenant
    ids: Ids
    owner: Headers  # the owner's read-write API key
    owner_jwt: Headers  # the owner's access token
    revoked: Headers  # a revoked key of the owner
    expired: Headers  # an expired key of the owner
    callers: dict[str, Headers]  # by their names in docs/permissions.md


async def storage_rows(session: AsyncSession, instance: Instance) -> tuple[models.Snapshot, Image]:
    """An available snapshot of the instance and a custom image made from it (rows only)."""
    snapshot = models.Snapshot(
        project_id=instance.project_id,
        instance_id=instance.id,
        name="kept",
        status=SnapshotStatus.AVAILABLE.value,
        size_gb=instance.size.disk_gb,
    )
    image_id = uuid.uuid4()
    image = Image(
        id=image_id,
        name="kept",
        slug=custom_image_name(image_id),
        os_name="debian",
        os_version="12",
        project_id=instance.project_id,
        status=ImageStatus.AVAILABLE.value,
        instance_id=instance.id,
    )
    session.add_all([snapshot, image])
    await session.flush()
    return snapshot, image


async def furnish(stack: Stack, tenant: Tenant, n: int = 0) -> Ids:
    """An instance (still pending: no worker runs) with a pending task and a cancelled one, an
    available backup, a spare API key, made through the services, and two volumes of its
    location, one attached to it and one available (rows: a pending instance has no machine to
    attach anything to); in one transaction, for speed."""
    principal = Principal(tenant.user_id, frozenset(Scope))
    draft = InstanceDraft(
        name="vm-auth",
        size_id=uuid.UUID(SIZES["small"]),
        location_id=uuid.UUID(LOCATION),
        image_id=uuid.UUID(IMAGES["debian"]),
    )
    async with transaction(stack.runtime.sessions) as session:
        access = await project_access(
            session, principal, tenant.organization_id, tenant.project_id, write=True
        )
        instance, _create = await instances.create_instance(session, access, draft)
        secondary = await ip_allocation.allocate(session, instance, 4, quarantine=timedelta(0))
        assert secondary is not None
        on_it = {"instance_id": instance.id}
        pending = await task_requests.request_task(
            session, access, TaskType.START_VPS, on_it, None, reject_if_busy=False
        )
        cancelled = await task_requests.request_task(
            session, access, TaskType.REBOOT_VPS, on_it, None, reject_if_busy=False
        )
        await tasks.cancel(session, access, cancelled.id)
        _, spare = await api_keys.create(session, tenant.user_id, name="spare", scopes=READ_WRITE)
        attached, detached = (
            Volume(
                project_id=tenant.project_id,
                name=f"vol-{n}",
                size_gb=1,
                status=status,
                location_id=instance.location_id,
                instance_id=instance.id if status == "in-use" else None,
                last_instance_id=instance.id,
                device="vdc" if status == "in-use" else None,
            )
            for n, status in enumerate(["in-use", "available"])
        )
        session.add_all([attached, detached])
        await session.flush()
        copy = await backups.create_backup(session, access, instance.id, "auth-backup")
        backup = await session.get_one(Backup, uuid.UUID(copy.parameters["backup_id"]))
        backup.status = BackupStatus.AVAILABLE.value  # as if its copy were done
        console_session, _token = console.new_session(
            instance_id=instance.id,
            task_id=pending.id,  # any task of the instance: the battery runs no worker
            address=("127.0.0.1", 5900),
            options=ConsoleOptions(),
            now=utcnow(),
        )
        session.add(console_session)
        instance.software = ["nginx"]  # as if installed (the battery runs no worker)
        snapshot, image = await storage_rows(session, instance)
        spec = WebhookSpec(WEBHOOK_BODY["url"], [EventType.TASK_COMPLETED], is_active=True)
        hook = await webhooks.create_webhook(session, access, spec, allow_private=False)
        delivery = await webhooks.ping(session, access, hook.id)
        vpc = await vpcs.create_vpc(
            session,
            access,
            name="auth-vpc",
            cidr_block=f"10.{2 * n}.0.0/24",
            location_id=uuid.UUID(LOCATION),
        )
    return Ids(
        organization_id=str(tenant.organization_id),
        project_id=str(tenant.project_id),
        instance_id=str(instance.id),
        task_id=str(pending.id),
        cancelled_task_id=str(cancelled.id),
        key_id=str(spare.id),
        volume_id=str(attached.id),
        detached_volume_id=str(detached.id),
        backup_id=str(backup.id),
        ip_id=str(secondary.id),
        console_session_id=str(console_session.id),
        snapshot_id=str(snapshot.id),
        image_id=str(image.id),
        webhook_id=str(hook.id),
        delivery_id=str(delivery.id),
        vpc_id=str(vpc.id),
        vpc_cidr=f"10.{2 * n}.0.0/24",
        spare_cidr=f"10.{2 * n + 1}.0.0/24",
    )


async def platform_ids(stack: Stack) -> dict[str, str]:
    """A host and an address pool of the platform, for the admin API's rows."""
    async with stack.runtime.sessions() as session:
        host = await session.scalar(sa.select(models.Host.id).order_by(models.Host.name))
        pool = await session.scalar(sa.select(models.IpPool.id).order_by(models.IpPool.name))
    return {"host_id": str(host), "pool_id": str(pool)}


async def project_tokens(stack: Stack, tenant: Tenant) -> tuple[str, str]:
    """The owner's read-write project tokens for the tenant's project and for another one."""
    async with transaction(stack.runtime.sessions) as session:
        other = models.Project(organization_id=tenant.organization_id, name="other")
        session.add(other)
        await session.flush()
        mine, _ = await api_keys.create(
            session, tenant.user_id, name="p", scopes=READ_WRITE, project_id=tenant.project_id
        )
        theirs, _ = await api_keys.create(
            session, tenant.user_id, name="o", scopes=READ_WRITE, project_id=other.id
        )
    return mine, theirs


async def operator(stack: Stack, tenants: TenantFactory, tenant: Tenant) -> tuple[Headers, Headers]:
    """An operator, editor of the tenant's organization: its admin key, and a key without
    `admin`."""
    staff = await tenants.member(tenant, Role.EDITOR)
    await make_staff(stack, staff.user_id)  # its key gets `admin`
    async with transaction(stack.runtime.sessions) as session:
        plain, _ = await api_keys.create(session, staff.user_id, name="plain", scopes=READ_WRITE)
    return staff.headers, bearer(plain)


@pytest.fixture
async def world(stack: Stack, tenants: TenantFactory, settings: Settings) -> World:
    tenant = await tenants()
    ids = replace(await furnish(stack, tenant), **await platform_ids(stack))
    user = tenant.user_id
    async with transaction(stack.runtime.sessions) as session:
        read_only, _ = await api_keys.create(
            session, user, name="read-only", scopes=[Scope.COMPUTE_READ]
        )
        revoked, row = await api_keys.create(session, user, name="revoked", scopes=READ_WRITE)
        await api_keys.revoke(session, Principal(user, frozenset(Scope)), row.id)
        soon = utcnow() + timedelta(hours=1)
        expired, row = await api_keys.create(
            session, user, name="expired", scopes=READ_WRITE, expires_at=soon
        )
        row.expires_at = utcnow() - timedelta(seconds=1)
    token, other_token = await project_tokens(stack, tenant)
    staff, staff_plain = await operator(stack, tenants, tenant)
    access = jwt(user, "access", timedelta(minutes=5), settings.secret_key)
    members = {
        role.value: (await tenants.member(tenant, role, projects=(tenant.project_id,))).headers
        for role in (Role.EDITOR, Role.VIEWER, Role.GUEST)
    }
    callers = {
        "owner": tenant.headers,
        **members,
        "read-only key": bearer(read_only),
        "project token": bearer(token),
        "other token": bearer(other_token),
        "staff": staff,
        "staff, no admin": staff_plain,
        "stranger": (await tenants()).headers,
    }
    assert set(callers) == set(permission_matrix.callers())
    return World(
        tenant=tenant,
        ids=ids,
        owner=tenant.headers,
        owner_jwt=bearer(access),
        revoked=bearer(revoked),
        expired=bearer(expired),
        callers=callers,
    )


@pytest.fixture
async def foreign(stack: Stack, tenants: TenantFactory) -> Ids:
    """Another tenant's objects, of every kind the endpoints name."""
    return await furnish(stack, await tenants())


async def call(stack: Stack, endpoint: Endpoint, ids: Ids, headers: Headers) -> httpx.Response:
    if endpoint.stream:
        app = create_app(stack.runtime)
        return await first_answer(app, endpoint.method, endpoint.url(ids), dict(headers))
    return await stack.client.request(
        endpoint.method, endpoint.url(ids), json=endpoint.json(ids), headers=headers
    )


async def snapshot(stack: Stack) -> Snapshot:
    """Every row of every table, but API keys' `last_used`, which any accepted request moves,
    and the audit log, where refusals are recorded (tests/api/test_audit_log.py)."""
    tables: Snapshot = {}
    async with stack.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_log":
                continue
            columns = [c for c in table.columns if c.name != "last_used"]
            rows = await session.execute(sa.select(*columns).order_by(*table.primary_key))
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name, rows in before.items() if after[name] != rows]


def refusal(response: httpx.Response, status: int, code: str) -> str | None:
    """Why `response` is not the error `status`/`code` in the API's shape, or None if it is."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != status or not isinstance(body, dict):
        return f"{response.status_code} {response.text}"
    if set(body) != {"detail", "code"} or body["code"] != code or not body["detail"]:
        return f"{response.status_code} {response.text} (wanted code {code!r})"
    if status == 401 and not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
        return f"no WWW-Authenticate: Bearer header: {dict(response.headers)}"
    return None


def report(failures: Sequence[str]) -> str:
    return "\n".join(failures)


# --- the table ---------------------------------------------------------------------------------


def declared_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /v1. Recent FastAPI keeps included routers nested in
    `app.routes` and flattens them with `iter_route_contexts`; older versions list them flat."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", iter)
    found: set[tuple[str, str]] = set()
    for route in flatten(app.routes):
        path: str = getattr(route, "path", None) or ""
        if path.startswith("/v1"):
            original = getattr(route, "original_route", route)
            if isinstance(original, APIWebSocketRoute):
                found.add(("WEBSOCKET", path))
                continue
            assert isinstance(original, APIRoute), f"{path} is not an APIRoute"
            found |= {(method, path) for method in original.methods}
    return found


async def test_table_covers_every_route(stack: Stack) -> None:
    routes = declared_routes(create_app(stack.runtime))
    table = {(e.method, e.path) for e in ENDPOINTS}
    assert len(table) == len(ENDPOINTS), "a route is listed twice"
    assert routes - PUBLIC - ADMIN - BY_TOKEN - table == set(), (
        "routes without auth and tenancy tests"
    )
    assert routes >= BY_TOKEN
    assert routes >= ADMIN
    assert table - routes == set(), "rows of the table that name no route"
    assert routes >= PUBLIC
    assert all(p in PATH_FIELDS for e in ENDPOINTS for p in e.path_params)
    documented = permission_matrix.route_access()
    assert set(documented) == routes, "docs/permissions.md and the app's routes differ"
    walked = {r for r, access in documented.items() if access not in permission_matrix.NOT_WALKED}
    assert walked == table, "routes of docs/permissions.md without a row in tests/api/endpoints.py"
    assert set(documented.values()) - permission_matrix.NOT_WALKED == set(
        permission_matrix.matrix()
    ), "access classes without a row in the matrix, or rows no route uses"


# --- the battery, per endpoint -----------------------------------------------------------------


def bad_credentials(world: World, secret: str) -> list[tuple[str, Headers, str]]:
    """(what, headers, the 401's code) for every way of not being authenticated."""
    user, key = world.tenant.user_id, world.tenant.key
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")  # same lookup prefix, wrong key
    minute = timedelta(minutes=1)
    return [
        ("no Authorization header", {}, "not_authenticated"),
        ("Bearer garbage", bearer("garbage"), "token_invalid"),
        ("Basic scheme", {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, "authentication_failed"),
        ("unknown API key", bearer(security.new_api_key()[0]), "api_key_invalid"),
        ("API key with a known prefix", bearer(tampered), "api_key_invalid"),
        ("JWT of another secret", bearer(jwt(user, "access", minute, "x" * 40)), "token_invalid"),
        ("refresh token", bearer(jwt(user, "refresh", minute, secret)), "token_invalid"),
        ("expired access token", bearer(jwt(user, "access", -minute, secret)), "token_expired"),
        ("revoked API key", world.revoked, "api_key_revoked"),
        ("expired API key", world.expired, "api_key_expired"),
    ]


async def unauthenticated(stack: Stack, endpoint: Endpoint, world: World, secret: str) -> list[str]:
    failures = []
    for what, headers, code in bad_credentials(world, secret):
        response = await call(stack, endpoint, world.ids, headers)
        if problem := refusal(response, 401, code):
            failures.append(f"{what}: {problem}")
    return failures


def expected(endpoint: Endpoint) -> dict[str, str]:
    """Caller → "2xx", "403" or "404": the endpoint's row of docs/permissions.md."""
    access = permission_matrix.route_access()[(endpoint.method, endpoint.path)]
    return dict(permission_matrix.matrix()[access])


async def refused_by_the_matrix(stack: Stack, endpoint: Endpoint, world: World) -> list[str]:
    """Every caller the matrix refuses gets its 403 or 404 in the API's shape."""
    codes = {"403": "permission_denied", "404": "not_found"}
    failures = []
    for who, status in expected(endpoint).items():
        if status != "2xx":
            response = await call(stack, endpoint, world.ids, world.callers[who])
            if problem := refusal(response, int(status), codes[status]):
                failures.append(f"{who}: {problem}")
    return failures


def places(endpoint: Endpoint) -> list[tuple[str, ...]]:
    """Each id the endpoint names on its own, then all of them at once."""
    singles = [(f,) for f in endpoint.id_fields]
    return singles + ([tuple(endpoint.id_fields)] if len(singles) > 1 else [])


async def with_foreign_ids(
    stack: Stack, endpoint: Endpoint, world: World, foreign: Ids
) -> list[str]:
    """Another tenant's id, in any place, answers byte for byte like a random one. In the path
    that is 404; in a body (the generic task's `instance_id`) DRF's 400 for a missing pk."""
    in_path = {endpoint.fields.get(p, PATH_FIELDS[p]) for p in endpoint.path_params}
    failures = []
    for fields in places(endpoint):
        theirs = {f: getattr(foreign, f) for f in fields}
        randoms = {f: str(uuid.uuid4()) for f in fields}
        got = await call(stack, endpoint, replace(world.ids, **theirs), world.owner)
        missing = await call(stack, endpoint, replace(world.ids, **randoms), world.owner)
        seen, expected = got.content, missing.content
        for field in fields:  # ids a body echoes are not a difference
            seen = seen.replace(theirs[field].encode(), b"<id>")
            expected = expected.replace(randoms[field].encode(), b"<id>")
        want = (404, NOT_FOUND) if in_path & set(fields) else (400, expected)
        if (got.status_code, seen) != want or (missing.status_code, expected) != want:
            failures.append(
                f"another tenant's {'+'.join(fields)}: {got.status_code} {got.text} "
                f"vs a missing one: {missing.status_code} {missing.text}"
            )
    return failures


async def allowed(stack: Stack, endpoint: Endpoint, world: World) -> list[str]:
    """The control for every refusal: every caller the matrix allows succeeds (the owner's
    access token too, where the owner is allowed), on objects of its own where the endpoint
    uses them up."""
    callers = [who for who, status in expected(endpoint).items() if status == "2xx"]
    headers = [(who, world.callers[who]) for who in callers]
    if "owner" in callers:
        headers.append(("owner's access token", world.owner_jwt))
    failures = []
    for n, (who, caller) in enumerate(headers):
        ids = world.ids
        if endpoint.consumes and n:
            ids = replace(await furnish(stack, world.tenant, n), **await platform_ids(stack))
        response = await call(stack, endpoint, ids, caller)
        if response.status_code != endpoint.ok:
            failures.append(f"{who}: {response.status_code} {response.text}")
    return failures


@pytest.mark.one_database
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_auth_and_tenancy(
    endpoint: Endpoint, stack: Stack, world: World, foreign: Ids, settings: Settings
) -> None:
    """Refused: bad credentials (401), every caller the matrix refuses (403, 404), another
    tenant's ids (as if missing), and nothing changed by any of them. Then allowed: the same
    request by every caller the matrix allows. One world per endpoint; every failure is
    reported."""
    before = await snapshot(stack)
    failures = await unauthenticated(stack, endpoint, world, settings.secret_key)
    failures += await refused_by_the_matrix(stack, endpoint, world)
    if endpoint in WITH_IDS:
        failures += await with_foreign_ids(stack, endpoint, world, foreign)
    if changed := changed_tables(before, await snapshot(stack)):
        failures.append(f"refused requests changed {changed}")
    failures += await allowed(stack, endpoint, world)
    assert not failures, report(failures)


# --- lists, guests -----------------------------------------------------------------------------


async def test_lists_hold_only_the_callers_objects(
    stack: Stack, world: World, foreign: Ids
) -> None:
    client, ids = stack.client, world.ids
    orgs = (await client.get("/v1/organizations", headers=world.owner)).json()
    assert [o["id"] for o in orgs] == [ids.organization_id]
    keys = (await client.get("/v1/api-keys", headers=world.owner)).json()["results"]
    assert ids.key_id in {k["id"] for k in keys} and foreign.key_id not in {k["id"] for k in keys}
    for path, object_id in [("/instances", ids.instance_id), ("/tasks", ids.task_id)]:
        listed = (await world.tenant.get(path)).json()["results"]
        assert object_id in {item["id"] for item in listed}
        other = {foreign.instance_id, foreign.task_id, foreign.cancelled_task_id}
        assert other.isdisjoint(item["id"] for item in listed)


async def test_guest_sees_only_its_projects(stack: Stack, tenants: TenantFactory) -> None:
    owner = await tenants()
    projects = f"/v1/organizations/{owner.organization_id}/projects"
    response = await stack.client.post(projects, json={"name": "hidden"}, headers=owner.headers)
    assert response.status_code == 201, response.text
    hidden = response.json()["id"]
    guest = await tenants.member(owner, Role.GUEST, projects=(owner.project_id,))

    as_owner = (await stack.client.get(projects, headers=owner.headers)).json()["results"]
    as_guest = (await stack.client.get(projects, headers=guest.headers)).json()["results"]
    assert {p["id"] for p in as_owner} == {str(owner.project_id), hidden}
    assert [p["id"] for p in as_guest] == [str(owner.project_id)]

    before = await snapshot(stack)
    for project_id in (hidden, str(uuid.uuid4())):
        base = f"{projects}/{project_id}/compute"
        listed = await stack.client.get(f"{base}/instances", headers=guest.headers)
        made = await stack.client.post(
            f"{base}/instances", json=instance_body(), headers=guest.headers
        )
        assert (listed.status_code, listed.content) == (404, NOT_FOUND), project_id
        assert (made.status_code, made.content) == (404, NOT_FOUND), project_id
    refused = await stack.client.post(projects, json={"name": "mine"}, headers=guest.headers)
    assert refusal(refused, 403, "permission_denied") is None, refused.text
    assert changed_tables(before, await snapshot(stack)) == []


async def test_guest_acts_within_its_project(stack: Stack, tenants: TenantFactory) -> None:
    owner = await tenants()
    guest = await tenants.member(owner, Role.GUEST, projects=(owner.project_id,))
    instance, _task_id = await guest.create_instance()
    task = await guest.act(instance["id"], "stop")
    assert task["created_by"]["id"] == str(guest.user_id)
    renamed = await stack.client.patch(
        f"{guest.base}/instances/{instance['id']}", json={"name": "by-guest"}, headers=guest.headers
    )
    assert renamed.status_code == 200, renamed.text
    seen = await owner.get(f"/instances/{instance['id']}")
    assert seen.status_code == 200 and seen.json()["name"] == "by-guest"


# --- login and refresh -------------------------------------------------------------------------


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_login_gives_an_access_token_that_works(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    response = await login(stack.client, tenant.email, tenant.password)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "Bearer" and pair["access"] and pair["refresh"]
    listed = await stack.client.get(f"{tenant.base}/instances", headers=bearer(pair["access"]))
    assert listed.status_code == 200, listed.text
    as_refresh = await stack.client.get(f"{tenant.base}/instances", headers=bearer(pair["refresh"]))
    assert refusal(as_refresh, 401, "token_invalid") is None, as_refresh.text


async def test_login_refuses_a_wrong_password_like_an_unknown_email(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    wrong = await login(stack.client, tenant.email, "not-the-password")
    unknown = await login(stack.client, "nobody@example.com", tenant.password)
    assert refusal(wrong, 401, "invalid_credentials") is None, wrong.text
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content)


async def test_refresh_takes_only_a_refresh_token(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    pair = (await login(stack.client, tenant.email, tenant.password)).json()
    refreshed = await stack.client.post("/v1/auth/refresh", json={"refresh": pair["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    fresh = refreshed.json()
    listed = await stack.client.get(f"{tenant.base}/instances", headers=bearer(fresh["access"]))
    assert listed.status_code == 200, listed.text
    again = await stack.client.post("/v1/auth/refresh", json={"refresh": fresh["refresh"]})
    assert again.status_code == 200, again.text

    with_access = await stack.client.post("/v1/auth/refresh", json={"refresh": pair["access"]})
    assert refusal(with_access, 401, "token_invalid") is None, with_access.text
    stale = jwt(tenant.user_id, "refresh", -timedelta(seconds=1), settings.secret_key)
    expired = await stack.client.post("/v1/auth/refresh", json={"refresh": stale})
    assert refusal(expired, 401, "token_expired") is None, expired.text


# --- API keys ----------------------------------------------------------------------------------


async def create_key(stack: Stack, headers: Headers, **body: Any) -> httpx.Response:
    return await stack.client.post("/v1/api-keys", json={"name": "made", **body}, headers=headers)


async def list_keys(stack: Stack, headers: Headers) -> list[dict[str, Any]]:
    response = await stack.client.get("/v1/api-keys", headers=headers)
    assert response.status_code == 200, response.text
    keys: list[dict[str, Any]] = response.json()["results"]
    return keys


async def test_revoked_key_fails_on_the_next_request(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    created = (await create_key(stack, tenant.headers)).json()
    instances = f"{tenant.base}/instances"
    assert (await stack.client.get(instances, headers=bearer(created["key"]))).status_code == 200
    revoked = await stack.client.delete(f"/v1/api-keys/{created['id']}", headers=tenant.headers)
    assert revoked.status_code == 204, revoked.text
    after = await stack.client.get(instances, headers=bearer(created["key"]))
    assert refusal(after, 401, "api_key_revoked") is None, after.text
    assert created["id"] not in {k["id"] for k in await list_keys(stack, tenant.headers)}
    twice = await stack.client.delete(f"/v1/api-keys/{created['id']}", headers=tenant.headers)
    assert (twice.status_code, twice.content) == (404, NOT_FOUND)


async def test_key_stops_working_when_it_expires(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    created = (await create_key(stack, tenant.headers, expires_at=soon)).json()
    instances = f"{tenant.base}/instances"
    assert (await stack.client.get(instances, headers=bearer(created["key"]))).status_code == 200
    async with transaction(stack.runtime.sessions) as session:
        row = await session.get(ApiKey, uuid.UUID(created["id"]))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    after = await stack.client.get(instances, headers=bearer(created["key"]))
    assert refusal(after, 401, "api_key_expired") is None, after.text


async def test_key_is_shown_only_when_created(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    response = await create_key(stack, tenant.headers, scopes=["compute:read"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["key"].startswith(security.API_KEY_PREFIX)
    listing = await stack.client.get("/v1/api-keys", headers=tenant.headers)
    assert created["key"] not in listing.text and tenant.key not in listing.text
    keys = listing.json()["results"]
    assert all("key" not in k for k in keys)
    listed = next(k for k in keys if k["id"] == created["id"])
    assert listed == {k: v for k, v in created.items() if k != "key"}


async def test_last_used_is_set_by_a_request(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    created = (await create_key(stack, tenant.headers)).json()
    assert created["last_used"] is None

    def last_used(keys: list[dict[str, Any]]) -> Any:
        return next(k for k in keys if k["id"] == created["id"])["last_used"]

    assert last_used(await list_keys(stack, tenant.headers)) is None
    used = await stack.client.get(f"{tenant.base}/instances", headers=bearer(created["key"]))
    assert used.status_code == 200, used.text
    assert last_used(await list_keys(stack, tenant.headers)) is not None


async def test_read_only_key_cannot_mint_a_stronger_key(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    read_only = bearer(
        (await create_key(stack, tenant.headers, scopes=["compute:read"])).json()["key"]
    )
    before = len(await list_keys(stack, tenant.headers))
    stronger = await create_key(stack, read_only, scopes=["compute:read", "compute:write"])
    assert refusal(stronger, 403, "permission_denied") is None, stronger.text
    assert len(await list_keys(stack, tenant.headers)) == before
    weaker = await create_key(stack, read_only, scopes=["compute:read"])  # no stronger: allowed
    assert weaker.status_code == 201, weaker.text


async def test_viewer_manages_its_own_keys(stack: Stack, tenants: TenantFactory) -> None:
    """API keys belong to the user: the organization role does not limit them (the key's power
    does not exceed the user's)."""
    viewer = await tenants.member(await tenants(), Role.VIEWER)
    created = await create_key(stack, viewer.headers)
    assert created.status_code == 201, created.text
    key = bearer(created.json()["key"])
    refused = await stack.client.post(f"{viewer.base}/instances", json=instance_body(), headers=key)
    assert refusal(refused, 403, "permission_denied") is None, refused.text
    revoked = await stack.client.delete(f"/v1/api-keys/{created.json()['id']}", headers=key)
    assert revoked.status_code == 204, revoked.text
