"""The web console in a real browser against a real `nuage serve` (simulated hypervisor): what a
person does in it, and what keeps another tenant and other sites out."""

import asyncio
import re
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from nuage.cli import runtime
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.db.types import utcnow
from nuage.services import events
from nuage.services.accounts import bootstrap
from tests.contract import live
from tests.contract.live import LiveServer
from tests.support import LOCATION, create_body
from tests.web.conftest import EMAIL, PASSWORD, in_thread, sign_in

pytestmark = pytest.mark.slow
TIMEOUT = 30_000  # ms; the live server shares two busy cores


def create_in_page(page: Page, name: str, tags: str = "") -> None:
    page.get_by_role("link", name="Create instance").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Location").select_option(LOCATION)  # where the server's host is
    page.get_by_label("Tags").fill(tags)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=TIMEOUT)


def test_a_person_creates_an_instance_sees_its_task_complete_live_and_stops_it(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    page.evaluate("window.notReloaded = true")  # gone if the page is ever reloaded
    # Two transient faults keep the create busy for a few seconds (backoffs of 1-2 s and 2-4 s),
    # so the list is on screen while the task is still running.
    create_in_page(page, "web-ui", "sim:fail=create:transient:2")
    page.get_by_role("link", name="Tasks", exact=True).click()
    row = page.locator("tr[data-type=create_vps]", has_text="web-ui")
    expect(row.locator(".status")).not_to_have_text("completed")
    expect(row.locator(".status")).to_have_text("completed", timeout=TIMEOUT)
    expect(row).to_contain_text("100%")
    assert page.evaluate("window.notReloaded") is True

    row.get_by_role("link", name="web-ui").click()
    expect(page.locator("#instance-status")).to_have_text("running")
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog").get_by_role("button", name="Stop").click()  # the confirmation
    expect(page.locator("#instance-status")).to_have_text("stopped", timeout=TIMEOUT)
    expect(page.locator("#instance-power")).to_have_text("off")
    expect(page.locator("#tasks tr[data-type=stop_vps] .status")).to_have_text("completed")
    assert page.evaluate("window.notReloaded") is True


def test_a_destructive_action_asks_first_and_cancel_does_nothing(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    page.goto(
        f"{server.base}/#/o/{server.organization_id}/p/{server.project_id}/instances/{server.instance_id}"
    )
    page.get_by_role("button", name="Reset").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("without shutting down")
    page.keyboard.press("Escape")  # the keyboard answers it too
    expect(dialog).to_have_count(0)
    tasks = httpx.get(
        f"{server.compute}/tasks",
        params={"instance_id": server.instance_id},
        headers=server.headers,
    ).json()
    assert "reset_vps" not in {task["task_type"] for task in tasks["results"]}


def test_a_failing_task_shows_its_error_code_and_can_be_retried(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    create_in_page(page, "doomed", "sim:fail=create:permanent")
    page.locator("#tasks tr[data-type=create_vps]").get_by_role("link", name="create_vps").click()
    expect(page.locator("#error-code")).to_have_text("sim_permanent_fault", timeout=TIMEOUT)
    expect(page.locator("#error-retryable")).to_have_text("no")
    expect(page.locator("#error-message")).not_to_be_empty()
    expect(page.locator(".task [data-status]").first).to_have_text("failed")
    page.get_by_role("button", name="Retry task").click()
    expect(page.get_by_role("heading", name=re.compile("create_vps"))).to_be_visible()
    assert not page.url.endswith(page.url.rsplit("/", 1)[0])  # on the new task's page


def test_an_api_key_made_in_the_page_works_with_curl_until_revoked_in_the_page(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("from-the-console")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#created-key").input_value()
    assert key.startswith("sk-onetsolutions-")

    def curl() -> str:
        done = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                f"Authorization: Bearer {key}",
                f"{server.base}/v1/organizations",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    assert curl() == "200"
    page.get_by_role("button", name="Revoke from-the-console").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("#flash")).to_contain_text("revoked")
    expect(page.get_by_role("row", name=re.compile("from-the-console"))).to_have_count(0)
    assert curl() == "401"
    page.reload()  # the key is shown once: never again, even after a reload
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert key not in page.content()


def test_another_organizations_instance_is_a_404_page(
    page: Page, server: LiveServer, data_dir: Path
) -> None:
    made = in_thread(
        asyncio.run,
        runtime.run_in_session(
            live.settings_of(data_dir),
            lambda session: bootstrap(
                session,
                email="other@example.com",
                password="other-password",
                organization="Other",
                project="other",
            ),
        ),
    )
    sign_in(page, server.base, "other@example.com", "other-password")
    for org, project in (
        (server.organization_id, server.project_id),  # the first tenant's own address
        (made.organization_id, made.project_id),  # its id under the stranger's project
    ):
        page.goto(f"{server.base}/#/o/{org}/p/{project}/instances/{server.instance_id}")
        expect(page.get_by_role("heading", name="404 — not found")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("live")
    page.goto(f"{server.base}/#/o/{server.organization_id}/p/{server.project_id}/instances")
    expect(page.locator("#flash")).to_contain_text("Not found")
    expect(page.locator("main")).not_to_contain_text("live")


def test_tokens_stay_out_of_scripts_reach_and_other_sites(page: Page, server: LiveServer) -> None:
    served = httpx.get(server.base + "/")
    csp = served.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", served.text), "an inline script"
    sign_in(page, server.base)
    # An injected inline script does not run.
    ran = page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
        " document.body.append(s); return window.pwned === 1; }"
    )
    assert ran is False
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    (cookie,) = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        "nuage_refresh",
        True,
        "Strict",
        "/v1/auth/session",
    )
    assert page.evaluate("document.cookie") == ""  # no script can read it
    # Another site's request carrying the cookie is refused.
    foreign = httpx.post(
        f"{server.base}/v1/auth/session/refresh",
        headers={"Origin": "https://evil.example"},
        cookies={"nuage_refresh": cookie["value"]},
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "origin_refused")
    page.reload()  # the access token was in memory only: the cookie signs the page in again
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.context.cookies() == []


def test_a_phone_signs_in_with_the_keyboard_and_nothing_overflows(
    page: Page, server: LiveServer
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    failed: list[str] = []
    # Every file the pages load is served (event streams are aborted when a page is left; a
    # network change on the machine aborts what is in flight, and the console sends it again).
    page.on(
        "requestfailed",
        lambda request: (
            request.failure in {"net::ERR_ABORTED", "net::ERR_NETWORK_CHANGED"}
            or failed.append(request.url)
        ),
    )
    page.goto(server.base + "/")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type("contract@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("contract-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    for view in ("instances", "tasks", f"instances/{server.instance_id}"):
        page.goto(f"{server.base}/#/o/{server.organization_id}/p/{server.project_id}/{view}")
        expect(page.locator("main h1").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (view, width)
    assert failed == []


def test_switching_project_shows_that_projects_instances(page: Page, server: LiveServer) -> None:
    login = httpx.post(
        f"{server.base}/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
    ).json()
    made = httpx.post(
        f"{server.base}/v1/organizations/{server.organization_id}/projects",
        json={"name": "second"},
        headers={"Authorization": f"Bearer {login['access']}"},
    )
    assert made.status_code == 201, made.text
    sign_in(page, server.base)
    expect(page.get_by_role("link", name="live", exact=True)).to_be_visible()
    page.get_by_label("Project").select_option(label="second")
    expect(page).to_have_url(re.compile(f"/p/{made.json()['id']}/instances$"))
    expect(page.get_by_text("No instances yet.")).to_be_visible()
    # An instance created elsewhere (here with curl's equivalent) appears in the list by itself.
    second = server.compute.replace(server.project_id, made.json()["id"])
    arrived = httpx.post(
        f"{second}/instances", json=create_body(name="arrives"), headers=server.headers
    )
    assert arrived.status_code == 201, arrived.text
    row = page.locator(f"#instance-{arrived.json()['id']}")
    expect(row.locator(".status")).to_have_text("running", timeout=TIMEOUT)
    expect(row).to_contain_text("arrives")
    page.get_by_label("Project").select_option(label="contract")
    expect(page.get_by_role("link", name="live", exact=True)).to_be_visible()


def test_a_queued_task_is_cancelled_from_its_page(page: Page, server: LiveServer) -> None:
    body = {**create_body(name="slow"), "tags": ["sim:fail=create:transient:2"]}
    created = httpx.post(f"{server.compute}/instances", json=body, headers=server.headers)
    queued = httpx.post(
        f"{server.compute}/instances/{created.json()['id']}/reboot", headers=server.headers
    ).json()  # waits behind the retrying create
    sign_in(page, server.base)
    page.goto(f"{server.base}/{_project(server)}/tasks/{queued['id']}")
    expect(page.get_by_role("heading", name=re.compile("reboot_vps"))).to_be_visible()
    page.get_by_role("button", name="Cancel task").click()
    expect(page.locator(".task")).to_have_attribute("data-status", "cancelled", timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Retry task")).to_be_visible()
    got = httpx.get(f"{server.compute}/tasks/{queued['id']}", headers=server.headers).json()
    assert got["status"] == "cancelled"


def _project(server: LiveServer) -> str:
    return f"#/o/{server.organization_id}/p/{server.project_id}"


# --- a change made while a page opens its event stream -----------------------------------------
# A page reads what it shows, then opens the project's event stream, which begins at the newest
# event: a change committed in between comes by no event. Each test below holds the page's
# stream back (the request waits in the browser), makes such a change through the API, lets the
# stream go, and expects the page to show it.

PROJECT_STREAM = re.compile(r"/compute/events(\?|$)")


def wait_for(page: Page, condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + TIMEOUT / 1000
    while not condition():  # the page's route handlers run while Playwright waits
        assert time.monotonic() < deadline, failure
        page.wait_for_timeout(20)


class HeldStream:
    """The page's event stream requests, held until `release` (later ones pass)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.held: list[Route] = []
        self.released = False
        page.route(PROJECT_STREAM, self._hold)

    def _hold(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release_after(self, change: Callable[[], None]) -> None:
        """Once the page has asked for its stream, `change`, then the stream."""
        wait_for(self.page, lambda: bool(self.held), "the page opened no event stream")
        change()
        self.released = True
        for route in self.held:
            route.continue_()


def _finished(server: LiveServer, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT / 1000
    while True:
        task = httpx.get(
            f"{server.compute}/tasks/{task_id}", params={"wait": 20}, headers=server.headers
        ).json()
        if task["status"] in {"completed", "failed", "cancelled"}:
            return task
        assert time.monotonic() < deadline, task


def _create(server: LiveServer, name: str, *tags: str) -> tuple[str, str]:
    """An instance and its create task's ids."""
    body = {**create_body(name=name), "tags": list(tags)}
    created = httpx.post(f"{server.compute}/instances", json=body, headers=server.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"], created.headers["Location"].rsplit("/", 1)[1]


def test_a_task_page_shows_a_cancel_made_while_it_opened(page: Page, server: LiveServer) -> None:
    sign_in(page, server.base)  # first: the reboot below is queued for 7-14 s, not longer
    instance_id, _ = _create(server, "busy", "sim:fail=create:transient:3")  # retried 3 times
    queued = httpx.post(f"{server.compute}/instances/{instance_id}/reboot", headers=server.headers)
    assert queued.status_code == 202, queued.text
    stream = HeldStream(page)
    page.goto(f"{server.base}/{_project(server)}/tasks/{queued.json()['id']}")
    expect(page.locator(".task")).to_have_attribute("data-status", "pending")

    def cancel() -> None:
        cancelled = httpx.post(
            f"{server.compute}/tasks/{queued.json()['id']}/cancel", headers=server.headers
        )
        assert cancelled.json()["status"] == "cancelled", cancelled.text  # it was still queued

    stream.release_after(cancel)
    expect(page.locator(".task")).to_have_attribute("data-status", "cancelled")


def test_the_task_list_shows_a_task_that_ended_while_it_opened(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    stream = HeldStream(page)
    page.get_by_role("link", name="Tasks", exact=True).click()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    task_ids: list[str] = []
    stream.release_after(
        lambda: task_ids.append(
            _finished(server, _create(server, "brief", "sim:fail=create:permanent")[1])["id"]
        )
    )
    expect(page.locator(f"#task-{task_ids[0]} .status")).to_have_text("failed")


def test_the_instance_list_shows_an_instance_made_while_it_opened(
    page: Page, server: LiveServer
) -> None:
    stream = HeldStream(page)
    sign_in(page, server.base)  # it ends on the instance list, whose stream is held
    made: list[str] = []

    def create() -> None:
        instance_id, task_id = _create(server, "unheard")
        assert _finished(server, task_id)["status"] == "completed"
        made.append(instance_id)

    stream.release_after(create)
    row = page.locator(f"#instance-{made[0]}")
    expect(row).to_contain_text("unheard")
    expect(row.locator(".status")).to_have_text("running")


def test_an_instance_page_shows_a_stop_made_while_it_opened(page: Page, server: LiveServer) -> None:
    instance_id, task_id = _create(server, "stoppable")
    assert _finished(server, task_id)["status"] == "completed"
    sign_in(page, server.base)
    stream = HeldStream(page)
    page.goto(f"{server.base}/{_project(server)}/instances/{instance_id}")
    expect(page.locator("#instance-status")).to_have_text("running")

    def stop() -> None:
        stopping = httpx.post(
            f"{server.compute}/instances/{instance_id}/stop", headers=server.headers
        )
        assert stopping.status_code == 202, stopping.text
        assert _finished(server, stopping.json()["id"])["status"] == "completed"

    stream.release_after(stop)
    expect(page.locator("#instance-status")).to_have_text("stopped")
    expect(page.locator("#tasks tr[data-type=stop_vps] .status")).to_have_text("completed")


INSTANCE_LIST = re.compile(r"/compute/instances\?")


def test_the_instance_list_reads_again_on_a_new_stream_when_its_read_again_failed(
    page: Page, server: LiveServer
) -> None:
    """The read once the stream is open fails (twice: the console sends a dropped read once
    more); the stream is dropped and the next one reads again."""
    stream = HeldStream(page)
    sign_in(page, server.base)  # it ends on the instance list, whose stream is held
    made: list[str] = []
    dropped: list[str] = []

    def drop_twice(route: Route) -> None:
        if len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    def create_then_drop_the_reads() -> None:
        instance_id, task_id = _create(server, "reread")
        assert _finished(server, task_id)["status"] == "completed"
        made.append(instance_id)
        page.route(INSTANCE_LIST, drop_twice)

    stream.release_after(create_then_drop_the_reads)
    expect(page.locator(f"#instance-{made[0]}")).to_contain_text("reread", timeout=TIMEOUT)
    assert len(dropped) == 2


def _an_event_frame(server: LiveServer) -> str:
    """The server's first event of the project, as its stream sends it."""
    with httpx.stream(
        "GET", f"{server.compute}/events", params={"last_event_id": 0}, headers=server.headers
    ) as response:
        text = ""
        for chunk in response.iter_text():
            text += chunk
            for block in text.split("\n\n")[:-1]:
                if block.startswith("id: "):
                    return block + "\n\n"
    raise AssertionError(f"no event in the stream: {text!r}")


async def _prune_every_event(data_dir: Path) -> None:
    """What the event retention does to events older than it, to every event so far."""
    engine = make_engine(live.settings_of(data_dir).database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            assert await events.prune(session, now=utcnow(), retention=timedelta(0)) > 0
    finally:
        await engine.dispose()


def test_the_instance_list_reads_again_when_the_stream_says_events_were_pruned(
    page: Page, server: LiveServer, data_dir: Path
) -> None:
    """The page's stream ends after an event; while it reconnects with that event's id, an
    instance is made and every event pruned: the server answers `event: resync`, and the page
    reads again on a new stream. (The module's server keeps no event made before this test.)"""
    first = _an_event_frame(server)
    requests: list[Route] = []

    def hold_two(route: Route) -> None:
        if len(requests) < 2:
            requests.append(route)
        else:
            route.continue_()

    page.route(PROJECT_STREAM, hold_two)
    sign_in(page, server.base)  # it ends on the instance list, whose stream is held
    wait_for(page, lambda: len(requests) == 1, "the page opened no event stream")
    requests[0].fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=first)
    wait_for(page, lambda: len(requests) == 2, "the page did not open its stream again")
    assert requests[1].request.header_value("last-event-id") == first.split("\n")[0][4:]
    instance_id, task_id = _create(server, "unannounced")
    assert _finished(server, task_id)["status"] == "completed"
    in_thread(asyncio.run, _prune_every_event(data_dir))
    requests[1].continue_()
    expect(page.locator(f"#instance-{instance_id}")).to_contain_text("unannounced")


TASK_STEPS = re.compile(r"/tasks/[\w-]+/events\?")
TASK_STREAM = re.compile(r"/compute/events\?instance_id=")


def test_a_task_page_left_while_it_loads_does_not_cover_the_next_page(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    held: list[Route] = []
    page.route(TASK_STEPS, lambda route: held.append(route))
    page.goto(f"{server.base}/{_project(server)}/tasks/{server.task_id}")
    wait_for(page, lambda: bool(held), "the task page did not read its steps")
    page.get_by_role("link", name="Tasks", exact=True).click()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    # The left page's stream, opened once its render has ended, is stopped at once.
    with page.expect_event("requestfailed", lambda sent: bool(TASK_STREAM.search(sent.url))):
        held[0].continue_()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.locator("section.task")).to_have_count(0)


# --- requests the network dropped ---------------------------------------------------------------
# A network change on the machine aborts the browser's requests in flight (seen in CI, where other
# tests add and remove interfaces: net::ERR_NETWORK_CHANGED on one of the console's scripts).


def drop_once(page: Page, url: re.Pattern[str]) -> list[str]:
    """The first request to `url` fails as a dropped connection; the list says what was dropped."""
    dropped: list[str] = []

    def drop(route: Route) -> None:
        if dropped:
            route.continue_()
        else:
            dropped.append(route.request.url)
            route.abort("connectionreset")

    page.route(url, drop)
    return dropped


def test_the_console_loads_although_the_network_dropped_one_of_its_scripts(
    page: Page, server: LiveServer
) -> None:
    dropped = drop_once(page, re.compile(r"/ui/js/views/keys\.js$"))
    sign_in(page, server.base)  # the page loaded again by itself
    assert len(dropped) == 1


def test_a_console_that_cannot_load_says_so_after_three_tries(
    page: Page, server: LiveServer
) -> None:
    dropped: list[str] = []

    def drop(route: Route) -> None:
        dropped.append(route.request.url)
        route.abort("connectionreset")

    page.route(re.compile(r"/ui/js/dom\.js$"), drop)
    page.goto(server.base + "/")
    expect(page.locator("main")).to_have_text(re.compile("could not be loaded"))
    assert len(dropped) == 4  # the first load and three more


def test_a_dropped_read_and_a_dropped_action_are_sent_again_and_act_once(
    page: Page, server: LiveServer
) -> None:
    instance_id, task_id = _create(server, "twice")
    assert _finished(server, task_id)["status"] == "completed"
    sign_in(page, server.base)
    dropped: list[str] = []

    def drop_the_answer_once(route: Route) -> None:
        if dropped:
            route.continue_()
            return
        dropped.append(route.request.url)
        if route.request.method == "POST":
            route.fetch()  # the server acts on it; the answer is lost on the way back
        route.abort("connectionreset")

    page.route(re.compile(r"/compute/instances/[\w-]+$"), drop_the_answer_once)
    page.goto(f"{server.base}/{_project(server)}/instances/{instance_id}")  # its read
    expect(page.locator("#instance-status")).to_have_text("running")
    assert len(dropped) == 1
    page.unroute(re.compile(r"/compute/instances/[\w-]+$"))
    dropped.clear()
    page.route(re.compile(r"/compute/instances/[\w-]+/reboot$"), drop_the_answer_once)
    page.get_by_role("button", name="Reboot").click()
    expect(page.locator("#flash")).to_contain_text("reboot_vps queued")
    assert len(dropped) == 1
    tasks = httpx.get(
        f"{server.compute}/tasks",
        params={"instance_id": instance_id, "task_type": "reboot_vps"},
        headers=server.headers,
    ).json()
    assert tasks["count"] == 1  # the Idempotency-Key made the second send a replay


def test_a_new_key_whose_answer_was_lost_is_made_once_and_the_page_says_so(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    page.get_by_role("link", name="API keys").click()
    lost: list[str] = []

    def lose_the_answer_once(route: Route) -> None:
        if lost or route.request.method != "POST":
            route.continue_()
            return
        lost.append(route.request.url)
        route.fetch()  # the key is made; its answer, with the secret, is lost on the way back
        route.abort("connectionreset")

    page.route(re.compile(r"/v1/api-keys$"), lose_the_answer_once)
    page.get_by_label("Name").fill("lost-on-the-way")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_contain_text("revoke it and create another")
    expect(page.locator("#created-key")).to_have_count(0)
    assert len(lost) == 1
    expect(page.get_by_role("row", name=re.compile("lost-on-the-way"))).to_have_count(1)


def test_the_console_view_opens_although_the_network_dropped_one_of_novncs_modules(
    page: Page, server: LiveServer
) -> None:
    dropped = drop_once(page, re.compile(r"/ui/novnc/core/rfb\.js$"))  # imported on opening it
    sign_in(page, server.base)
    page.goto(f"{server.base}/{_project(server)}/instances/{server.instance_id}/console")
    expect(page.locator("#console-status")).to_contain_text("Connected")  # the page loaded again
    assert len(dropped) == 1
