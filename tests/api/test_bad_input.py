"""Bad input never hurts: malformed JSON, wrong types, unknown enums, other tenants' ids, huge
bodies: a clear 4xx in the documented error shape, never a 500, never a partial write.

Shapes (design.md, "Errors"): `{"detail": "...", "code": "..."}` for errors, `{"field": ["..."]}`
for validation errors (400).
"""

import json
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from nuage.domain.enums import BillingCycle
from tests.api.bad_input import (
    ENDPOINTS,
    World,
    assert_error,
    assert_field_error,
    create_body,
    is_field_errors,
)
from tests.support import LOCATION, SIZES

pytestmark = pytest.mark.anyio


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
    ("config", lambda w: {"config": {"qemu_args": "-x"}}, "config"),
    ("config", lambda w: {"config": {"balloon": "yes"}}, "config"),
    ("config", lambda w: {"config": {"cpu_model": "a\x00"}}, "config"),
    ("config", lambda w: {"config": {"boot_order": "hd"}}, "config"),
    ("config", lambda w: {"config": {f"k{n}": 1 for n in range(33)}}, "config"),
    ("config", lambda w: {"config": "cpu_model=qemu64"}, "config"),
    ("config", lambda w: {"config": {}}, "config"),
    ("config", lambda w: {}, "config"),
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
