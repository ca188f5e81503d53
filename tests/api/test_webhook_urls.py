"""Webhook URLs: only http(s) to public addresses, unless the operator allows private ones.
No request is sent by these tests: literal addresses and `localhost` (the hosts file) resolve
without a DNS server."""

from dataclasses import replace

import pytest

from nuage.config import Settings
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio
EVENTS = ["task.completed"]
REFUSED_ANYWHERE = [
    "ftp://93.184.215.14/hooks",
    "file:///etc/passwd",
    "http:///no-host",
    "https://user:pass@93.184.215.14/",
    "not a url",
    "http://93.184.215.14:99999/",
]
PRIVATE = [
    "http://127.0.0.1:8080/hooks",
    "http://localhost/hooks",
    "http://[::1]/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/",
    "http://192.168.0.10/",
    "http://172.16.5.4/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://224.0.0.1/",
]


async def refusal_code(tenants: TenantFactory, url: str) -> tuple[int, str | None, int]:
    tenant = await tenants()
    response = await tenant.post("/webhooks", json={"url": url, "event_types": EVENTS})
    count = (await tenant.get("/webhooks")).json()["count"]
    return response.status_code, response.json().get("code"), count


@pytest.mark.parametrize("url", REFUSED_ANYWHERE + PRIVATE)
async def test_refused_with_a_clear_code_and_nothing_saved(
    tenants: TenantFactory, url: str
) -> None:
    assert await refusal_code(tenants, url) == (400, "webhook_url_refused", 0)


@pytest.mark.parametrize("url", ["https://93.184.215.14/hooks", "http://[2606:4700::1111]:8080/"])
async def test_public_addresses_are_accepted(tenants: TenantFactory, url: str) -> None:
    status, _code, count = await refusal_code(tenants, url)
    assert (status, count) == (201, 1)


class TestWhenTheOperatorAllowsPrivateAddresses:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return replace(settings, webhooks_allow_private=True)

    @pytest.mark.parametrize("url", PRIVATE[:4])
    async def test_private_addresses_are_accepted(
        self, stack: Stack, tenants: TenantFactory, url: str
    ) -> None:
        assert stack.runtime.settings.webhooks_allow_private
        status, _code, count = await refusal_code(tenants, url)
        assert (status, count) == (201, 1)

    @pytest.mark.parametrize("url", REFUSED_ANYWHERE[:3])
    async def test_not_http_is_still_refused(self, tenants: TenantFactory, url: str) -> None:
        assert await refusal_code(tenants, url) == (400, "webhook_url_refused", 0)


async def test_a_replacement_with_a_refused_url_changes_nothing(tenants: TenantFactory) -> None:
    tenant = await tenants()
    body = {"url": "https://93.184.215.14/hooks", "event_types": EVENTS}
    created = (await tenant.post("/webhooks", json=body)).json()
    path = f"{tenant.base}/webhooks/{created['id']}"
    refused = {"url": "http://169.254.169.254/", "event_types": ["task.failed"], "is_active": False}
    response = await tenant.client.put(path, json=refused, headers=tenant.headers)
    assert (response.status_code, response.json()["code"]) == (400, "webhook_url_refused")
    kept = (await tenant.client.get(path, headers=tenant.headers)).json()
    assert (kept["url"], kept["event_types"], kept["is_active"]) == (body["url"], EVENTS, True)
