"""The OpenAPI document as the application serves it."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier
from tests.contract import live
from tests.contract.live import LiveServer


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as served; building it opens no database connection."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("openapi"),
        database_url="sqlite+aiosqlite://",
        secret_key="openapi-snapshot-secret-key-long-enough",
    )
    notifier = LocalNotifier()
    doc: dict[str, Any] = create_app(Runtime(settings, async_sessionmaker(), notifier)).openapi()
    return doc


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for the tools that test over HTTP (schemathesis, a generated client)."""
    server = live.start(tmp_path_factory.mktemp("live"))
    try:
        yield server
    finally:
        server.stop()
