"""What `count` means on a long list: exact up to `list_count_limit`; past it, the limit and
`"count_capped": true`, while `next` still leads through every item. Every list has the rule:
the task list (counted in SQL), the catalogue, and a list held in memory (API keys)."""

from dataclasses import replace
from typing import Any

import pytest

from nuage.config import Settings
from tests.api.task_helpers import follow
from tests.support import Tenant, TenantFactory

pytestmark = pytest.mark.anyio

LIMIT = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, list_count_limit=LIMIT)


async def walk(tenant: Tenant, first: dict[str, Any]) -> list[dict[str, Any]]:
    pages = [first]
    while pages[-1]["next"] is not None:
        response = await follow(tenant, pages[-1]["next"])
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


async def test_a_list_past_the_limit_counts_the_limit_flags_it_and_pages_to_the_end(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()  # no worker: every task stays pending
    ids = [create] + [(await tenant.act(instance["id"], "sync"))["id"] for _ in range(6)]

    first = await tenant.get("/tasks", params={"page_size": 2})
    assert first.status_code == 200
    assert list(first.json()) == ["count", "next", "previous", "results", "count_capped"]
    pages = await walk(tenant, first.json())
    assert [t["id"] for page in pages for t in page["results"]] == ids[::-1]
    assert len(pages) == 4  # 2 + 2 + 2 + 1: the pages past the limit are served too
    assert all(page["count"] == LIMIT and page["count_capped"] is True for page in pages)
    assert (await follow(tenant, pages[-1]["previous"])).json()["results"] == pages[2]["results"]

    past = await tenant.get("/tasks", params={"page": 5, "page_size": 2})
    assert past.status_code == 404
    assert past.json() == {"detail": "Invalid page.", "code": "not_found"}


async def test_up_to_the_limit_the_count_is_exact_and_the_envelope_unchanged(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    instance, _create = await tenant.create_instance()
    for verb in ("sync", "sync", "sync", "reboot"):
        await tenant.act(instance["id"], verb)

    for size in (1, 3):
        response = await tenant.get(
            "/tasks", params={"task_type": "sync_vps_state", "page_size": size}
        )
        body = response.json()
        assert list(body) == ["count", "next", "previous", "results"]
        assert body["count"] == LIMIT
    shorter = (await tenant.get("/tasks", params={"task_type": "reboot_vps"})).json()
    assert list(shorter) == ["count", "next", "previous", "results"] and shorter["count"] == 1
    empty = (await tenant.get("/tasks", params={"task_type": "reset_vps"})).json()
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}


async def test_every_list_has_the_rule(tenants: TenantFactory) -> None:
    tenant = await tenants()
    sizes = await tenant.client.get("/v1/compute/sizes", headers=tenant.headers)
    assert sizes.status_code == 200
    assert len(sizes.json()["results"]) > LIMIT  # the catalogue's four sizes
    assert (sizes.json()["count"], sizes.json()["count_capped"]) == (LIMIT, True)

    for n in range(LIMIT):  # the tenant's own key and three more: a list held in memory
        made = await tenant.client.post(
            "/v1/api-keys", json={"name": f"k{n}"}, headers=tenant.headers
        )
        assert made.status_code == 201, made.text
    keys = await tenant.client.get("/v1/api-keys", params={"page_size": 3}, headers=tenant.headers)
    body = keys.json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (LIMIT, True, 3)
    last = (await follow(tenant, body["next"])).json()
    assert len(last["results"]) == 1 and last["next"] is None
