"""Bad input, continued: malformed, missing or another tenant's ids are the same 404, and
oversized or non-JSON bodies are refused before they are read.
"""

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from tests.api.bad_input import (
    ENDPOINTS,
    LIMIT,
    NOT_FOUND,
    World,
    assert_error,
    assert_field_error,
    create_body,
)
from tests.support import IMAGES, SIZES

pytestmark = pytest.mark.anyio


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
