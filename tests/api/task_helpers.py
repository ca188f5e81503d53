"""Shortcuts for the task endpoint suites: follow a link, list ids, read a task."""

from datetime import datetime
from typing import Any

import httpx

from tests.support import Tenant


async def follow(tenant: Tenant, url: str) -> httpx.Response:
    """GET an absolute link the API gave (next, previous, Location)."""
    assert url.startswith("http://testserver/v1/"), url
    return await tenant.client.get(url, headers=tenant.headers)


async def listed(tenant: Tenant, **params: Any) -> list[str]:
    """Ids of the tasks the list gives for `params`, in order (one page of 100)."""
    response = await tenant.get("/tasks", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["results"]]


def when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


async def task(tenant: Tenant, task_id: str) -> dict[str, Any]:
    response = await tenant.get(f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
