"""A real `nuage serve` (tests/contract/live.py) for the SDK's and the CLI's end to end tests."""

from collections.abc import Iterator

import pytest

from tests.contract import live
from tests.contract.live import LiveServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    started = live.start(tmp_path_factory.mktemp("sdk-live"))
    try:
        yield started
    finally:
        started.stop()
