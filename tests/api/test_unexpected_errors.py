"""An OSError that is not the database's is a bug behind the endpoint: a 500 `internal_error`,
never a 503 "database unavailable" that tells clients to retry."""

import httpx
import pytest

from nuage.api.app import create_app
from nuage.api.routers import catalogue
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio


async def test_an_os_error_in_a_request_is_a_500_not_a_503(
    stack: Stack, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await tenants()

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/etc/nuage/secret")

    monkeypatch.setattr(catalogue, "list_entries", broken)
    # A 500 is an answer here, not an exception raised into the test.
    transport = httpx.ASGITransport(app=create_app(stack.runtime), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/v1/compute/sizes", headers=tenant.headers)

    assert response.status_code == 500, response.text
    assert response.json() == {"detail": "Internal server error.", "code": "internal_error"}
    assert "Retry-After" not in response.headers
