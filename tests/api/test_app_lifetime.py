"""An app and its database engine are freed once nothing uses them. FastAPI caches facts about
every endpoint callable in process-wide caches, so an endpoint that closed over its app kept every
app a process ever built alive: gigabytes over the test suite, and collector pauses of many
seconds that ran SQLite's busy timeout out."""

import gc
import weakref

import httpx
import pytest

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.cli.runtime import make_notifier
from nuage.config import Settings
from nuage.db.session import engine_for, make_sessionmaker

pytestmark = pytest.mark.anyio

PAGES = ["/", "/docs", "/docs/oauth2-redirect", "/redoc", "/docs/assets/swagger-ui.css", "/metrics"]


async def serve_once(settings: Settings) -> tuple[weakref.ref[object], weakref.ref[object]]:
    engine = engine_for(settings)
    notifier = make_notifier(settings)
    runtime = Runtime(settings, make_sessionmaker(engine, notifier), notifier)
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in PAGES:
            assert (await client.get(path)).status_code in {200, 307}, path
        document = (await client.get("/openapi.json")).json()
        assert (await client.get("/schema")).json() == document
        assert (await client.get("/healthz")).status_code == 200
    await engine.dispose()
    return weakref.ref(app), weakref.ref(engine.sync_engine)


async def test_a_dropped_app_and_its_engine_are_freed(settings: Settings) -> None:
    app, engine = await serve_once(settings)
    gc.collect()
    assert app() is None, gc.get_referrers(app())
    assert engine() is None
