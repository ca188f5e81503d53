"""Every datetime the API reads accepts what a person types: a time without an offset is UTC, a
date alone is midnight UTC (documented on the parameter), and never a 500."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import Tenant, TenantFactory

pytestmark = pytest.mark.anyio


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


async def _listed(tenant: Tenant, **params: str) -> list[str]:
    response = await tenant.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["results"]]


async def test_task_list_takes_times_without_offset_and_dates_as_utc(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    task = (await tenant.get(f"/tasks/{task_id}")).json()
    created = datetime.fromisoformat(task["created"])
    day = created.astimezone(UTC).date()

    assert await _listed(tenant, created_after=_naive(created - timedelta(seconds=2))) == [task_id]
    assert await _listed(tenant, created_after=_naive(created + timedelta(seconds=2))) == []
    assert await _listed(tenant, created_before=_naive(created + timedelta(seconds=2))) == [task_id]
    assert await _listed(tenant, created_after=day.isoformat()) == [task_id]
    assert await _listed(tenant, created_before=day.isoformat()) == []
    assert await _listed(tenant, created_before=(day + timedelta(days=1)).isoformat()) == [task_id]
    malformed = await tenant.get("/tasks", params={"created_after": "yesterday"})
    assert malformed.status_code == 400 and set(malformed.json()) == {"created_after"}


async def test_api_key_expiry_without_offset_is_utc(tenants: TenantFactory) -> None:
    tenant = await tenants()
    for typed, stored in (
        ("2099-01-02T03:04:05", "2099-01-02T03:04:05Z"),
        ("2099-01-02", "2099-01-02T00:00:00Z"),
    ):
        response = await tenant.client.post(
            "/v1/api-keys", json={"name": "k", "expires_at": typed}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["expires_at"] == stored


async def test_api_key_expiry_in_the_past_without_offset_is_a_field_error(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    response = await tenant.client.post(
        "/v1/api-keys", json={"name": "k", "expires_at": "2001-01-01"}, headers=tenant.headers
    )
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"expires_at"}


async def test_the_api_document_says_how_a_time_without_offset_is_read(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    doc = (await tenant.client.get("/openapi.json")).json()
    tasks = doc["paths"][tenant_path("/tasks")]["get"]["parameters"]
    for name in ("created_after", "created_before"):
        (parameter,) = [p for p in tasks if p["name"] == name]
        assert "UTC" in parameter["description"], parameter
    key = doc["components"]["schemas"]["ApiKeyCreate"]["properties"]["expires_at"]
    assert "UTC" in key["description"], key


def tenant_path(path: str) -> str:
    return "/v1/organizations/{organization_id}/projects/{project_id}/compute" + path
