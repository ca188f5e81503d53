"""The API documentation works without the internet: `/docs` and `/redoc` reference only the app's
own URLs, and every script, style sheet, icon and document they load is served by the app with
the right content type."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier

pytestmark = pytest.mark.anyio

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")
EXPECTED_TYPE = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", secret_key="x" * 40)
    app = create_app(Runtime(settings, async_sessionmaker(), LocalNotifier()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_everything_from_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "external URL"
    references = {a or b for a, b in REFERENCE.findall(html)}
    kinds = {Path(url).suffix or ".json" for url in references}
    assert {".js", ".png", ".json"} <= kinds, references
    for url in references:
        assert url.startswith("/"), url
        loaded = await client.get(url)
        assert loaded.status_code == 200, url
        suffix = Path(url).suffix or ".json"
        assert loaded.headers["content-type"].startswith(EXPECTED_TYPE[suffix]), url
        assert len(loaded.content) > 1000, url


async def test_the_swagger_page_loads_its_style_sheet_and_the_bundle(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    scripts = [a for a, _ in REFERENCE.findall(html) if a.endswith(".js")]
    styles = [a for a, _ in REFERENCE.findall(html) if a.endswith(".css")]
    assert scripts and styles
    bundle = await client.get(scripts[0])
    assert b"SwaggerUIBundle" in bundle.content


async def test_only_the_documentation_assets_are_served(client: httpx.AsyncClient) -> None:
    for name in ("core.py", "..%2F__init__.py", "nothing.js"):
        assert (await client.get(f"/docs/assets/{name}")).status_code == 404
