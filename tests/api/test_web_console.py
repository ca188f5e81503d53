"""The web console's server side, over ASGI: its files (each with the one CSP, nothing outside
its directory) and the browser's cookie sign-in (HttpOnly, SameSite=Strict, Origin-checked)."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.api.web.site import CSP, STATIC
from nuage.config import Settings
from nuage.db.notify import LocalNotifier
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio
ORIGIN = {"Origin": "http://testserver"}  # the ASGI client's own origin
# A static `import … from "x"` or `export … from "x"` at the start of a line, or `import("x")`.
IMPORT = re.compile(
    r"""^(?:import|export)\b[^'";(=]*?\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']""",
    re.MULTILINE,
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", secret_key="x" * 40)
    app = create_app(Runtime(settings, async_sessionmaker(), LocalNotifier()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_page_and_every_module_it_imports_are_served_with_the_csp(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    wanted = re.findall(r'(?:src|href)="(/ui/[^"]+)"', page.text)
    assert "/ui/js/main.js" in wanted
    seen: set[str] = set()
    while wanted:
        url = wanted.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-security-policy"] == CSP, url
        assert answer.headers["x-content-type-options"] == "nosniff"
        if url.endswith(".js"):
            assert answer.headers["content-type"].startswith("text/javascript"), url
            base = httpx.URL("http://testserver" + url)
            for static, dynamic in IMPORT.findall(answer.text):
                wanted.append(base.join(static or dynamic).path)
    assert "/ui/novnc/core/rfb.js" in seen  # the console's noVNC, through views/console.js
    assert len(seen) > 40


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../site.py",
        "/ui/%2e%2e/site.py",
        "/ui/..%2fsession.py",
        "/ui/novnc/VERSION",  # not a type the console serves
        "/ui/novnc/LICENSE.txt",
        "/ui/js/missing.js",
        "/ui/js",
    ],
)
async def test_nothing_else_is_served(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404, path
    assert answer.json()["code"] == "not_found"


def test_the_pages_hold_no_inline_script_or_handler() -> None:
    for html in STATIC.rglob("*.html"):
        text = html.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), html
        assert not re.search(r"\son\w+\s*=", text), html


def _cookie(answer: httpx.Response) -> str:
    return answer.headers["set-cookie"]


async def test_sign_in_answers_the_access_token_and_sets_the_refresh_cookie(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    body = {"email": tenant.email, "password": tenant.password}
    answer = await stack.client.post("/v1/auth/session", json=body, headers=ORIGIN)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"access", "access_expires", "token_type"}  # no refresh token
    cookie = _cookie(answer).lower()
    assert cookie.startswith("nuage_refresh=")
    for attribute in ("httponly", "samesite=strict", "path=/v1/auth/session"):
        assert attribute in cookie
    assert answer.headers["cache-control"] == "no-store"
    access = answer.json()["access"]
    orgs = await stack.client.get(
        "/v1/organizations", headers={"Authorization": f"Bearer {access}"}
    )
    assert orgs.status_code == 200 and len(orgs.json()) == 1
    # The API itself never reads the cookie: without a bearer token it is a 401.
    stack.client.cookies.clear()
    stack.client.cookies.set("nuage_refresh", answer.cookies["nuage_refresh"])
    assert (await stack.client.get("/v1/organizations")).status_code == 401
    stack.client.cookies.clear()


async def test_refresh_trades_the_cookie_for_a_new_access_token_from_our_origin_only(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    body = {"email": tenant.email, "password": tenant.password}
    signed = await stack.client.post("/v1/auth/session", json=body, headers=ORIGIN)
    refresh_token = signed.cookies["nuage_refresh"]
    stack.client.cookies.clear()
    cookies = {"nuage_refresh": refresh_token}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = await stack.client.post(
            "/v1/auth/session/refresh", headers=headers, cookies=cookies
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "origin_refused"), headers
        assert "set-cookie" not in refused.headers
    fresh = await stack.client.post("/v1/auth/session/refresh", headers=ORIGIN, cookies=cookies)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["access"] and "nuage_refresh=" in _cookie(fresh)
    stack.client.cookies.clear()
    missing = await stack.client.post("/v1/auth/session/refresh", headers=ORIGIN)
    assert (missing.status_code, missing.json()["code"]) == (401, "not_authenticated")
    forged = await stack.client.post(
        "/v1/auth/session/refresh", headers=ORIGIN, cookies={"nuage_refresh": "not-a-token"}
    )
    assert forged.status_code == 401


async def test_a_wrong_password_sets_no_cookie_and_sign_out_clears_it(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    wrong = await stack.client.post(
        "/v1/auth/session", json={"email": tenant.email, "password": "nope"}, headers=ORIGIN
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert "set-cookie" not in wrong.headers
    foreign = await stack.client.post(
        "/v1/auth/session",
        json={"email": tenant.email, "password": tenant.password},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
    out = await stack.client.delete("/v1/auth/session", headers=ORIGIN)
    assert out.status_code == 204
    cleared = _cookie(out).lower()
    assert cleared.startswith('nuage_refresh=""') and "max-age=0" in cleared
    assert "path=/v1/auth/session" in cleared
