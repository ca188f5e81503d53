"""Bad input never hurts: malformed JSON, wrong types, unknown enums, other tenants' ids, huge
bodies: a clear 4xx in the documented error shape, never a 500, never a partial write.

Shapes (design.md, "Errors"): `{"detail": "...", "code": "..."}` for errors, `{"field": ["..."]}`
for validation errors (400).
"""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.models import ApiKey, IdempotencyKey, Instance, InstanceTask, Project, TaskEvent
from nuage.db.notify import LocalNotifier
from nuage.db.session import make_engine, make_sessionmaker
from nuage.domain.catalogue import spec_for
from nuage.domain.enums import BillingCycle, TaskType
from nuage.drivers.sim import SimDriver, SimSettings
from tests.support import IMAGES, LOCATION, SIZES, Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio

LIMIT = 1_048_576  # Settings.max_body_bytes: 1 MiB
JSON_CT = {"Content-Type": "application/json"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
TABLES = (Instance, InstanceTask, TaskEvent, ApiKey, Project, IdempotencyKey)


# --- shapes ---------------------------------------------------------------------------------------


def is_error(body: Any) -> bool:
    """`{"detail": "...", "code": "..."}`, nothing else."""
    return (
        isinstance(body, dict)
        and set(body) == {"detail", "code"}
        and isinstance(body["detail"], str)
        and isinstance(body["code"], str)
        and bool(body["detail"] and body["code"])
    )


def is_field_errors(body: Any) -> bool:
    """`{"field": ["message", …]}`, possibly nested (`{"parameters": {"hostname": [...]}}`)."""
    if not isinstance(body, dict) or not body or is_error(body):
        return False
    for value in body.values():
        if isinstance(value, list):
            if not value or not all(isinstance(m, str) and m for m in value):
                return False
        elif not is_field_errors(value):
            return False
    return True


def assert_field_error(response: httpx.Response, field: str, context: Any = None) -> None:
    assert response.status_code == 400, (context, response.text)
    body = response.json()
    assert is_field_errors(body), (context, body)
    assert field in body, (context, body)


def assert_error(response: httpx.Response, status: int, code: str, context: Any = None) -> None:
    assert response.status_code == status, (context, response.text)
    body = response.json()
    assert is_error(body), (context, body)
    assert body["code"] == code, (context, body)


# --- the world: a tenant with an instance, and another tenant -------------------------------------


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.__tablename__: int(
                await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            )
            for table in TABLES
        }


@dataclass
class World:
    stack: Stack
    tenant: Tenant
    other: Tenant
    instance_id: str
    other_instance_id: str
    other_task_id: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.stack.client

    def endpoint(self, name: str) -> tuple[str, str]:
        instance = f"{self.tenant.base}/instances/{self.instance_id}"
        return {
            "create": ("POST", f"{self.tenant.base}/instances"),
            "put": ("PUT", instance),
            "patch": ("PATCH", instance),
            "resize": ("POST", f"{instance}/resize"),
            "reinstall": ("POST", f"{instance}/reinstall"),
            "hostname": ("POST", f"{instance}/hostname"),
            "task": ("POST", f"{self.tenant.base}/tasks"),
            "api_key": ("POST", "/v1/api-keys"),
            "project": ("POST", f"/v1/organizations/{self.tenant.organization_id}/projects"),
            "login": ("POST", "/v1/auth/login"),
        }[name]

    def valid(self, name: str) -> dict[str, Any]:
        return {
            "create": create_body(),
            "put": {"name": "renamed", "description": "d", "tags": ["a"]},
            "patch": {"tags": ["b"]},
            "resize": {"size_id": SIZES["large"]},
            "reinstall": {"image_id": IMAGES["ubuntu"]},
            "hostname": {"hostname": "web-1.example.com"},
            "task": {"instance_id": self.instance_id, "task_type": "sync_vps_state"},
            "api_key": {"name": "ci"},
            "project": {"name": "another"},
            "login": {"email": self.tenant.email, "password": self.tenant.password},
        }[name]

    async def send(
        self,
        name: str,
        *,
        json_body: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        method, path = self.endpoint(name)
        if json_body is not None:
            content = json.dumps(json_body).encode()
        return await self.client.request(
            method,
            path,
            content=content,
            headers={**self.tenant.headers, **JSON_CT, **(headers or {})},
        )

    async def snapshot(self) -> dict[str, Any]:
        """Everything a rejected write could have touched."""
        instances = (await self.tenant.get("/instances")).json()
        tasks = (await self.tenant.get("/tasks")).json()
        mine = (await self.tenant.get(f"/instances/{self.instance_id}")).json()
        theirs = (await self.other.get(f"/instances/{self.other_instance_id}")).json()
        return {
            "rows": await row_counts(self.stack.runtime.sessions),
            "instances": instances["count"],
            "tasks": tasks["count"],
            "mine": {k: mine[k] for k in ("name", "description", "tags", "size", "hostname")},
            "theirs": {k: theirs[k] for k in ("name", "description", "tags", "size", "hostname")},
        }


def create_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "size_id": SIZES["small"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
        **overrides,
    }


@pytest.fixture
async def world(stack: Stack, tenants: TenantFactory) -> World:
    tenant = await tenants()
    other = await tenants()
    instance, _ = await tenant.create_instance(size_id=SIZES["medium"])
    theirs, their_task = await other.create_instance()
    return World(stack, tenant, other, instance["id"], theirs["id"], their_task)


ENDPOINTS = [
    "create",
    "put",
    "patch",
    "resize",
    "reinstall",
    "hostname",
    "task",
    "api_key",
    "project",
    "login",
]


# --- the valid request goes through (so that every refusal below is about the input) --------------


async def test_the_valid_bodies_are_accepted(world: World) -> None:
    for name in ENDPOINTS:
        response = await world.send(name, json_body=world.valid(name))
        assert response.status_code in {200, 201, 202}, (name, response.text)


# --- malformed JSON -------------------------------------------------------------------------------

MALFORMED = [
    b'{"name": "web"',  # truncated
    b'{"name": "web", "size_id": ',  # truncated inside
    b'{"name": "web"} trailing',  # trailing garbage
    b'{"name": "web"}{}',  # two documents
    b"not json at all",
    b"{'name': 'single quotes'}",
    b'{"name": "web",}',  # trailing comma
    b"",  # empty body, content-type json
    b"   \n",
    b"\xff\xfe\x00{",  # not UTF-8
]


async def test_malformed_json_is_a_parse_error(world: World) -> None:
    before = await world.snapshot()
    for name in ENDPOINTS:
        for content in MALFORMED:
            response = await world.send(name, content=content)
            assert_error(response, 400, "parse_error", (name, content))
            assert response.json()["detail"].startswith("JSON parse error"), (name, content)
    assert await world.snapshot() == before


NOT_OBJECTS = [[], [{"name": "web"}], "a string", 42, 1.5, True, None]


async def test_json_that_is_not_an_object_is_400(world: World) -> None:
    before = await world.snapshot()
    for name in ENDPOINTS:
        for value in NOT_OBJECTS:
            response = await world.send(name, content=json.dumps(value).encode())
            assert response.status_code == 400, (name, value, response.text)
            assert is_field_errors(response.json()), (name, value, response.text)
    assert await world.snapshot() == before


# --- wrong types, unknown fields, unknown enums ---------------------------------------------------

Case = tuple[str, Callable[[World], dict[str, Any]], str]
WRONG: list[Case] = [
    # endpoint, body (a function of the world), the field named in the answer
    ("create", lambda w: create_body(name=123), "name"),
    ("create", lambda w: create_body(name=""), "name"),
    ("create", lambda w: create_body(name="   "), "name"),
    ("create", lambda w: create_body(name="x" * 65), "name"),
    ("create", lambda w: create_body(name=None), "name"),
    ("create", lambda w: {k: v for k, v in create_body().items() if k != "name"}, "name"),
    ("create", lambda w: create_body(size_id="not-a-uuid"), "size_id"),
    ("create", lambda w: create_body(size_id=str(uuid4())), "size_id"),
    ("create", lambda w: create_body(size_id=7), "size_id"),
    ("create", lambda w: create_body(location_id=[LOCATION]), "location_id"),
    ("create", lambda w: create_body(location_id=str(uuid4())), "location_id"),
    ("create", lambda w: create_body(image_id=str(uuid4())), "image_id"),
    ("create", lambda w: create_body(image_id=None), "image_id"),
    ("create", lambda w: create_body(image_id=None, os_name="plan9"), "os_name"),
    ("create", lambda w: create_body(vpc_id=str(uuid4())), "vpc_id"),
    ("create", lambda w: create_body(tags="x"), "tags"),
    ("create", lambda w: create_body(tags=[1, 2]), "tags"),
    ("create", lambda w: create_body(tags=["t"] * 51), "tags"),
    ("create", lambda w: create_body(tags=["ok", "nul\x00"]), "tags"),
    ("create", lambda w: create_body(tags=["lone \udfff surrogate"]), "tags"),
    ("create", lambda w: create_body(description={"a": 1}), "description"),
    ("create", lambda w: create_body(billing_cycle="weekly"), "billing_cycle"),
    ("create", lambda w: create_body(billing_cycle=1), "billing_cycle"),
    ("create", lambda w: create_body(hostname="-bad-"), "hostname"),
    ("create", lambda w: create_body(hostname="a" * 64), "hostname"),
    ("create", lambda w: create_body(hostname="under_score"), "hostname"),
    ("create", lambda w: create_body(hostname="a." * 127 + "a"), "hostname"),
    ("put", lambda w: {"name": 123}, "name"),
    ("put", lambda w: {"name": ""}, "name"),
    ("put", lambda w: {"tags": "x"}, "tags"),
    ("put", lambda w: {"tags": ["\udfff"]}, "tags"),
    ("put", lambda w: {"size_id": SIZES["large"]}, "size_id"),  # hardware goes through resize
    ("patch", lambda w: {"description": ["x"]}, "description"),
    ("patch", lambda w: {"name": "x" * 65}, "name"),
    ("resize", lambda w: {"size_id": "not-a-uuid"}, "size_id"),
    ("resize", lambda w: {"size_id": str(uuid4())}, "size_id"),
    ("resize", lambda w: {"size_id": SIZES["small"]}, "size_id"),  # medium → small: disk shrinks
    ("resize", lambda w: {"size_id": SIZES["nano"]}, "size_id"),
    ("resize", lambda w: {}, "size_id"),
    ("reinstall", lambda w: {"image_id": 42}, "image_id"),
    ("reinstall", lambda w: {"image_id": str(uuid4())}, "image_id"),
    ("hostname", lambda w: {"hostname": "-bad-"}, "hostname"),
    ("hostname", lambda w: {"hostname": "a" * 64}, "hostname"),
    ("hostname", lambda w: {"hostname": "under_score"}, "hostname"),
    ("hostname", lambda w: {"hostname": ""}, "hostname"),
    ("hostname", lambda w: {"hostname": "a" * 254}, "hostname"),
    ("hostname", lambda w: {"hostname": 5}, "hostname"),
    ("hostname", lambda w: {"hostname": "bad..dots"}, "hostname"),
    ("task", lambda w: {**w.valid("task"), "max_retries": "3x"}, "max_retries"),
    ("task", lambda w: {**w.valid("task"), "max_retries": -1}, "max_retries"),
    ("task", lambda w: {**w.valid("task"), "max_retries": 2**40}, "max_retries"),
    ("task", lambda w: {**w.valid("task"), "max_retries": 1.5}, "max_retries"),
    ("task", lambda w: {**w.valid("task"), "task_type": "make_coffee"}, "task_type"),
    ("task", lambda w: {**w.valid("task"), "task_type": "create_vps"}, "task_type"),
    ("task", lambda w: {**w.valid("task"), "task_type": None}, "task_type"),
    ("task", lambda w: {**w.valid("task"), "instance_id": "nope"}, "instance_id"),
    ("task", lambda w: {**w.valid("task"), "instance_id": str(uuid4())}, "instance_id"),
    ("task", lambda w: {**w.valid("task"), "parameters": "x"}, "parameters"),
    ("task", lambda w: {**w.valid("task"), "parameters": {"x": 1}}, "parameters"),
    (
        "task",
        lambda w: {
            "instance_id": w.instance_id,
            "task_type": "change_hostname",
            "parameters": {"hostname": "under_score"},
        },
        "parameters",
    ),
    (
        "task",
        lambda w: {
            "instance_id": w.instance_id,
            "task_type": "resize_vps",
            "parameters": {"size_id": SIZES["nano"]},
        },
        "parameters",
    ),
    ("api_key", lambda w: {"name": ""}, "name"),
    ("api_key", lambda w: {"name": 5}, "name"),
    ("api_key", lambda w: {"name": "k", "scopes": ["root"]}, "scopes"),
    ("api_key", lambda w: {"name": "k", "scopes": []}, "scopes"),
    ("api_key", lambda w: {"name": "k", "scopes": "compute:read"}, "scopes"),
    ("api_key", lambda w: {"name": "k", "expires_at": "tomorrow"}, "expires_at"),
    ("project", lambda w: {"name": ""}, "name"),
    ("project", lambda w: {"name": None}, "name"),
    ("project", lambda w: {"name": "p", "description": 7}, "description"),
    ("login", lambda w: {"email": 5, "password": "x"}, "email"),
    ("login", lambda w: {"email": w.tenant.email}, "password"),
    ("login", lambda w: {"email": w.tenant.email, "password": ["x"]}, "password"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_wrong_field_is_named(world: World, endpoint: str) -> None:
    cases = [(make, field) for name, make, field in WRONG if name == endpoint]
    assert cases
    before = await world.snapshot()
    for make, field in cases:
        body = make(world)
        response = await world.send(endpoint, json_body=body)
        assert_field_error(response, field, body)
        assert await world.snapshot() == before, body


async def test_an_unknown_field_is_refused_by_name(world: World) -> None:
    before = await world.snapshot()
    for name in ENDPOINTS:
        response = await world.send(name, json_body={**world.valid(name), "bogus": 1})
        assert response.status_code == 400, (name, response.text)
        assert response.json() == {"bogus": ["Unknown field."]}, name
    assert await world.snapshot() == before


async def test_unknown_enum_values_name_the_choices(world: World) -> None:
    response = await world.send(
        "task", json_body={**world.valid("task"), "task_type": "make_coffee"}
    )
    assert_field_error(response, "task_type")
    assert "change_hostname" in response.json()["task_type"][0]  # the message lists the choices
    response = await world.send("create", json_body=create_body(billing_cycle="weekly"))
    assert_field_error(response, "billing_cycle")
    for cycle in BillingCycle:
        assert cycle.value in response.json()["billing_cycle"][0]


async def test_a_type_not_supported_yet_is_a_clear_400(world: World) -> None:
    before = await world.snapshot()
    body = {"instance_id": world.instance_id, "task_type": "assign_ip", "parameters": {}}
    assert_error(await world.send("task", json_body=body), 400, "task_type_not_supported")
    assert await world.snapshot() == before


# --- ids: malformed, missing, or another tenant's -------------------------------------------------


async def test_a_malformed_id_in_the_path_is_a_404_like_a_missing_one(world: World) -> None:
    tenant, missing = world.tenant, str(uuid4())
    before = await world.snapshot()
    for bad in ("abc", "123", "0", "not-a-uuid", f"{world.instance_id}x", missing):
        for method, path, body in [
            ("GET", f"/instances/{bad}", None),
            ("PUT", f"/instances/{bad}", {"name": "x"}),
            ("PATCH", f"/instances/{bad}", {"name": "x"}),
            ("DELETE", f"/instances/{bad}", None),
            ("POST", f"/instances/{bad}/stop", None),
            ("POST", f"/instances/{bad}/resize", {"size_id": SIZES["large"]}),
            ("POST", f"/instances/{bad}/hostname", {"hostname": "ok"}),
            ("GET", f"/tasks/{bad}", None),
            ("GET", f"/tasks/{bad}/events", None),
            ("POST", f"/tasks/{bad}/cancel", None),
            ("POST", f"/tasks/{bad}/retry", None),
            ("GET", f"/instances/{world.instance_id}/tasks/{bad}", None),
        ]:
            response = await tenant.client.request(
                method, tenant.base + path, json=body, headers=tenant.headers
            )
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == NOT_FOUND, (method, path)
    for path in ("/v1/organizations/abc/projects", f"/v1/organizations/{uuid4()}/projects"):
        response = await tenant.client.post(path, json={"name": "p"}, headers=tenant.headers)
        assert response.status_code == 404 and response.json() == NOT_FOUND, response.text
    bad_project = f"/v1/organizations/{tenant.organization_id}/projects/xyz/compute/instances"
    response = await tenant.client.post(bad_project, json=create_body(), headers=tenant.headers)
    assert response.status_code == 404 and response.json() == NOT_FOUND, response.text
    assert await world.snapshot() == before


async def test_another_tenants_ids_are_not_found_and_untouched(world: World) -> None:
    tenant, theirs = world.tenant, world.other_instance_id
    before = await world.snapshot()
    for method, path, body in [
        ("GET", f"/instances/{theirs}", None),
        ("PUT", f"/instances/{theirs}", {"name": "hijacked"}),
        ("PATCH", f"/instances/{theirs}", {"tags": ["hijacked"]}),
        ("DELETE", f"/instances/{theirs}", None),
        ("POST", f"/instances/{theirs}/stop", None),
        ("POST", f"/instances/{theirs}/resize", {"size_id": SIZES["large"]}),
        ("POST", f"/instances/{theirs}/reinstall", {"image_id": IMAGES["ubuntu"]}),
        ("POST", f"/instances/{theirs}/hostname", {"hostname": "hijacked"}),
        ("GET", f"/tasks/{world.other_task_id}", None),
        ("POST", f"/tasks/{world.other_task_id}/cancel", None),
        ("POST", f"/tasks/{world.other_task_id}/retry", None),
        ("GET", f"/instances/{theirs}/tasks/{world.other_task_id}", None),
    ]:
        response = await tenant.client.request(
            method, tenant.base + path, json=body, headers=tenant.headers
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == NOT_FOUND
    # Their project in the path, with my key: their project does not exist for me.
    response = await tenant.client.post(
        world.other.base + "/instances", json=create_body(), headers=tenant.headers
    )
    assert response.status_code == 404 and response.json() == NOT_FOUND, response.text
    response = await tenant.client.post(
        f"/v1/organizations/{world.other.organization_id}/projects",
        json={"name": "p"},
        headers=tenant.headers,
    )
    assert response.status_code == 404 and response.json() == NOT_FOUND, response.text
    # Their instance as the target of a generic task: the same answer as an id that never was.
    theirs_answer = await world.send(
        "task", json_body={**world.valid("task"), "instance_id": theirs}
    )
    assert_field_error(theirs_answer, "instance_id")
    missing = str(uuid4())
    missing_answer = await world.send(
        "task", json_body={**world.valid("task"), "instance_id": missing}
    )
    assert theirs_answer.text.replace(theirs, "ID") == missing_answer.text.replace(missing, "ID")
    assert await world.snapshot() == before
    task = (await world.other.get(f"/tasks/{world.other_task_id}")).json()
    assert task["status"] == "pending" and not task["cancel_requested"]


# --- size and media type --------------------------------------------------------------------------


def big_json(size: int) -> bytes:
    """A syntactically valid JSON object of exactly `size` bytes."""
    head, tail = b'{"name": "web", "description": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_a_body_over_the_limit_is_413(world: World) -> None:
    before = await world.snapshot()
    content = big_json(LIMIT + 1)
    assert len(content) == LIMIT + 1
    for name in ENDPOINTS:
        response = await world.send(name, content=content)
        assert_error(response, 413, "request_too_large", name)
    assert await world.snapshot() == before


async def test_the_limit_is_exact(world: World) -> None:
    """At the limit the body is read (and refused for what it says); one byte more is a 413."""
    at_limit = await world.send("create", content=big_json(LIMIT))
    assert_field_error(at_limit, "description")
    over = await world.send("create", content=big_json(LIMIT + 1))
    assert_error(over, 413, "request_too_large")


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    yield b'{"name": "web", "description": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


async def test_a_chunked_body_over_the_limit_is_413(world: World) -> None:
    before = await world.snapshot()
    for name in ENDPOINTS:
        response = await world.send(name, content=chunks(2 * LIMIT))
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_error(response, 413, "request_too_large", name)
    assert await world.snapshot() == before


async def test_a_chunked_body_under_the_limit_is_read(world: World) -> None:
    async def body() -> AsyncIterator[bytes]:
        raw = json.dumps(create_body(name="chunked")).encode()
        for i in range(0, len(raw), 7):
            yield raw[i : i + 7]

    response = await world.send("create", content=body())
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "chunked"


async def test_a_body_that_is_not_json_by_media_type_is_415(world: World) -> None:
    before = await world.snapshot()
    for name in ENDPOINTS:
        content = json.dumps(world.valid(name)).encode()
        for media in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
        ):
            response = await world.send(name, content=content, headers={"Content-Type": media})
            assert_error(response, 415, "unsupported_media_type", (name, media))
    assert await world.snapshot() == before


async def test_json_with_a_charset_is_json(world: World) -> None:
    response = await world.send(
        "create",
        json_body=create_body(name="charset"),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


# --- property: arbitrary bodies never make a 500 and never write on a 4xx -------------------------


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The API over ASGI on its own engine; a 500 is an answer here, not an exception, so that
    the property sees it."""
    engine = make_engine(settings.database_url)
    notifier = LocalNotifier()
    runtime = Runtime(settings, make_sessionmaker(engine, notifier), notifier)
    transport = httpx.ASGITransport(app=create_app(runtime), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield runtime, client
    finally:
        await engine.dispose()


@dataclass
class FuzzTarget:
    """One app, database and event loop for all the examples of this module (hypothesis calls a
    sync test once per example, so the per-test async `stack` cannot serve)."""

    runner: asyncio.Runner
    runtime: Runtime
    client: httpx.AsyncClient
    headers: dict[str, str]
    base: str
    instance_id: str

    def post_and_count(self, path: str, content: bytes) -> tuple[int, Any, bool]:
        """POST one body; its status, its JSON body, and whether any row count changed."""

        async def go() -> tuple[int, Any, bool]:
            before = await row_counts(self.runtime.sessions)
            response = await self.client.post(
                self.base + path, content=content, headers={**self.headers, **JSON_CT}
            )
            changed = await row_counts(self.runtime.sessions) != before
            try:
                body = response.json()
            except ValueError:
                body = response.text
            return response.status_code, body, changed

        return self.runner.run(go())


@pytest.fixture(scope="module")
def fuzz_target(
    template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(template_db, tmp / "nuage.db")
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite+aiosqlite:///{tmp / 'nuage.db'}",
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        sim_latency_ms=0,
    )
    with asyncio.Runner() as runner:
        app = app_client(settings)
        runtime, client = runner.run(app.__aenter__())
        try:
            driver = SimDriver(SimSettings(state_dir=settings.sim_state_dir))
            stack = Stack(runtime=runtime, notifier=LocalNotifier(), driver=driver, client=client)
            tenant = runner.run(TenantFactory(stack)(quota=100_000))
            instance, _ = runner.run(tenant.create_instance(size_id=SIZES["medium"]))
            yield FuzzTarget(runner, runtime, client, tenant.headers, tenant.base, instance["id"])
        finally:
            runner.run(app.__aexit__(None, None, None))


def check_answer(status: int, body: Any, changed: bool, success: int) -> None:
    event(f"status {status}")  # --hypothesis-show-statistics: how deep the examples went
    assert status < 500, (status, body)
    if status == success:
        assert changed
        return
    assert 400 <= status < 500, (status, body)
    assert is_error(body) or is_field_errors(body), (status, body)
    assert not changed, (status, body)


ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "nul\x00inside",
        "\udfff",
        "a\ud800b",
        "-bad-",
        "under_score",
        "x" * 300,
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        SIZES["nano"],
        SIZES["large"],
        IMAGES["ubuntu"],
        LOCATION,
        "ⓤⓝⓘⓒⓞⓓⓔ",
    ]
)
NASTY_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\u200b", "\n", "_"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Strings, half of them picked to hurt: NUL, lone surrogates, bad hostnames, ids."""
    roll = draw(st.integers(0, 3))  # hypothesis favours small draws: 0 is the nasty one
    if roll == 1:
        return draw(ODD_TEXT)
    plain = draw(st.text(max_size=12))
    if roll == 0:
        at = draw(st.integers(0, len(plain)))
        return plain[:at] + draw(NASTY_CHARS) + plain[at:]
    return plain


TEXT = texts()
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity included: Python's json reads them
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def near(
    draw: st.DrawFn,
    usual: dict[str, st.SearchStrategy[Any]],
    occasional: dict[str, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """An object around a valid one, so that many get past the schema into the use case: a
    usual field is mostly there and valid, sometimes anything, rarely missing; an occasional
    one comes and goes; and sometimes a stray field."""
    body: dict[str, Any] = {}
    for key, strategy in usual.items():
        roll = draw(st.integers(0, 19))  # hypothesis favours small draws: 0 is the valid one
        if roll < 18:
            body[key] = draw(strategy)
        elif roll == 18:
            body[key] = draw(JSON_VALUES)
    for key, strategy in occasional.items():
        roll = draw(st.integers(0, 5))
        if roll >= 3:
            body[key] = draw(JSON_VALUES if roll == 3 else strategy)
    if draw(st.integers(0, 9)) == 0:
        body[draw(TEXT)] = draw(JSON_VALUES)
    return body


@st.composite
def encoded(draw: st.DrawFn, objects: st.SearchStrategy[Any]) -> bytes:
    """Mostly the objects, as JSON (NaN and Infinity too); else any JSON value, or any bytes."""
    roll = draw(st.integers(0, 9))
    if roll == 9:
        return draw(st.binary(max_size=40))
    value = draw(JSON_VALUES if roll == 8 else objects)
    return json.dumps(value, allow_nan=True).encode()


CREATE_BODIES = encoded(
    near(
        {
            "name": st.sampled_from(["fuzz", "Web 1", "  padded  ", "ünïcødé"]),
            "size_id": st.sampled_from(list(SIZES.values())),
            "location_id": st.just(LOCATION),
            "image_id": st.sampled_from(list(IMAGES.values())),
            "tags": st.lists(TEXT, max_size=3),
        },
        {
            "os_name": st.sampled_from(["debian", "ubuntu", "plan9"]),
            "hostname": st.sampled_from(["web-1", "a.b.c", "-x-"]) | TEXT,
            "vpc_id": st.none(),
            "billing_cycle": st.sampled_from([c.value for c in BillingCycle]),
            "description": TEXT,
        },
    )
)
# delete_vps is left out to keep the instance taking tasks.
TASK_TYPES = [t.value for t in TaskType if t is not TaskType.DELETE_VPS]
GENERIC_TYPES = [
    t for t in TASK_TYPES if spec_for(TaskType(t)).supported and spec_for(TaskType(t)).generic
]
FUZZ = hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(content=CREATE_BODIES)
def test_any_body_to_create_instance_is_201_or_a_clean_4xx(
    fuzz_target: FuzzTarget, content: bytes
) -> None:
    check_answer(*fuzz_target.post_and_count("/instances", content), success=201)


PARAMETERS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "change_hostname": {"hostname": st.sampled_from(["ok-1", "a.b.c"]) | TEXT},
    "resize_vps": {"size_id": st.sampled_from(list(SIZES.values()))},
    "reinstall_os": {"image_id": st.sampled_from(list(IMAGES.values()))},
}


@st.composite
def task_bodies(draw: st.DrawFn, instance_id: str) -> bytes:
    """Mostly types the generic endpoint runs, with parameters of their own shape."""
    task_type = draw(st.sampled_from(GENERIC_TYPES) | st.sampled_from(TASK_TYPES))
    parameters = near(PARAMETERS.get(task_type, {}), {})
    objects = near(
        {"instance_id": st.just(instance_id), "task_type": st.just(task_type)},
        {
            "parameters": parameters | st.none(),
            "max_retries": st.integers(min_value=-5, max_value=2**33),
        },
    )
    return draw(encoded(objects))


@FUZZ
@given(data=st.data())
def test_any_body_to_create_task_is_202_or_a_clean_4xx(
    fuzz_target: FuzzTarget, data: st.DataObject
) -> None:
    content = data.draw(task_bodies(fuzz_target.instance_id), label="content")
    check_answer(*fuzz_target.post_and_count("/tasks", content), success=202)
