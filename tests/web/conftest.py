"""Browser tests of the web console: headless Chromium (Debian's `chromium`, found at
`$CHROMIUM` or /usr/bin/chromium) driven by Playwright, against a real `nuage serve`.

Without the browser the tests are skipped with the reason, and fail on CI (where `.ci/run`
installs it). A failing test leaves a screenshot of its page in `test-results/web/`, and its
report shows what the page saw (its console, its failed requests, each request to the server with
when it started and ended) and the end of the server's log.
"""

import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.contract import live
from tests.contract.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "web"
T = TypeVar("T")
EMAIL, PASSWORD = "contract@example.com", "contract-password"  # live.start's tenant


def chromium() -> str:
    found = shutil.which(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    if found is None:
        reason = "no chromium (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per module: Debian's, not a Playwright download, and without its
    sandbox (Playwright passes --no-sandbox), which cannot run as root in containers. Not one
    per session: Playwright's sync API keeps an event loop running in this thread until it
    stops, and the async tests that run after this module need the thread back."""
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) and its page, per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    # The server shares two busy cores: actions, and assertions (whose own default is 5 s: a
    # loaded run once left the first page "Loading…" past it), wait up to 30 s.
    context.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    opened = context.new_page()
    request.node.stash[_SEEN] = watch(opened)
    yield opened
    context.close()


def watch(page: Page) -> list[str]:
    """What `page` sees, one line each, timed from now: console messages, script errors, and
    each request with its answer or failure."""
    seen: list[str] = []
    began = time.monotonic()

    def note(line: str) -> None:
        seen.append(f"{time.monotonic() - began:7.2f}s {line}")

    page.on("console", lambda message: note(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: note(f"page error: {error}"))
    page.on("request", lambda sent: note(f"-> {sent.method} {sent.url}"))
    page.on("response", lambda got: note(f"<- {got.status} {got.request.method} {got.url}"))
    page.on("requestfailed", lambda sent: note(f"!! {sent.method} {sent.url}: {sent.failure}"))
    return seen


def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `function` in a thread of its own: what calls asyncio.run() cannot run in the test's
    thread, where Playwright's sync API keeps an event loop running."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(function, *args, **kwargs).result()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[LiveServer]:
    """One `nuage serve` per test module, with live.start's tenant and its running instance."""
    chromium()
    started = in_thread(live.start, data_dir)
    try:
        yield started
    finally:
        started.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    item.stash[_FAILED] = report.failed
    if report.failed:
        report.sections.append(("what the page saw", "\n".join(item.stash.get(_SEEN, []))))
        server = item.funcargs.get("server")
        if isinstance(server, LiveServer):
            report.sections.append(("the end of the server's log", server.log_tail()))


_FAILED = pytest.StashKey[bool]()
_SEEN = pytest.StashKey[list[str]]()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest, page: Page) -> Iterator[None]:
    yield
    if not request.node.stash.get(_FAILED, False):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)


def sign_in(page: Page, base: str, email: str = EMAIL, password: str = PASSWORD) -> None:
    """Sign in through the page's form, as a person does; back on the instances list."""
    page.goto(base + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
